"""The store: SQLite (aiosqlite, WAL, FTS5; one process) by default, or PostgreSQL (asyncpg;
any number of processes) when ``PAPERSBOT_DATABASE`` is a ``postgresql://`` URL. Both hold
papers, popularity history, search pages and the scheduling tables (subscriptions, channel
digests, the delivery ledger), and both meet :class:`~bot.store.contract.Database`, which is
all the rest of the bot sees.
"""

from __future__ import annotations

from pathlib import Path

from bot.store.contract import Database
from bot.store.db import Store

__all__ = ["Database", "Store", "is_postgres", "open_database"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(database: str | Path) -> bool:
    """Whether *database* (``PAPERSBOT_DATABASE``) names a PostgreSQL server, not a file."""
    return str(database).startswith(POSTGRES_SCHEMES)


async def open_database(database: str | Path, *, check: bool = False) -> Database:
    """Open the store *database* names: a ``postgresql://`` URL, or a SQLite file path.

    *check*: SQLite's integrity check before first use (PostgreSQL checks itself).
    """
    if is_postgres(database):
        from bot.store.pg import PgStore  # asyncpg is loaded only when it is used

        return await PgStore.open(str(database))
    return await Store.open(database, check=check)
