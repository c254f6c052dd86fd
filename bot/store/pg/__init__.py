"""The PostgreSQL store (asyncpg), for deployments of several papersbot processes."""

from bot.store.pg.db import PgStore

__all__ = ["PgStore"]
