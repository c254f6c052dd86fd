"""Saved searches behind "More" and "Subscribe" buttons, on PostgreSQL. Behaves as
:mod:`bot.store.pages`: a token lives :data:`~bot.store.pages.PAGE_TTL` after the search
that last used it.

SQLite's *patient* flag is about its one write lock (a busy wait). PostgreSQL has no such
lock: a save waits only for another transaction writing the *same* token. Not patient, the
save's transaction sets ``lock_timeout`` and ``statement_timeout`` to
:data:`~bot.store.pages.SAVE_WAIT_MS`, so a search answering a person gives up on its
buttons after that long (a :class:`~bot.errors.StoreError`) instead of hanging on a busy
server.
"""

from __future__ import annotations

from datetime import datetime

from bot.store.pages import PAGE_TTL, SAVE_WAIT_MS, token_for
from bot.store.pg.section import PgSection
from bot.store.rows import ts


class PgPages(PgSection):
    """The ``search_pages`` table."""

    _what = "search page"

    async def save(self, query: str, *, now: datetime, patient: bool = True) -> str:
        """A short stable token for *query*, so a "More" button can name it in 100 chars.

        Not *patient*: wait at most :data:`~bot.store.pages.SAVE_WAIT_MS` for a lock or for
        the statement, then raise :class:`~bot.errors.StoreError`."""
        token = token_for(query)
        async with self._transaction() as conn:
            if not patient:
                # SET LOCAL takes no parameters; the value is our own integer constant.
                await conn.execute(f"SET LOCAL lock_timeout = {int(SAVE_WAIT_MS)}")
                await conn.execute(f"SET LOCAL statement_timeout = {int(SAVE_WAIT_MS)}")
            await conn.execute(
                "INSERT INTO search_pages (token, query, created_at) VALUES ($1, $2, $3) "
                "ON CONFLICT (token) DO UPDATE SET created_at = excluded.created_at",
                token,
                query,
                ts(now),
            )
        return token

    async def load(self, token: str, *, now: datetime | None = None) -> str | None:
        """The query saved under *token*, or ``None`` if unknown (or, given *now*, older
        than :data:`~bot.store.pages.PAGE_TTL`)."""
        oldest = ts(now - PAGE_TTL) if now is not None else ""
        query = await self._value(
            "SELECT query FROM search_pages WHERE token = $1 AND created_at >= $2", token, oldest
        )
        return str(query) if query is not None else None

    async def prune(self, *, before: datetime) -> int:
        """Forget tokens last used before *before*; how many."""
        rows = await self._write(
            "DELETE FROM search_pages WHERE created_at < $1 RETURNING token", ts(before)
        )
        return len(rows)
