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
MIGRATION_LOCK = 0x70617065  # pg_advisory_xact_lock key while migrating ("pape")
CONNECT_TIMEOUT = 10.0


def redact(dsn: str) -> str:
    """*dsn* without its password, for messages and logs."""
    scheme, sep, rest = dsn.partition("://")
    if not sep or "@" not in rest:
        return dsn
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}{':***' if ':' in userinfo else ''}@{host}"


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
        """A session advisory lock on a pooled connection for the block, after this
        process's own lock (so waiters here do not each hold a connection)."""
        async with self._exclusive.setdefault(name, asyncio.Lock()):
            try:
                async with self._pool.acquire() as conn:
                    await conn.execute("SELECT pg_advisory_lock($1)", lock_key(name))
                    try:
                        yield
                    finally:
                        await conn.execute("SELECT pg_advisory_unlock($1)", lock_key(name))
            except DB_ERRORS as exc:
                raise StoreError(f"cannot take the lock {name!r}: {exc}") from exc

    def leadership(self, role: str = CLOCK) -> PgLeadership:
        return PgLeadership(self.dsn, role)

    async def close(self) -> None:
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
