"""When the Daily Papers feed can be trusted (bot/delivery/freshness.py), on the real
snapshot store: its one feed run finished at the clock's start, and its latest day is
Wednesday 2026-08-19."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.delivery.freshness import MAX_WEEKDAYS_BEHIND, STALE_AFTER, feed_problem, weekdays_between
from bot.store import Store
from bot.store.records import IngestRun
from tests.fakes.clock import START
from tests.kit import fresh_feed

WED, THU, FRI, SAT, SUN, MON = (date(2026, 8, 19) + timedelta(days=n) for n in range(6))


@pytest.mark.parametrize(
    ("older", "newer", "count"),
    [
        (WED, WED, 0),
        (WED, THU, 1),
        (WED, FRI, 2),
        (FRI, SAT, 0),
        (FRI, SUN, 0),
        (FRI, MON, 1),
        (WED, MON, 3),
        (SAT, MON, 1),
        (MON, WED, 0),  # backwards: nothing lies between
        (WED, WED + timedelta(days=7), 5),
        (date(2026, 1, 1), date(2027, 1, 1), 60),  # counting stops at 60
    ],
)
def test_weekdays_between_counts_the_weekdays_after_older_up_to_newer(
    older: date, newer: date, count: int
) -> None:
    assert weekdays_between(older, newer) == count


async def test_a_fresh_feed_with_today_s_papers_is_trusted(store: Store) -> None:
    assert await feed_problem(store, now=START) is None


async def test_the_feed_goes_stale_after_36_hours_without_a_success(store: Store) -> None:
    assert await feed_problem(store, now=START + STALE_AFTER) is None  # the boundary itself
    problem = await feed_problem(store, now=START + STALE_AFTER + timedelta(minutes=1))
    assert problem == "Hugging Face has not answered since 36 h ago"


async def test_a_stale_feed_names_the_last_hugging_face_error(store: Store) -> None:
    later = START + timedelta(days=2)
    failed = IngestRun("hf", later.date(), later, later, False, 0, "HTTP 503 after 5 attempts")
    await store.runs.record(failed)
    problem = await feed_problem(store, now=later)
    assert problem == "Hugging Face has not answered since 2 days ago: HTTP 503 after 5 attempts"


async def test_a_recent_hugging_face_success_counts_as_much_as_the_snapshot(store: Store) -> None:
    later = START + timedelta(days=2)
    await fresh_feed(store, later)  # hf fetched, nothing new: still Friday, two weekdays on
    assert await feed_problem(store, now=later) is None


async def test_an_arxiv_success_does_not_vouch_for_daily_papers(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "empty.db") as store:
        assert await feed_problem(store, now=START) == (
            "no paper source has been fetched successfully yet"
        )
        await store.runs.record(IngestRun("arxiv", None, START, START, True, 3, None))
        assert await feed_problem(store, now=START) == (
            "no paper source has been fetched successfully yet"
        )
        await store.runs.record(IngestRun("hf", START.date(), START, START, False, 0, "down"))
        assert await feed_problem(store, now=START) == (
            "no paper source has been fetched successfully yet"
        )


async def test_a_feed_that_answers_with_no_day_is_not_trusted(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "empty.db") as store:
        await fresh_feed(store, START)
        assert await feed_problem(store, now=START) == "no Daily Papers day has been fetched yet"


@pytest.mark.parametrize(
    ("today", "problem"),
    [
        (FRI, None),  # two weekdays without a new day: a quiet spell
        (SUN, None),  # the weekend does not count
        (MON, "Daily Papers has had nothing new since 2026-08-19 (3 weekdays)"),
    ],
)
async def test_a_feed_that_answers_but_stops_moving_is_an_outage(
    store: Store, today: date, problem: str | None
) -> None:
    now = START + timedelta(days=(today - WED).days)
    await fresh_feed(store, now)
    assert MAX_WEEKDAYS_BEHIND == 2
    assert await feed_problem(store, now=now) == problem
