"""``papersbot demo --simulate 3d``: watch scheduled posts fire, offline, in seconds.

A fast-forward over real recorded days. The bundled snapshot is loaded up to a start day;
the days after it are held back and "published" at :data:`PUBLISH_AT` UTC on their own
date, as Hugging Face does. A simulated clock then steps through the window every
:data:`STEP`, and the real dispatcher (the same one `papersbot run` uses) plans and
delivers whatever fell due, through the terminal's courier. Nothing is sleeping: the clock is
injected, which is exactly how the tests drive time.

Weekend days publish nothing, so a ``weekdays`` digest stays quiet and a ``daily`` one
says there was nothing new; the feed is reported fresh (a refresh ran), so nothing claims
the source is down.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from bot.delivery.dispatcher import Dispatcher, TickReport
from bot.errors import UserInputError
from bot.model.replies import Reply
from bot.sources.snapshot import SnapshotSource
from bot.store.contract import Database
from bot.store.records import IngestRun

STEP = timedelta(minutes=15)
PUBLISH_AT = time(6, 0)  # UTC: Daily Papers for day D appear early on D
MAX_SPAN = timedelta(days=14)
DEFAULT_SCRIPT = (
    "digest on at 09:00 tz Europe/Berlin weekdays top 3",
    "subscribe diffusion OR video at 08:00 tz Europe/Berlin daily",
    "subscribe language model at 18:00 tz America/New_York weekdays",
)
_SPAN = re.compile(r"(\d{1,3})\s*([hdwmy])")
# The units of `since:` (d, w, m, y; a month is 30 days), plus hours.
_SPAN_HOURS = {"h": 1, "d": 24, "w": 7 * 24, "m": 30 * 24, "y": 365 * 24}


def parse_span(text: str) -> timedelta:
    """``36h``, ``3d`` or ``2w`` (the units of ``since:``, plus hours), at most
    :data:`MAX_SPAN`."""
    found = _SPAN.fullmatch(text.strip().lower())
    if not found:
        raise UserInputError(
            f"`{text}` is not a span; use hours, days or weeks, like `36h`, `3d` or `2w`."
        )
    span = timedelta(hours=int(found[1]) * _SPAN_HOURS[found[2]])
    if not timedelta(hours=1) <= span <= MAX_SPAN:
        raise UserInputError(
            f"`{text.strip()}` is too long or too short; simulate between 1 hour and 14 days."
        )
    return span


def plural(count: int, noun: str) -> str:
    """``1 day``, ``2 days``, ``0 posts``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def span_words(span: timedelta) -> str:
    """``1 day``, ``3 days``, ``36 hours``, ``1 hour``."""
    hours = int(span.total_seconds() // 3600)
    return plural(hours // 24, "day") if hours % 24 == 0 else plural(hours, "hour")


class SimClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def split_snapshot(path: Path, span: timedelta) -> tuple[date, list[date]]:
    """The start day and the recorded days to hold back: the start is the recorded day
    whose window ``(start, start + span]`` holds the most recorded days (latest on ties)."""
    days = sorted(day for day, _ in SnapshotSource(path).days() if day is not None)
    if len(days) < 2:
        raise UserInputError("The snapshot needs at least two recorded days to simulate.")

    def inside(start: date) -> list[date]:
        return [d for d in days if start < d <= start + span]

    start = max(days[:-1], key=lambda d: (len(inside(d)), d))
    return start, inside(start)


@dataclass(frozen=True, slots=True)
class Simulation:
    """A fast-forward of *span* over the recorded days of *snapshot*.

    :meth:`plan` picks the window and makes the simulated :attr:`clock`, so the composition
    root can build the app (store, bot, dispatcher) on that clock exactly as ``run`` builds
    it on the wall clock; :meth:`run` then drives that dispatcher.
    """

    snapshot: Path
    span: timedelta
    start_day: date
    held: tuple[date, ...]  # recorded days "published" during the run
    clock: SimClock

    @classmethod
    def plan(cls, snapshot: Path, span: timedelta) -> Simulation:
        start_day, held = split_snapshot(snapshot, span)
        clock = SimClock(datetime.combine(start_day, time(12, 0), UTC))
        return cls(snapshot, span, start_day, tuple(held), clock)

    async def run(
        self,
        store: Database,
        dispatcher: Dispatcher,
        *,
        say: Callable[[str], Awaitable[Reply | None]],
        script: Sequence[str] = DEFAULT_SCRIPT,
        show: Callable[[Reply], None],
        announce: Callable[[str], None],
    ) -> TickReport:
        """Load the days up to the start, run *script* through *say*, then step the clock
        through the window, publishing held days and ticking *dispatcher*; returns the
        summed delivery report."""
        source = SnapshotSource(self.snapshot)
        clock = self.clock
        for day, batch in source.days():
            if day is not None and day <= self.start_day:
                await store.papers.upsert(batch, seen_at=datetime.combine(day, PUBLISH_AT, UTC))
        await _fresh(store, clock.now, 0)
        held = ", ".join(f"{d:%a %d %b}" for d in self.held) or "none"
        announce(
            f"Simulating {span_words(self.span)} from {clock.now:%a %d %b %Y %H:%M} UTC; "
            f"recorded days to publish: {held}."
        )
        for line in script:
            announce(f"papers> {line}")
            if (reply := await say(line)) is not None:
                show(reply)
        total = TickReport()
        end = clock.now + self.span
        while clock.now < end:
            clock.now += STEP
            await self._publish(store, source, announce)
            report = await dispatcher.tick()
            for name in ("planned", "missed", "sent", "silent", "retrying", "failed"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
        return total

    async def _publish(
        self, store: Database, source: SnapshotSource, announce: Callable[[str], None]
    ) -> None:
        """At :data:`PUBLISH_AT` on a held day, store that day's papers (and a fresh run)."""
        now = self.clock.now
        today = now.date()
        if now.time() < PUBLISH_AT or now - STEP >= datetime.combine(today, PUBLISH_AT, UTC):
            return
        batch = await source.daily(today) if today in self.held else []
        if batch:
            await store.papers.upsert(batch, seen_at=now)
            announce(
                f"{now:%a %d %b %H:%M} UTC · Daily Papers {today}: {len(batch)} papers published"
            )
        await _fresh(store, now, len(batch))


async def _fresh(store: Database, now: datetime, papers: int) -> None:
    await store.runs.record(IngestRun("snapshot", now.date(), now, now, True, papers, None))
