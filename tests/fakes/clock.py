"""The one test clock: time that moves only when a test (or a sleep or loop it injected) moves it.

    clock = Clock()                                  # Wednesday 2026-08-19 15:00 UTC
    PapersBot(store=store, clock=clock)              # where code asks "what time is it?"
    CommandBudget(clock=clock.monotonic)             # where it measures intervals
    Pacer(3.0, clock=clock.monotonic, sleep=clock.sleep)  # where it waits
    ClockLoop(clock)                                 # an event loop on it (tests/fakes/loop.py)
    clock.advance(hours=1)

The wall reading and the monotonic reading are the same time, so a test that advances one
advances both; a sleep advances the clock by what was asked and returns at once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

# Wednesday afternoon; the bundled snapshot's latest Daily Papers day is 2026-08-19.
START = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)
# Monotonic readings count seconds from an hour before START, as from a machine's boot: code
# that treats 0.0 as "never" (a pacer's last send) sees a time that has passed.
_BOOT = START - timedelta(hours=1)


class Clock:
    """A settable clock: call it for the time, :meth:`advance` it, or let :meth:`sleep` do."""

    def __init__(self, now: datetime = START) -> None:
        if now.tzinfo is None:
            raise ValueError("the test clock keeps aware times (UTC)")
        self.now = now
        self.sleeps: list[float] = []  # every sleep asked for, in order

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward by ``timedelta(**delta)``."""
        self.now += timedelta(**delta)

    def monotonic(self) -> float:
        """The same time as a monotonic reading in seconds (for pacers and budgets)."""
        return (self.now - _BOOT).total_seconds()

    async def sleep(self, seconds: float) -> None:
        """Record the wait and move the clock by it, without waiting; still a suspension
        point, as a real sleep is, so other tasks run in between."""
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=max(0.0, seconds))
        await asyncio.sleep(0)
