"""The SQLite store (aiosqlite, WAL, FTS5): papers, popularity history, search pages, and the
scheduling tables (subscriptions, channel digests, the delivery ledger).

Imports only :mod:`bot.model` and :mod:`bot.errors`; everything above it reads and writes
through :class:`Store`.
"""

from bot.store.db import Store

__all__ = ["Store"]
