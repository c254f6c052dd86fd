"""Saved searches behind "More" buttons: a short token names a query in a button value."""

from __future__ import annotations

import hashlib
from datetime import datetime

from bot.store.rows import ts
from bot.store.section import Section


class Pages(Section):
    """The ``search_pages`` table."""

    _what = "search page"

    async def save(self, query: str, *, now: datetime) -> str:
        """A short stable token for *query*, so a "More" button can name it in 100 chars."""
        token = hashlib.sha256(query.encode()).hexdigest()[:16]
        await self._write(
            "INSERT INTO search_pages (token, query, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (token) DO UPDATE SET created_at = excluded.created_at",
            (token, query, ts(now)),
        )
        return token

    async def load(self, token: str) -> str | None:
        """The query saved under *token*, or ``None`` if unknown."""
        row = await self._one("SELECT query FROM search_pages WHERE token = ?", (token,))
        return str(row["query"]) if row is not None else None
