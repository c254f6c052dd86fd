"""The SQLite store (aiosqlite, WAL, FTS5): papers, popularity history, search pages."""

from bot.store.db import Store

__all__ = ["Store"]
