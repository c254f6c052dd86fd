"""The first-day backfill against the loopback Hugging Face fake, over real httpx, into a
real SQLite store: which days, in what order, how paced, and what ``status`` says."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from bot.config import load_settings
from bot.service.status import status_reply
from bot.sources.backfill import BackfillProgress, backfill, backfill_days
from bot.sources.hf import HuggingFaceSource
from bot.sources.http import Fetcher, build_client
from bot.sources.ingest import Ingestor, weekdays
from bot.store import Store
from tests.fakes.clock import Clock
from tests.fakes.hf import FakeHuggingFace

TODAY = date(2026, 8, 19)  # a Wednesday (the test clock's day)


def test_the_days_are_the_last_weekdays_without_the_refresh_window() -> None:
    days = backfill_days(TODAY, 30)
    refreshed = weekdays(date(2026, 8, 14), TODAY)  # the refresh: today and 3 weekdays back
    assert len(days) + len(refreshed) == 30
    assert days == sorted(days, reverse=True)  # newest first
    assert max(days) < min(refreshed)
    assert all(d.weekday() < 5 for d in days)
    assert min(days) == date(2026, 7, 9)  # 30 weekdays back from today, today included
    assert backfill_days(TODAY, 0) == []
    assert backfill_days(TODAY, 2) == []  # inside what the refresh fetches anyway


@pytest.fixture
async def empty_store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "empty.db")
    yield store
    await store.close()


async def _run(
    fake: FakeHuggingFace, store: Store, clock: Clock, days: list[date], retries: int = 0
) -> BackfillProgress:
    settings = load_settings(env_file=None, hf_api_url=fake.url)
    async with build_client(settings) as client:
        source = HuggingFaceSource(
            Fetcher(client, "Hugging Face", retries=retries, sleep=clock.sleep), fake.url
        )
        progress = BackfillProgress(days=tuple(days))
        return await backfill(
            Ingestor(store=store, clock=clock),
            source,
            progress,
            clock=clock,
            interval=2.0,
            sleep=clock.sleep,
        )


async def test_backfill_fetches_every_day_newest_first_paced(empty_store: Store) -> None:
    clock = Clock()
    days = backfill_days(TODAY, 12)
    async with FakeHuggingFace.recorded(days) as fake:
        progress = await _run(fake, empty_store, clock, days)
    assert fake.daily_dates() == days
    assert clock.sleeps == [2.0] * (len(days) - 1)  # polite: one day every 2 s
    expected = {item["paper"]["id"] for d in days for item in fake.days[d]}
    assert await empty_store.papers.count() == len(expected)
    assert progress.done == len(days)
    assert progress.papers == sum(len(fake.days[d]) for d in days)
    assert progress.failed == []
    assert progress.finished_at is not None
    reply = await status_reply(empty_store, now=clock(), backfill=progress)
    line = next(n for n in reply.notes if n.startswith("Backfill"))
    assert line.startswith(f"Backfill finished just now: {len(days)} weekdays")
    assert f"{progress.papers:,} papers" in line


async def test_status_shows_a_backfill_in_progress(empty_store: Store) -> None:
    clock = Clock()
    progress = BackfillProgress(days=tuple(backfill_days(TODAY, 30)), started_at=clock())
    progress.done, progress.papers = 7, 312
    clock.advance(minutes=3)
    reply = await status_reply(empty_store, now=clock(), backfill=progress)
    assert "Backfill: 7 of 26 weekdays fetched (2026-07-09 to 2026-08-13), 312 papers; " in (
        "\n".join(reply.notes)
    )


async def test_a_failed_day_is_skipped_and_three_in_a_row_stop_it(empty_store: Store) -> None:
    clock = Clock()
    days = backfill_days(TODAY, 14)
    async with FakeHuggingFace.recorded(days) as fake:
        fake.failing = {days[1]}
        progress = await _run(fake, empty_store, clock, days)
        assert progress.failed == [days[1]]
        assert progress.stopped is None
        assert fake.daily_dates() == days  # one bad day does not stop the others

        fake.requests.clear()
        fake.failing = set(days[3:])
        stopped = await _run(fake, empty_store, clock, days)
    assert fake.daily_dates() == days[:6]  # three failures in a row, then it stops
    assert stopped.stopped is not None
    assert "3 days in a row failed" in stopped.stopped
    reply = await status_reply(empty_store, now=clock(), backfill=stopped)
    text = "\n".join(reply.notes)
    assert f"papersbot ingest --since {min(days)}" in text


async def test_a_rate_limit_is_waited_out_as_the_server_asked(empty_store: Store) -> None:
    clock = Clock()
    days = backfill_days(TODAY, 8)
    async with FakeHuggingFace.recorded(days) as fake:
        fake.rate_limited, fake.retry_after = 2, "7"
        progress = await _run(fake, empty_store, clock, days, retries=3)
    assert progress.failed == []
    assert clock.sleeps[:2] == [7.0, 7.0]  # Retry-After honoured before the pacing resumes


async def test_the_fake_answers_like_the_real_api() -> None:
    """Pages of ``limit``; a day without papers is an empty list; a bad date is a 400."""
    async with FakeHuggingFace.recorded([TODAY]) as fake, httpx.AsyncClient() as client:
        url = f"{fake.url}/api/daily_papers"
        first = await client.get(url, params={"date": "2026-08-19", "limit": 5})
        assert first.json() == fake.days[TODAY][:5]
        empty = await client.get(url, params={"date": "2026-08-16"})
        assert empty.json() == []
        bad = await client.get(url, params={"date": "soon"})
        assert bad.status_code == 400
