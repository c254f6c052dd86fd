"""Ingest: bring papers from a source into the store and record every attempt.

Every fetch, good or bad, becomes an ``ingest_runs`` row, so ``status`` can tell a quiet
day from a source that is down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol

from bot.errors import SourceError, SourceUnavailable, StoreError
from bot.model.papers import Paper
from bot.sources.snapshot import SnapshotSource
from bot.store.contract import Database
from bot.store.records import IngestRun

log = logging.getLogger(__name__)

# Daily Papers days run on US time; a day "tomorrow" in UTC terms is still plausible.
FUTURE_SLACK = timedelta(days=1)

Progress = Callable[[int, int], None]  # (days done, days in all)
# Recorded Daily Papers responses were fetched at about 07:45 UTC on their day.
RECORDED_AT = time(8, 0)


class DailySource(Protocol):
    async def daily(self, day: date) -> list[Paper]: ...


@dataclass(frozen=True, slots=True)
class IngestSummary:
    days: int
    papers: int
    new: int
    failed_days: tuple[tuple[date, str], ...] = ()
    notes: tuple[str, ...] = ()  # what was skipped, or where a file stopped being readable
    complete: bool = True  # False: a file could not be read to its end


def weekdays(start: date, end: date) -> list[date]:
    """Monday-to-Friday days from *start* to *end* inclusive (Daily Papers skips weekends)."""
    count = (end - start).days + 1
    days = (start + timedelta(days=i) for i in range(max(0, count)))
    return [d for d in days if d.weekday() < 5]


class Ingestor:
    """Writes papers from sources into the store, recording each run."""

    def __init__(self, *, store: Database, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    async def fetch_days(
        self,
        source: DailySource,
        days: Iterable[date],
        *,
        name: str = "hf",
        progress: Progress | None = None,
    ) -> IngestSummary:
        """Fetch each day from *source*; a failed day is recorded and the rest go on."""
        todo = list(days)
        papers = new = 0
        failed: list[tuple[date, str]] = []
        notes: list[str] = []
        for done, day in enumerate(todo, start=1):
            started = self._clock()
            try:
                batch = await source.daily(day)
            except SourceError as exc:
                log.warning("fetching %s failed: %s", day, exc)
                failed.append((day, str(exc)))
                await self._record(name, day, started, ok=False, papers=0, error=str(exc))
                if isinstance(exc, SourceUnavailable):
                    # Down after every retry: the other days would only wait out the same.
                    failed += [(d, "skipped: source unavailable") for d in todo[done:]]
                    break
            else:
                batch = self._present(batch, notes)
                try:
                    result = await self._store.papers.upsert(batch, seen_at=self._clock())
                except StoreError as exc:  # the day is recorded as failed; the others go on
                    log.error("storing %s failed: %s", day, exc)
                    failed.append((day, str(exc)))
                    await self._record(name, day, started, ok=False, papers=0, error=str(exc))
                else:
                    papers += len(batch)
                    new += result.new
                    await self._record(name, day, started, ok=True, papers=len(batch))
            if progress is not None:
                progress(done, len(todo))
        return IngestSummary(len(todo), papers, new, tuple(failed), tuple(notes))

    async def from_file(
        self, path: str | Path, *, progress: Progress | None = None, source_name: str = "snapshot"
    ) -> IngestSummary:
        """Load a recorded ``daily_papers`` array or JSON-lines archive (gzipped or not).

        Bad lines are skipped and a file that stops being readable half-way keeps what was
        read before; the summary's notes say what was skipped and where reading stopped."""
        started = self._clock()
        days = papers = new = 0
        source = SnapshotSource(path)
        notes: list[str] = []
        for day, batch in source.days():
            if day is not None and day > self._clock().date() + FUTURE_SLACK:
                notes.append(f"{day}: refused, a day in the future")
                continue
            kept = self._present(batch, notes)
            seen_at = datetime.combine(day, RECORDED_AT, UTC) if day else self._clock()
            result = await self._store.papers.upsert(kept, seen_at=seen_at)
            days, papers, new = days + 1, papers + len(kept), new + result.new
            if progress is not None:
                progress(days, 0)
        notes += source.problems
        complete = not any(note.startswith("reading stopped") for note in source.problems)
        await self._record(
            source_name,
            None,
            started,
            ok=complete,
            papers=papers,
            error=None if complete else source.problems[-1],
        )
        return IngestSummary(days, papers, new, (), tuple(notes), complete)

    def _present(self, batch: list[Paper], notes: list[str]) -> list[Paper]:
        """*batch* without papers dated in the future: a ``9999-12-31`` item would become
        "the latest day" and make every real day's digest say "nothing new"."""
        latest = self._clock().date() + FUTURE_SLACK
        kept = [p for p in batch if p.daily_day is None or p.daily_day <= latest]
        if len(kept) < len(batch):
            dropped = [p.id for p in batch if p.daily_day is not None and p.daily_day > latest]
            log.warning("refused %d paper(s) dated in the future: %s", len(dropped), dropped[:5])
            notes.append(f"{len(dropped)} paper(s) dated in the future refused")
        return kept

    async def _record(
        self,
        source: str,
        day: date | None,
        started: datetime,
        *,
        ok: bool,
        papers: int,
        error: str | None = None,
    ) -> None:
        await self._store.runs.record(
            IngestRun(source, day, started, self._clock(), ok, papers, error)
        )


REFRESH_DAYS = 3  # upvotes keep moving for days: refresh the previous few weekdays too


async def refresh_recent(
    ingestor: Ingestor, source: DailySource, now: datetime, *, days: int = REFRESH_DAYS
) -> IngestSummary:
    """Fetch today's Daily Papers and the previous *days* weekdays' (the scheduled ingest)."""
    today = now.date()
    return await ingestor.fetch_days(source, weekdays(today - timedelta(days=days + 2), today))
