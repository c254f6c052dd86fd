"""The tests' own PostgreSQL server (tests/pg.py): real, isolated, and required under CI."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tests import pg
from tests.pg import PostgresServer

REPO = Path(__file__).resolve().parents[3]


async def test_each_test_gets_a_fresh_database_on_a_real_server(
    pg_dsn: str, postgres_server: PostgresServer
) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        assert "PostgreSQL 15" in await conn.fetchval("SELECT version()")
        tables = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables == 0
    finally:
        await conn.close()
    assert REPO not in postgres_server.root.parents  # nothing of the server in the tree


def test_missing_binaries_skip_locally_and_fail_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pg, "pg_binaries", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        pg.require_postgres()
    pg.SKIPPED.clear()  # this was a rehearsal: no notice for the session
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI needs the PostgreSQL"):
        pg.require_postgres()
