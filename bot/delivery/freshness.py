"""When the Daily Papers feed can be trusted: the judgement behind "source unavailable".

A feed source is *stale* when its last successful fetch is older than :data:`STALE_AFTER`,
or it has never succeeded. Scheduled digests (:mod:`bot.delivery.compose`) then say the
source is unavailable instead of pretending the day was quiet, and ``status`` says why.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.model.text import ago
from bot.store.contract import Database

STALE_AFTER = timedelta(hours=36)
# Daily Papers publishes every weekday; more weekdays than this without a new day is an
# outage (or an empty source), not a quiet spell.
MAX_WEEKDAYS_BEHIND = 2
FEED_SOURCES = ("hf", "snapshot")  # what fills Daily Papers days


def weekdays_between(older: date, newer: date) -> int:
    """How many weekdays lie in ``(older, newer]``."""
    count, day = 0, older
    while day < newer and count < 60:
        day += timedelta(days=1)
        count += day.weekday() < 5
    return count


async def feed_problem(store: Database, *, now: datetime) -> str | None:
    """Why the Daily Papers feed cannot be trusted right now, or ``None`` if it can.

    Problems: no feed source has ever succeeded, or none succeeded within
    :data:`STALE_AFTER`, or the newest stored day is more than
    :data:`MAX_WEEKDAYS_BEHIND` weekdays behind today (UTC).
    """
    runs = await store.runs.last()
    oks = [ok for source in FEED_SOURCES if (ok := runs.get(source, (None, None))[1])]
    if not oks:
        return "no paper source has been fetched successfully yet"
    newest = max(run.finished_at for run in oks)
    if now - newest > STALE_AFTER:
        failed = runs.get("hf", (None, None))[0]
        why = f": {failed.error}" if failed is not None and not failed.ok and failed.error else ""
        return f"Hugging Face has not answered since {ago(newest, now)}{why}"
    day = await store.papers.latest_day()
    if day is None:
        return "no Daily Papers day has been fetched yet"
    behind = weekdays_between(day, now.date())
    if behind > MAX_WEEKDAYS_BEHIND:
        return f"Daily Papers has had nothing new since {day} ({behind} weekdays)"
    return None
