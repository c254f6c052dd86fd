"""Shared fixtures: a real SQLite store holding the bundled real snapshot, and a test bot."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import bundled_snapshot
from bot.service.papersbot import PapersBot
from bot.sources.ingest import Ingestor
from bot.store import Store

# The bundled snapshot's latest day is 2026-08-19; "now" is that afternoon.
NOW = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)


def fixed_clock() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def snapshot_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file with the bundled snapshot ingested, built once per session."""
    path = tmp_path_factory.mktemp("snapshot") / "snapshot.db"

    async def build() -> None:
        store = await Store.open(path)
        try:
            await Ingestor(store=store, clock=fixed_clock).from_file(bundled_snapshot())
            await store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            await store.close()

    asyncio.run(build())
    return path


@pytest.fixture
async def store(snapshot_db: Path, tmp_path: Path) -> AsyncIterator[Store]:
    """A private copy of the snapshot store for one test."""
    path = tmp_path / "papers.db"
    shutil.copy(snapshot_db, path)
    opened = await Store.open(path)
    yield opened
    await opened.close()


@pytest.fixture
def testbot(store: Store) -> PapersBot:
    return PapersBot(store=store, clock=fixed_clock)
