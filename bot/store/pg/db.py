"""The PostgreSQL store: a pool of asyncpg connections and the store's parts on it.

Chosen by ``PAPERSBOT_DATABASE=postgresql://...``. Any number of papersbot processes may
share one database: claims on the delivery ledger are row locks taken with ``SKIP LOCKED``
under leases (:mod:`bot.store.pg.ledger`), and one process at a time leads the clock
(:mod:`bot.store.pg.leader`). The schema history is numbered like SQLite's
(:mod:`bot.store.pg.migrations`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import asyncpg

from bot.errors import StoreError
from bot.store.contract import (
    FullTextStore,
    InstallationStore,
    LedgerStore,
    OAuthStateStore,
    PageStore,
    PaperStore,
    Reads,
    RunStore,
    ScheduleStore,
    TargetStore,
)
from bot.store.pg.fulltext import PgFullText
from bot.store.pg.installations import PgInstallations, PgOAuthStates
from bot.store.pg.leader import CLOCK, PgLeadership, lock_key
from bot.store.pg.ledger import PgLedger
from bot.store.pg.migrations import MIGRATIONS
from bot.store.pg.pages import PgPages
from bot.store.pg.papers import PgPapers
from bot.store.pg.runs import PgRuns
from bot.store.pg.schedules import PgSchedules
from bot.store.pg.section import DB_ERRORS
from bot.store.pg.targets import PgTargets

log = logging.getLogger(__name__)

POOL_SIZE = 10  # per process; searches, commands and the sender share it
LOCK_POOL_SIZE = 4  # per process, for the session locks of exclusive()
MIGRATION_LOCK = 0x70617065  # pg_advisory_xact_lock key while migrating ("pape")
CONNECT_TIMEOUT = 10.0


def redact(dsn: str) -> str:
    """*dsn* without its password (in the user part or a ``password=`` parameter), for
    messages and logs."""
    try:
        url = urlsplit(dsn)
    except ValueError:
        return "the PostgreSQL URL (unreadable, not shown)"
    netloc = url.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}{':***' if has_password else ''}@{host}"
    query = "&".join(
        f"{key}=***" if key.lower() == "password" else f"{key}={value}" if value else key
        for key, value in parse_qsl(url.query, keep_blank_values=True)
    )
    return urlunsplit((url.scheme, netloc, url.path, query, url.fragment))


class PgStore:
    """One PostgreSQL database and its parts. Open with :meth:`open`."""

    papers: PaperStore
    fulltext: FullTextStore
    runs: RunStore
    pages: PageStore
    targets: TargetStore
    ledger: LedgerStore
    schedules: ScheduleStore
    installations: InstallationStore
    oauth_states: OAuthStateStore

    def __init__(self, pool: asyncpg.Pool, dsn: str) -> None:
        self._pool = pool
        self.dsn = dsn
        self._exclusive: dict[str, asyncio.Lock] = {}
        self._locks: asyncpg.Pool | None = None  # connections that hold exclusive() locks
        self._making_locks = asyncio.Lock()
        # The parts are attached in _attach (one line each).
        self._attach(pool)

    def _attach(self, pool: asyncpg.Pool) -> None:
        """Build the store's parts on *pool*."""
        self.papers = PgPapers(pool)
        self.fulltext = PgFullText(pool)
        self.runs = PgRuns(pool)
        self.pages = PgPages(pool)
        self.installations = PgInstallations(pool)
        self.oauth_states = PgOAuthStates(pool)
        self.targets = PgTargets(pool)
        self.ledger = PgLedger(pool)
        self.schedules = PgSchedules(pool)

    @classmethod
    async def open(cls, dsn: str, *, pool_size: int = POOL_SIZE) -> PgStore:
        """Connect to the database at *dsn* and apply pending migrations."""
        try:
            pool = await asyncpg.create_pool(
                dsn, min_size=1, max_size=pool_size, timeout=CONNECT_TIMEOUT
            )
        except (*DB_ERRORS, ValueError) as exc:  # ValueError: a malformed DSN
            raise StoreError(f"cannot connect to {redact(dsn)}: {exc}") from exc
        store = cls(pool, dsn)
        try:
            await store.migrate()
        except BaseException:
            await pool.close()
            raise
        return store

    async def migrate(self) -> int:
        """Apply every migration newer than the database's; return the version. Processes
        starting together wait for each other on an advisory lock."""
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS papersbot_schema (version INTEGER NOT NULL)"
                )
                version = await conn.fetchval("SELECT max(version) FROM papersbot_schema") or 0
                if version > len(MIGRATIONS):
                    raise StoreError(
                        f"database schema {version} is newer than this papersbot "
                        f"({len(MIGRATIONS)})"
                    )
                for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                    log.debug("applying PostgreSQL migration %d", number)
                    await conn.execute(script)
                    await conn.execute("INSERT INTO papersbot_schema VALUES ($1)", number)
        except DB_ERRORS as exc:
            raise StoreError(f"cannot migrate {redact(self.dsn)}: {exc}") from exc
        return len(MIGRATIONS)

    @property
    def readers(self) -> PgStore:
        """Searches read on the pool like everything else (every read has a connection of
        its own), so the store is its own read pool."""
        return self

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Reads]:
        yield self

    async def ping(self) -> None:
        """Read one row, to show the database answers (readiness)."""
        try:
            await self._pool.fetchval("SELECT 1")
        except DB_ERRORS as exc:
            raise StoreError(f"the database does not answer: {exc}") from exc

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """A session advisory lock for the block, after this process's own lock (so
        waiters here do not each hold a connection). The lock's connection comes from a
        small pool of its own: a holder's block reads and writes through the main pool,
        so holders of many names can never take every connection and wait for one."""
        async with self._exclusive.setdefault(name, asyncio.Lock()):
            pool = await self._lock_pool()
            key = lock_key(name)
            try:
                conn = await pool.acquire(timeout=CONNECT_TIMEOUT)
                await conn.execute("SELECT pg_advisory_lock($1)", key)
            except (*DB_ERRORS, TimeoutError) as exc:
                raise StoreError(f"cannot take the lock {name!r}: {exc}") from exc
            try:
                yield
            finally:
                try:  # a lost session released it; the pool resets what it returns
                    await conn.execute("SELECT pg_advisory_unlock($1)", key)
                except (*DB_ERRORS, TimeoutError) as exc:
                    log.warning("releasing the lock %r failed: %s", name, exc)
                finally:
                    await pool.release(conn)

    async def _lock_pool(self) -> asyncpg.Pool:
        async with self._making_locks:
            return await self._open_lock_pool()

    async def _open_lock_pool(self) -> asyncpg.Pool:
        if self._locks is None:
            try:
                self._locks = await asyncpg.create_pool(
                    self.dsn, min_size=0, max_size=LOCK_POOL_SIZE, timeout=CONNECT_TIMEOUT
                )
            except (*DB_ERRORS, ValueError) as exc:
                raise StoreError(f"cannot connect to {redact(self.dsn)}: {exc}") from exc
        return self._locks

    def leadership(self, role: str = CLOCK) -> PgLeadership:
        return PgLeadership(self.dsn, role)

    async def close(self) -> None:
        if self._locks is not None:
            await self._locks.close()
        await self._pool.close()

    async def __aenter__(self) -> PgStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
