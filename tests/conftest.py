"""Shared fixtures: a real SQLite store holding the bundled real snapshot, the one test clock,
the one recording courier, and a test bot on that store and clock."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from bot.app import bundled_snapshot
from bot.service.papersbot import PapersBot
from bot.sources.ingest import Ingestor
from bot.store import Store
from tests.fakes.clock import START, Clock
from tests.fakes.courier import RecordingCourier
from tests.pg import SKIPPED, PostgresServer, require_postgres

# The bundled snapshot's latest day is 2026-08-19; "now" is that afternoon.
NOW = START


@pytest.fixture(scope="session")
def snapshot_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file with the bundled snapshot ingested, built once per session."""
    path = tmp_path_factory.mktemp("snapshot") / "snapshot.db"

    async def build() -> None:
        store = await Store.open(path)
        try:
            await Ingestor(store=store, clock=Clock()).from_file(bundled_snapshot())
        finally:
            await store.close()

    asyncio.run(build())
    with closing(sqlite3.connect(path)) as conn:  # everything in the one file that is copied
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
async def store(snapshot_db: Path, tmp_path: Path) -> AsyncIterator[Store]:
    """A private copy of the snapshot store for one test, at ``tmp_path / "papers.db"``."""
    path = tmp_path / "papers.db"
    shutil.copy(snapshot_db, path)
    opened = await Store.open(path)
    yield opened
    await opened.close()


@pytest.fixture
def clock() -> Clock:
    """The test's clock, at :data:`NOW` until the test moves it."""
    return Clock()


@pytest.fixture
def courier(clock: Clock) -> RecordingCourier:
    """A Slack-platform recording courier on the test's clock."""
    return RecordingCourier(clock)


@pytest.fixture
def testbot(store: Store, clock: Clock) -> PapersBot:
    return PapersBot(store=store, clock=clock)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session, started when a test first asks for it
    (see tests/pg.py); skipped without the binaries, a failure under CI=true."""
    with PostgresServer(require_postgres()) as server:
        yield server


@pytest.fixture
def pg_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped after the test."""
    dsn = postgres_server.create_database()
    try:
        yield dsn
    finally:
        postgres_server.drop_database(dsn)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SKIPPED:
        terminalreporter.write_line(
            f"NOTICE: {len(SKIPPED)} PostgreSQL tests skipped: {SKIPPED[0]}", yellow=True
        )
