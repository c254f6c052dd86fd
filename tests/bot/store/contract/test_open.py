"""Opening either store: migrations to this release's schema, readiness, and reopening."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import StoreError
from bot.store import Database, is_postgres, open_database
from bot.store.migrations import MIGRATIONS as SQLITE_MIGRATIONS
from bot.store.pg.db import redact
from bot.store.pg.migrations import MIGRATIONS as PG_MIGRATIONS


def test_both_schemas_have_the_same_history() -> None:
    assert len(PG_MIGRATIONS) == len(SQLITE_MIGRATIONS)


def test_database_urls_choose_the_store() -> None:
    assert is_postgres("postgresql://bot@db/papers")
    assert is_postgres("postgres://bot@db/papers")
    assert not is_postgres("papersbot.db")
    assert not is_postgres("/var/lib/papersbot/postgresql.db")


def test_passwords_are_redacted_from_messages() -> None:
    assert (
        redact("postgresql://bot:hunter2@db:5432/papers") == "postgresql://bot:***@db:5432/papers"
    )
    assert redact("postgresql://bot@db/papers") == "postgresql://bot@db/papers"
    assert redact("postgresql://h/db?password=s3cret") == "postgresql://h/db?password=***"
    assert redact("postgresql://u@h/db?sslmode=require&password=s3cret&x=@y") == (
        "postgresql://u@h/db?sslmode=require&password=***&x=@y"
    )
    assert "s3cret" not in redact("postgresql://u:s3cret@h/db?password=s3cret")


async def test_a_store_answers_and_reopens(database: Database, database_url: str) -> None:
    await database.ping()
    again = await open_database(database_url)  # migrations already applied: nothing to do
    try:
        await again.ping()
    finally:
        await again.close()


async def test_processes_starting_together_migrate_once(database_url: str) -> None:
    if not is_postgres(database_url):
        pytest.skip("SQLite: one process per database (DatabaseLock)")
    stores = await asyncio.gather(*(open_database(database_url) for _ in range(4)))
    for store in stores:
        await store.ping()
        await store.close()


async def test_an_unreachable_server_is_a_store_error_without_the_password() -> None:
    url = "postgresql://bot:hunter2@127.0.0.1:1/papers?connect_timeout=2"
    with pytest.raises(StoreError, match="cannot connect") as caught:
        await open_database(url)
    assert "hunter2" not in str(caught.value)
