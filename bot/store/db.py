"""The store: one aiosqlite connection to a WAL-mode SQLite file, and its parts.

:class:`Store` opens the file, applies migrations and hands its connection to each part:
``papers`` (:mod:`.papers`), ``runs`` (:mod:`.runs`), ``pages`` (:mod:`.pages`),
``targets`` (:mod:`.targets`), ``ledger`` (:mod:`.ledger`), ``schedules``
(:mod:`.schedules`), and ``installations`` / ``oauth_states`` (:mod:`.installations`).
All timestamps are stored as ISO-8601 strings in UTC; rows are read by column name.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, closing
from pathlib import Path
from types import TracebackType

import aiosqlite

from bot.errors import StoreError
from bot.store.fulltext import FullText, Rarity
from bot.store.installations import Installations, OAuthStates
from bot.store.ledger import Ledger
from bot.store.migrations import MIGRATIONS
from bot.store.pages import Pages
from bot.store.papers import Papers
from bot.store.readers import Readers
from bot.store.runs import Runs
from bot.store.schedules import Schedules
from bot.store.section import BUSY_TIMEOUT_MS, ensure_math
from bot.store.targets import Targets

log = logging.getLogger(__name__)


RESTORE_HINT = (
    "restore it from a backup, or move it aside to start with an empty store "
    "(papersbot ingest --since refills the papers)"
)


class DatabaseDamaged(StoreError):
    """The database file failed its integrity check; it was not written to."""


def check_integrity(path: Path) -> None:
    """Raise :class:`DatabaseDamaged` naming *path* if SQLite's ``quick_check`` finds damage
    (or the file is not a database at all). Read-only: the file is never changed. A file
    that does not exist yet, or ``:memory:``, passes."""
    if str(path) == ":memory:" or not path.exists() or path.stat().st_size == 0:
        return
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.OperationalError as exc:  # busy, or cannot open read-only: not damage
        log.debug("integrity check of %s skipped: %s", path, exc)
        return
    except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed"
        problems = [str(exc)]
    if problems != ["ok"]:
        raise DatabaseDamaged(
            f"the database {path} is damaged ({'; '.join(problems)[:300]}); it was not "
            f"changed. {RESTORE_HINT[0].upper()}{RESTORE_HINT[1:]}."
        )


class SoleLeadership:
    """SQLite: the one ``papersbot run`` a database allows (:mod:`bot.store.lock`) leads."""

    retry = 5.0

    async def try_lead(self) -> bool:
        return True

    async def holding(self) -> bool:
        return True

    async def wait_for_work(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def on_schedule_change(self, callback: Callable[[], None] | None) -> None:
        """Nothing to relay: commands run in the leading process itself."""

    async def close(self) -> None:
        """Nothing to give up."""


class Store:
    """One SQLite database and its parts. Open with :meth:`open`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        # One connection serves every task: a write transaction must not interleave with
        # another task's writes or commits (an ingest and a `show` lookup, say).
        self._writing = asyncio.Lock()
        self.papers = Papers(conn, self._writing)
        self.rarity = Rarity()  # document counts, shared with the read connections
        self.fulltext = FullText(conn, self._writing, self.rarity)
        self.runs = Runs(conn, self._writing)
        self.pages = Pages(conn, self._writing)
        self.targets = Targets(conn, self._writing)
        self.ledger = Ledger(conn, self._writing)
        self.schedules = Schedules(conn, self._writing)
        self.installations = Installations(conn, self._writing)
        self.oauth_states = OAuthStates(conn, self._writing)
        self._exclusive: dict[str, asyncio.Lock] = {}
        # Searches read on connections of their own once open() knows the file.
        self.readers = Readers(None, self)

    @classmethod
    async def open(cls, path: str | Path, *, check: bool = False) -> Store:
        """Open (creating if needed) the database at *path* and apply pending migrations.

        *check*: first run SQLite's ``quick_check`` on a read-only connection, and refuse a
        damaged file (:class:`DatabaseDamaged`) before anything writes to it.
        """
        if check:
            await asyncio.to_thread(check_integrity, Path(path))
        try:
            conn = await aiosqlite.connect(str(path))
            conn.row_factory = aiosqlite.Row
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        store = cls(conn)
        if str(path) != ":memory:" and not str(path).startswith("file:"):
            store.readers = Readers(Path(path), store, rarity=store.rarity)
        try:
            await store._configure()
            await store.migrate()
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StoreError(f"cannot use database {path}: {exc}") from exc
        except BaseException:
            await conn.close()
            raise
        return store

    async def _configure(self) -> None:
        for pragma in (
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA foreign_keys = ON",
            f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
        ):
            await self._conn.execute(pragma)
        await ensure_math(self._conn)

    async def migrate(self) -> int:
        """Apply every migration newer than the database's ``user_version``; return the version."""
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row["user_version"]) if row else 0
        if version > len(MIGRATIONS):
            raise StoreError(
                f"database schema {version} is newer than this papersbot ({len(MIGRATIONS)})"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            log.debug("applying migration %d", number)
            await self._conn.executescript(
                f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
            )
        return len(MIGRATIONS)

    async def ping(self) -> None:
        """Read one row, to show the database answers (readiness); raises
        :class:`StoreError` when it does not."""
        try:
            async with self._conn.execute("SELECT 1") as cur:
                await cur.fetchone()
        except (sqlite3.Error, ValueError) as exc:  # ValueError: the connection is closed
            raise StoreError(f"the database does not answer: {exc}") from exc

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """One process per database: a lock of this process is every holder's."""
        async with self._exclusive.setdefault(name, asyncio.Lock()):
            yield

    def leadership(self, role: str = "clock") -> SoleLeadership:
        return SoleLeadership()

    async def close(self) -> None:
        await self.readers.close()
        await self._conn.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
