"""Read connections of their own for searches, so a burst of them does not queue behind
each other (or behind a write) on the store's one connection.

SQLite in WAL mode lets any number of readers work beside the writer, each on a snapshot
of the last commit; every aiosqlite connection runs on its own thread, and SQLite releases
the GIL while it works, so searches on different connections really run at once. The pool
opens up to :data:`POOL_SIZE` read-only connections (``mode=ro``, ``query_only``) as they
are needed and keeps them. A database that is not a file (``:memory:``), or a reader that
cannot be opened, falls back to the store's own connection: slower under load, never wrong.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot.store.contract import Reads
from bot.store.fulltext import FullText, Rarity
from bot.store.papers import Papers
from bot.store.section import BUSY_TIMEOUT_MS, ensure_math

log = logging.getLogger(__name__)

POOL_SIZE = 4  # a 2-core machine gains nothing from more; bursts queue for a free one


class ReadView:
    """:class:`Reads` on one connection."""

    def __init__(self, conn: aiosqlite.Connection, rarity: Rarity | None = None) -> None:
        self.conn = conn
        never = asyncio.Lock()  # a read-only view takes no write lock: it never writes
        self._papers = Papers(conn, never)
        self._fulltext = FullText(conn, never, rarity, read_only=True)

    @property
    def papers(self) -> Papers:
        return self._papers

    @property
    def fulltext(self) -> FullText:
        return self._fulltext


class Readers:
    """A pool of read-only :class:`ReadView` connections to the database at *path*
    (``None``: every read uses *fallback*)."""

    def __init__(
        self,
        path: Path | None,
        fallback: Reads,
        size: int = POOL_SIZE,
        *,
        rarity: Rarity | None = None,
    ) -> None:
        pooled = path is not None and size > 0
        self._uri = f"{path.resolve().as_uri()}?mode=ro" if pooled and path else None
        self._fallback = fallback
        self._size = size
        self._free: asyncio.Queue[ReadView] = asyncio.Queue()
        self._opened: list[ReadView] = []
        self._slots = 0  # connections opened or being opened
        self._rarity = rarity or Rarity()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Reads]:
        """A view to read from, for the length of the block."""
        view = await self._take()
        if view is None:
            yield self._fallback
            return
        try:
            yield view
        finally:
            self._free.put_nowait(view)

    async def _take(self) -> ReadView | None:
        if self._uri is None:
            return None
        if self._free.empty() and self._slots < self._size:
            self._slots += 1  # taken before the await, so a burst opens no more than the pool
            try:
                view = await self._open(self._uri, self._rarity)
            except sqlite3.Error as exc:
                self._slots -= 1
                log.warning("a read connection could not be opened (%s); reading on the main", exc)
                self._uri = None
                return None
            self._opened.append(view)
            return view
        return await self._free.get()

    @staticmethod
    async def _open(uri: str, rarity: Rarity) -> ReadView:
        conn = await aiosqlite.connect(uri, uri=True)
        conn.row_factory = aiosqlite.Row
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA query_only = 1")
            await ensure_math(conn)
        except BaseException:
            await conn.close()
            raise
        return ReadView(conn, rarity)

    async def close(self) -> None:
        opened, self._opened = self._opened, []
        for view in opened:
            await view.conn.close()
