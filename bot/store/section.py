"""Plumbing shared by the store's parts, which all live on its one connection.

Rows come back as :class:`sqlite3.Row` (the connection's row factory), read by column name.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import aiosqlite

from bot.errors import StoreError

BUSY_TIMEOUT_MS = 5000  # how long a write waits for another process's lock
CHUNK = 500  # ids per ``IN (...)`` list, well under SQLite's bound-parameter limit


def chunks(values: Sequence[object], size: int = CHUNK) -> list[list[object]]:
    """*values* in lists of at most *size*."""
    return [list(values[start : start + size]) for start in range(0, len(values), size)]


def _io(exc: BaseException) -> bool:
    """Whether SQLite failed to write the file itself (a full disk, a read-only file)."""
    return isinstance(exc, sqlite3.OperationalError) and any(
        words in str(exc) for words in ("disk I/O error", "disk is full", "readonly database")
    )


async def _roll_back(conn: aiosqlite.Connection) -> None:
    """Roll back, even while the caller is being cancelled: the rollback is queued on the
    connection's thread before anything another task sends after it."""
    with contextlib.suppress(sqlite3.Error):  # nothing to roll back: the failure ended it
        await asyncio.shield(conn.rollback())


class Section:
    """Reads on the shared connection; writes in transactions under the store's write lock,
    so writes from different tasks never interleave (one connection serves them all)."""

    _what = "store"  # names the part in error messages

    def __init__(self, conn: aiosqlite.Connection, writing: asyncio.Lock) -> None:
        self._conn = conn
        self._writing = writing

    async def _rows(
        self, sql: str, params: Sequence[object] | dict[str, object] = ()
    ) -> list[sqlite3.Row]:
        async with self._conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def _one(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        async with self._conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def _rows_in(
        self,
        sql: str,
        ids: Sequence[object],
        *,
        before: Sequence[object] = (),
        after: Sequence[object] = (),
    ) -> list[sqlite3.Row]:
        """Rows of *sql*, whose ``{ids}`` is an ``IN`` list, for every id in *ids*: one
        query per :data:`CHUNK` ids, with *before* and *after* bound around each list."""
        rows: list[sqlite3.Row] = []
        for chunk in chunks(ids):
            marks = ", ".join("?" * len(chunk))
            rows += await self._rows(sql.format(ids=marks), [*before, *chunk, *after])
        return rows

    @asynccontextmanager
    async def _transaction(
        self, failure: str = "", *, busy_ms: int | None = None
    ) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: committed at the end, rolled back on *any* exception and
        on cancellation, so a failed write never leaves half a transaction on the shared
        connection for the next writer to commit. A database error, or text SQLite cannot
        take (a lone surrogate), is raised as :class:`StoreError` (*failure* says what
        failed); anything else (cancellation included) is re-raised as it is.

        The write lock is taken at the start (``BEGIN IMMEDIATE``), so a writer waits for
        another process's lock for up to the connection's ``busy_timeout`` (*busy_ms* when
        given) instead of failing at once when its read turns into a write."""
        async with self._writing:
            if busy_ms is not None:
                await self._conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
                await self._conn.commit()
            except BaseException as exc:
                await _roll_back(self._conn)
                if isinstance(exc, sqlite3.Error | UnicodeError):
                    what = failure or f"{self._what} write failed"
                    hint = " (is the disk full, or the file read-only?)" if _io(exc) else ""
                    raise StoreError(f"{what}: {exc}{hint}") from exc
                raise
            finally:
                if busy_ms is not None:
                    await self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    async def _write(
        self, sql: str, params: Sequence[object] | dict[str, object] = ()
    ) -> list[sqlite3.Row]:
        """One statement in its own transaction; the rows it returns (``RETURNING``)."""
        async with self._transaction() as conn, conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def _write_one(
        self, sql: str, params: Sequence[object] | dict[str, object] = ()
    ) -> sqlite3.Row | None:
        rows = await self._write(sql, params)
        return rows[0] if rows else None
