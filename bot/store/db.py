"""The store: one aiosqlite connection to a WAL-mode SQLite file, and its parts.

:class:`Store` opens the file, applies migrations and hands its connection to each part:
``papers`` (:mod:`.papers`), ``runs`` (:mod:`.runs`), ``pages`` (:mod:`.pages`),
``targets`` (:mod:`.targets`), ``ledger`` (:mod:`.ledger`) and ``schedules``
(:mod:`.schedules`). All timestamps are stored as ISO-8601 strings in UTC; rows are read by
column name.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from types import TracebackType

import aiosqlite

from bot.errors import StoreError
from bot.store.ledger import Ledger
from bot.store.migrations import MIGRATIONS
from bot.store.pages import Pages
from bot.store.papers import Papers
from bot.store.runs import Runs
from bot.store.schedules import Schedules
from bot.store.targets import Targets

log = logging.getLogger(__name__)


class Store:
    """One SQLite database and its parts. Open with :meth:`open`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        # One connection serves every task: a write transaction must not interleave with
        # another task's writes or commits (an ingest and a `show` lookup, say).
        self._writing = asyncio.Lock()
        self.papers = Papers(conn, self._writing)
        self.runs = Runs(conn, self._writing)
        self.pages = Pages(conn, self._writing)
        self.targets = Targets(conn, self._writing)
        self.ledger = Ledger(conn, self._writing)
        self.schedules = Schedules(conn, self._writing)

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        """Open (creating if needed) the database at *path* and apply pending migrations."""
        try:
            conn = await aiosqlite.connect(str(path))
            conn.row_factory = aiosqlite.Row
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        store = cls(conn)
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
            "PRAGMA busy_timeout = 5000",
        ):
            await self._conn.execute(pragma)

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

    async def close(self) -> None:
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
