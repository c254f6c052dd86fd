"""First-day data: on a first start with an empty store, ``papersbot run`` fetches the last
``PAPERSBOT_BACKFILL_DAYS`` weekdays of Daily Papers in the background.

The days go newest first, one request at a time, ``PAPERSBOT_BACKFILL_INTERVAL`` seconds
apart (Hugging Face allows about 500 calls per 5 minutes; 30 days at the default 2 s take
about a minute and use a tenth of that). The days the regular refresh fetches anyway (today
and the previous :data:`~bot.sources.ingest.REFRESH_DAYS` weekdays) are left to it. Every
day is an ingest run like any other (``status`` shows the source's last success); the
:class:`BackfillProgress` says how far it got, for the log and for ``status``. Three
failed days in a row stop it: the source is down, and the rest would only wait out the
same retries. ``papersbot ingest --since DAY`` fetches the rest, or more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.model.text import ago
from bot.sources.ingest import REFRESH_DAYS, DailySource, Ingestor, weekdays

log = logging.getLogger(__name__)

MAX_FAILURES_IN_A_ROW = 3


def backfill_days(today: date, count: int) -> list[date]:
    """The last *count* weekdays up to *today*, newest first, without the ones the regular
    refresh fetches (so the two never ask twice for a day)."""
    refreshed = set(weekdays(today - timedelta(days=REFRESH_DAYS + 2), today))
    days: list[date] = []
    day = today
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return [d for d in days if d not in refreshed]


@dataclass(slots=True)
class BackfillProgress:
    """How far the backfill got: updated as it runs, read by ``status``."""

    days: tuple[date, ...] = ()
    done: int = 0
    papers: int = 0
    failed: list[date] = field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stopped: str | None = None  # why it ended early

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.finished_at is None

    def line(self, now: datetime) -> str | None:
        """One ``status`` line; ``None`` when no backfill ran in this process."""
        if self.started_at is None or not self.days:
            return None
        total = len(self.days)
        span = f"{min(self.days)} to {max(self.days)}"
        if self.finished_at is None:
            return (
                f"Backfill: {self.done} of {total} weekdays fetched ({span}), "
                f"{self.papers:,} papers; started {ago(self.started_at, now)}"
            )
        if self.stopped is not None:
            return (
                f"Backfill stopped after {self.done} of {total} weekdays: {self.stopped}. "
                f"An operator can fetch the rest with `papersbot ingest --since {min(self.days)}`"
            )
        failed = f" ({len(self.failed)} failed)" if self.failed else ""
        return (
            f"Backfill finished {ago(self.finished_at, now)}: {total} weekdays ({span}), "
            f"{self.papers:,} papers{failed}"
        )


async def backfill(
    ingestor: Ingestor,
    source: DailySource,
    progress: BackfillProgress,
    *,
    clock: Callable[[], datetime],
    interval: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> BackfillProgress:
    """Fetch every day of *progress* (set :attr:`BackfillProgress.days` first), pacing
    *interval* seconds between days; updates and returns *progress*."""
    progress.started_at = clock()
    total = len(progress.days)
    log.info("backfill: fetching %d weekdays of Daily Papers, newest first", total)
    in_a_row = 0
    for number, day in enumerate(progress.days, start=1):
        if number > 1:
            await sleep(interval)
        summary = await ingestor.fetch_days(source, [day])
        progress.done = number
        progress.papers += summary.papers
        if summary.failed_days:
            progress.failed.append(day)
            in_a_row += 1
            log.warning("backfill: %s failed (%d of %d)", day, number, total)
            if in_a_row >= MAX_FAILURES_IN_A_ROW:
                progress.stopped = f"{in_a_row} days in a row failed ({summary.failed_days[0][1]})"
                break
        else:
            in_a_row = 0
            log.info(
                "backfill: %s stored, %d papers (%d of %d)", day, summary.papers, number, total
            )
    progress.finished_at = clock()
    if progress.stopped:
        log.warning(
            "backfill stopped: %s; `papersbot ingest --since %s` fetches the rest",
            progress.stopped,
            min(progress.days),
        )
    else:
        log.info("backfill finished: %d weekdays, %d papers", total, progress.papers)
    return progress
