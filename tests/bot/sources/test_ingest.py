"""Ingest: every attempt is recorded; one bad day does not stop the rest; a down source
stops the run early instead of waiting out every day."""

from __future__ import annotations

from datetime import date

from bot.errors import SourceResponseError, SourceUnavailable
from bot.model.papers import Paper
from bot.sources.ingest import Ingestor, weekdays
from bot.store import Store
from tests.fakes.clock import Clock


class Days:
    def __init__(self, outcomes: dict[date, Exception | list[Paper]]) -> None:
        self.outcomes = outcomes
        self.asked: list[date] = []

    async def daily(self, day: date) -> list[Paper]:
        self.asked.append(day)
        outcome = self.outcomes.get(day, [])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def test_weekdays_skip_weekends() -> None:
    days = weekdays(date(2026, 8, 14), date(2026, 8, 18))  # Fri .. Tue
    assert days == [date(2026, 8, 14), date(2026, 8, 17), date(2026, 8, 18)]


async def test_a_bad_day_is_recorded_and_the_rest_go_on(store: Store, clock: Clock) -> None:
    mon, tue, wed = date(2026, 8, 17), date(2026, 8, 18), date(2026, 8, 19)  # up to "now"
    source = Days(
        {
            mon: [Paper(id="2608.90001", title="Fresh", daily_day=mon, upvotes=3)],
            tue: SourceResponseError("Hugging Face", "http://hf/x", "HTTP 400: bad date"),
            wed: [Paper(id="2608.90002", title="Fresher", daily_day=wed)],
        }
    )
    summary = await Ingestor(store=store, clock=clock).fetch_days(source, [mon, tue, wed])
    assert source.asked == [mon, tue, wed]
    assert (summary.days, summary.papers, summary.new) == (3, 2, 2)
    assert [day for day, _ in summary.failed_days] == [tue]
    last, last_ok = (await store.runs.last())["hf"]
    assert last is not None
    assert last.ok
    assert last_ok is not None
    assert last_ok.day == wed


async def test_a_source_that_is_down_stops_the_run(store: Store, clock: Clock) -> None:
    days = [date(2026, 8, 24), date(2026, 8, 25), date(2026, 8, 26)]
    down = SourceUnavailable("Hugging Face", "http://hf/x", "HTTP 503 after 5 attempts")
    source = Days({days[0]: down})
    summary = await Ingestor(store=store, clock=clock).fetch_days(source, days)
    assert source.asked == days[:1]
    assert summary.failed_days[0] == (days[0], str(down))
    assert summary.failed_days[1:] == tuple((d, "skipped: source unavailable") for d in days[1:])
    last, last_ok = (await store.runs.last())["hf"]
    assert last is not None
    assert not last.ok
    assert last_ok is None
