"""Ingest runs on both stores: per source, the latest run and the latest good one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.store import Database
from bot.store.records import IngestRun

T0 = datetime(2026, 8, 19, 8, 0, tzinfo=UTC)


def run(source: str, minutes: int, *, ok: bool = True, error: str | None = None) -> IngestRun:
    at = T0 + timedelta(minutes=minutes)
    day = date(2026, 8, 19) if source == "hf" else None
    return IngestRun(source, day, at, at + timedelta(seconds=3), ok, 5 if ok else 0, error)


async def test_no_runs_yet(database: Database) -> None:
    assert await database.runs.last() == {}


async def test_the_latest_run_and_the_latest_good_one_per_source(database: Database) -> None:
    good_hf = run("hf", 0)
    failed_hf = run("hf", 10, ok=False, error="HTTP 503")
    arxiv = run("arxiv", 5)
    for one in (run("hf", -60), good_hf, arxiv, failed_hf):
        await database.runs.record(one)
    last = await database.runs.last()
    assert last == {"hf": (failed_hf, good_hf), "arxiv": (arxiv, arxiv)}


async def test_a_source_that_never_succeeded(database: Database) -> None:
    failed = run("arxiv", 0, ok=False, error="timeout")
    await database.runs.record(failed)
    assert await database.runs.last() == {"arxiv": (failed, None)}
