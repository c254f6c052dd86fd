"""Plumbing shared by the store's parts, which all live on its one connection.

Rows come back as :class:`sqlite3.Row` (the connection's row factory), read by column name.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import sqlite3
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from time import thread_time as clock

import aiosqlite

from bot.errors import StoreError

BUSY_TIMEOUT_MS = 5000  # how long a write waits for another process's lock
# SQLite calls the progress handler every STEP_GRAIN virtual-machine steps, FTS5's own
# page reads included: about every 0.3 ms while FTS5 walks a posting list.
STEP_GRAIN = 100
# A full-text scan's budget of matching time: CPU time of the connection's thread, so
# waiting for the GIL or for a busy machine's cores is not counted as work. Phrases and
# all-word queries of common words with few joint matches walk whole posting lists: the
# slowest tier scans of the bench's queries take 10 ms at 100,000 papers and 35 to 50 ms
# at 1,000,000 (bench/search.py), the rest a few ms.
MATCH_SECONDS = 0.012
ROW_SECONDS = 0.000_01  # and the time to read each row asked for (2,000 rows: 4 to 8 ms)
CHUNK = 500  # ids per ``IN (...)`` list, well under SQLite's bound-parameter limit


class _Collections(threading.local):
    """The CPU time the garbage collector took on this thread during bounded scans: a full
    collection of a large heap runs on whichever thread allocates and can take tens of ms,
    and it is not the scan's work (a scan cut by it says "stopped early" for nothing)."""

    scanning = False
    started = 0.0
    spent = 0.0


_collections = _Collections()


def _collecting(phase: str, info: dict[str, int]) -> None:
    """A :data:`gc.callbacks` hook: adds each collection's CPU time during a scan to
    :data:`_collections` (it reads the clock only on a scanning thread)."""
    if not _collections.scanning:
        return
    if phase == "start":
        _collections.started = clock()
    else:
        _collections.spent += clock() - _collections.started


gc.callbacks.append(_collecting)


def chunks(values: Sequence[object], size: int = CHUNK) -> list[list[object]]:
    """*values* in lists of at most *size*."""
    return [list(values[start : start + size]) for start in range(0, len(values), size)]


async def ensure_math(conn: aiosqlite.Connection) -> None:
    """Make sure SQL can call ``pow`` and ``ln`` (unscored search orderings): built into
    SQLite 3.35+ when compiled with its math functions (both are the C library's ``pow``
    and ``log``, as Python's are); registered from Python's :mod:`math` on a build without
    them (slower, same results)."""
    try:
        await conn.execute("SELECT pow(1, 1), ln(1)")
    except sqlite3.OperationalError:
        await conn.create_function("pow", 2, math.pow, deterministic=True)
        await conn.create_function("ln", 1, math.log, deterministic=True)


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

    async def _bounded(
        self, sql: str, params: Sequence[object], *, rows: int
    ) -> tuple[list[sqlite3.Row], bool]:
        """Rows of *sql* (at most *rows*) until it ends or has worked for its budget,
        :data:`MATCH_SECONDS` plus :data:`ROW_SECONDS` per row (checked by SQLite's progress
        handler, so FTS5's posting-list walks are stopped too), and whether it was cut.

        The rows read before the cut are kept: a scan ordered newest first keeps the newest
        matches it found. The whole scan runs as one call on the connection's thread, so
        the progress handler that cuts it never sees another task's statement, and the time
        counted is that thread's CPU time: the scan's own work, not its wait in the
        connection's queue, for the GIL or for a core, nor a garbage collection that
        happened to run on its thread (:class:`_Collections`)."""

        def scan(db: sqlite3.Connection) -> tuple[list[sqlite3.Row], bool]:
            _collections.scanning = True  # garbage collection is not the scan's work
            collected = _collections.spent
            deadline = clock() + MATCH_SECONDS + ROW_SECONDS * rows
            over = False

            def tick() -> int:
                nonlocal over
                over = clock() - (_collections.spent - collected) > deadline
                return int(over)  # nonzero: SQLite interrupts the statement

            found: list[sqlite3.Row] = []
            try:
                db.set_progress_handler(tick, STEP_GRAIN)
                found.extend(db.execute(sql, params))
            except sqlite3.OperationalError:
                if not over:  # failed by itself, not cut
                    raise
                return found, True
            finally:
                _collections.scanning = False
                db.set_progress_handler(None, 0)
            return found, False

        # aiosqlite runs each queued call on the connection's own thread, in order.
        result: tuple[list[sqlite3.Row], bool] = await self._conn._execute(  # type: ignore[no-untyped-call]
            scan, self._conn._conn
        )
        return result

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
