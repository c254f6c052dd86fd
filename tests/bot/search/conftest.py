"""A store holding the archive's last recorded days, built once per module that asks."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from bot.model.papers import Paper
from bot.sources.snapshot import SnapshotSource
from bot.store import Store

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # the archive ends on 2026-06-30
DAYS = 40


@pytest.fixture(scope="module")
def recorded_days(archive: Path) -> list[tuple[date, list[Paper]]]:
    """The archive's last :data:`DAYS` recorded days."""
    days = [(day, papers) for day, papers in SnapshotSource(archive).days() if day is not None]
    return days[-DAYS:]


@pytest.fixture(scope="module")
def corpus(recorded_days: list[tuple[date, list[Paper]]]) -> list[Paper]:
    return [p for _, batch in recorded_days for p in batch]


@pytest.fixture(scope="module")
def archive_db(
    recorded_days: list[tuple[date, list[Paper]]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A database file with the recorded days ingested, built once per module."""
    path = tmp_path_factory.mktemp("search") / "papers.db"

    async def build() -> None:
        store = await Store.open(path)
        try:
            for day, papers in recorded_days:
                seen = datetime.combine(day, time(8), UTC)
                await store.papers.upsert(papers, seen_at=seen)
        finally:
            await store.close()

    asyncio.run(build())
    return path
