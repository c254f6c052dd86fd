"""One suite, both stores: every test here runs against SQLite and against a real
PostgreSQL server started for the session (``pg_dsn``, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Database, open_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the store lives: a fresh SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "contract.db")
    return str(request.getfixturevalue("pg_dsn"))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    store = await open_database(database_url)
    try:
        yield store
    finally:
        await store.close()
