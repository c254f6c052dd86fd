"""Plumbing shared by the PostgreSQL store's parts: a pool of asyncpg connections.

Unlike SQLite's one connection, every read takes a pooled connection of its own, and every
write is a transaction on one; PostgreSQL serialises what needs serialising (row locks,
``SKIP LOCKED`` claims, unique constraints), across tasks and across processes alike.
Parameters are numbered (``$1``); rows are :class:`asyncpg.Record`, read by column name
like SQLite's rows, so :mod:`bot.store.records` maps both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from bot.errors import StoreError
from bot.grammar.query import Condition
from bot.store.pg.tsv import most_matches, words

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

# A pooled connection, as a transaction hands it out.
Conn: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"

# What a failed database call raises: a server error, a dropped or refused connection,
# or a value asyncpg cannot encode (a lone surrogate in a paper's title, say).
DB_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a session the server ended mid-call
    OSError,
    UnicodeError,
)


# A full-text scan's budget on PostgreSQL: the server cancels it after this long. It is
# wall time, so it is a safety net against runaway scans rather than a tight bound (a busy
# server would cut ordinary scans under a tighter one: 50 ms did, in a doubly loaded test
# run, and 250 ms was within reach of `video generation sort:trending` at 100k papers, which
# took 238 to 268 ms on a quiet machine). SQLite's budget is 12 ms of CPU and keeps what it
# found; a cancelled statement here returns nothing (bot.store.section).
MATCH_TIMEOUT_MS = 1000
# Two ways to read the newest *limit* matches of a scan: through the GIN index, which
# visits every match's row (about 2 µs each at 100k papers), or down the primary key,
# newest first, testing each row until *limit* match, which detoasts every row's tsvector
# (about 15 µs each). The planner does not count the detoasting: for `video generation
# sort:trending` at 100k papers it walked 12,162 rows (180 ms) where the index took 25 ms.
# So a scan whose matches are few for its limit (fewer than sqrt(ratio x limit x papers),
# from the vocabulary's counts: :func:`bot.store.pg.tsv.most_matches`) goes through the index.
DETOAST_RATIO = 7.5


@dataclass(frozen=True, slots=True)
class Scan:
    """A full-text scan's condition and the rows it asks for, and the same scan as SQL that
    reads a long phrase's loose matches first (:func:`bot.store.pg.papers.scan_of`)."""

    condition: Condition
    limit: int
    lazy: tuple[str, list[object]] | None = None


class PgSection:
    """Reads and writes of one part of the store, each on a pooled connection."""

    _what = "store"  # names the part in error messages

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    def _failed(self, exc: BaseException, failure: str = "") -> StoreError:
        what = failure or f"{self._what} query failed"
        return StoreError(f"{what}: {exc}")

    async def _rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        try:
            return list(await self._pool.fetch(sql, *args))
        except DB_ERRORS as exc:
            raise self._failed(exc) from exc

    async def _one(self, sql: str, *args: Any) -> asyncpg.Record | None:
        try:
            row: asyncpg.Record | None = await self._pool.fetchrow(sql, *args)
        except DB_ERRORS as exc:
            raise self._failed(exc) from exc
        return row

    async def _value(self, sql: str, *args: Any) -> Any:
        try:
            return await self._pool.fetchval(sql, *args)
        except DB_ERRORS as exc:
            raise self._failed(exc) from exc

    async def _bounded(
        self, sql: str, *args: Any, scan: Scan | None = None
    ) -> tuple[list[asyncpg.Record], bool]:
        """Rows of a full-text scan run under :data:`MATCH_TIMEOUT_MS`, and whether it was
        cut there (then no rows: the server cancels the whole statement). With *scan*, a
        scan of few matches for its limit goes through the GIN index
        (:data:`DETOAST_RATIO`), a long phrase's as :attr:`Scan.lazy`."""
        try:
            async with self._pool.acquire() as conn, conn.transaction(readonly=True):
                # A plan made for this very scan: asyncpg prepares each statement once per
                # connection, and after five runs PostgreSQL may keep a generic plan, made
                # before (and whatever) enable_indexscan says now.
                await conn.execute(
                    f"SET LOCAL statement_timeout = {int(MATCH_TIMEOUT_MS)}; "
                    "SET LOCAL plan_cache_mode = force_custom_plan"
                )
                if scan is not None and await _few(conn, scan.condition, scan.limit):
                    await conn.execute("SET LOCAL enable_indexscan = off")
                    if scan.lazy is not None:
                        sql, args = scan.lazy[0], tuple(scan.lazy[1])
                return list(await conn.fetch(sql, *args)), False
        except asyncpg.QueryCanceledError:
            return [], True
        except DB_ERRORS as exc:
            raise self._failed(exc) from exc

    @asynccontextmanager
    async def _transaction(self, failure: str = "") -> AsyncIterator[Conn]:
        """One transaction on a pooled connection: committed at the end, rolled back on any
        exception (cancellation included). A database error is raised as
        :class:`StoreError` (*failure* says what failed); anything else as it is."""
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                yield conn
        except DB_ERRORS as exc:
            raise self._failed(exc, failure or f"{self._what} write failed") from exc

    async def _write(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """One statement in its own transaction; the rows it returns (``RETURNING``)."""
        async with self._transaction() as conn:
            return list(await conn.fetch(sql, *args))

    async def _write_one(self, sql: str, *args: Any) -> asyncpg.Record | None:
        rows = await self._write(sql, *args)
        return rows[0] if rows else None

    async def _many(self, sql: str, args: Sequence[Sequence[Any]], failure: str = "") -> None:
        """*sql* once per argument tuple, all in one transaction."""
        if not args:
            return
        async with self._transaction(failure) as conn:
            await conn.executemany(sql, args)


async def _few(conn: Conn, condition: Condition, limit: int) -> bool:
    """Whether *condition* matches few enough papers that reading *limit* of them through
    the GIN index beats walking the newest papers (:data:`DETOAST_RATIO`)."""
    rows = await conn.fetch(
        "SELECT term, docs FROM fts_terms WHERE term = ANY($1::text[]) "
        "UNION ALL SELECT NULL, papers FROM fts_totals",
        sorted(words(condition)),
    )
    docs = {str(r["term"]): int(r["docs"]) for r in rows if r["term"] is not None}
    papers = sum(int(r["docs"]) for r in rows if r["term"] is None)
    most = most_matches(condition, docs)
    return most * most < DETOAST_RATIO * limit * papers
