"""Saved searches behind "More" and "Subscribe" buttons: a short token names a query in a
button value. A token lives :data:`PAGE_TTL` after the search that last used it; older ones
are refused and pruned daily, so a years-old button does not keep working for anyone."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from bot.store.rows import ts
from bot.store.section import Section

PAGE_TTL = timedelta(days=30)
SAVE_WAIT_MS = 250  # how long a search waits to save its token while another writer holds the lock


def token_for(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:16]


class Pages(Section):
    """The ``search_pages`` table."""

    _what = "search page"

    async def save(self, query: str, *, now: datetime, patient: bool = True) -> str:
        """A short stable token for *query*, so a "More" button can name it in 100 chars.

        Not *patient* (a search answering a person): wait at most :data:`SAVE_WAIT_MS` for
        another process's write lock, then raise :class:`~bot.errors.StoreError`, so the
        search answers without its buttons instead of failing."""
        token = token_for(query)
        async with self._transaction(busy_ms=None if patient else SAVE_WAIT_MS) as conn:
            await conn.execute(
                "INSERT INTO search_pages (token, query, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (token) DO UPDATE SET created_at = excluded.created_at",
                (token, query, ts(now)),
            )
        return token

    async def load(self, token: str, *, now: datetime | None = None) -> str | None:
        """The query saved under *token*, or ``None`` if unknown (or, given *now*, older
        than :data:`PAGE_TTL`)."""
        oldest = ts(now - PAGE_TTL) if now is not None else ""
        row = await self._one(
            "SELECT query FROM search_pages WHERE token = ? AND created_at >= ?", (token, oldest)
        )
        return str(row["query"]) if row is not None else None

    async def prune(self, *, before: datetime) -> int:
        """Forget tokens last used before *before*; how many."""
        return len(
            await self._write(
                "DELETE FROM search_pages WHERE created_at < ? RETURNING token", (ts(before),)
            )
        )
