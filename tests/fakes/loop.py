"""An asyncio event loop that keeps the test clock's time (:class:`ClockLoop`), for code that
waits on the loop's own timers and takes no clock argument (aiolimiter's ``AsyncLimiter``
reads ``loop.time()`` and wakes its waiters with ``loop.call_at``).

    clock = Clock()
    with asyncio.Runner(loop_factory=lambda: ClockLoop(clock)) as runner:
        runner.run(main())                   # main's sleeps and timers take no real time

``loop.time()`` is ``clock.monotonic()``, which counts whole microseconds. When nothing is
ready and the loop would block until its next timer, the clock moves to that timer instead
(up to the next whole microsecond) and the loop goes on at once. A timer fires at least a
microsecond after it was set, as on a real clock, where time passes between the two:
aiolimiter's float arithmetic can leave a waiter short by 1e-13 of a slot, and the wake-up
it then sets for "now" would find the same level at the same time, forever.

Only for code that waits on timers alone: with a socket read in flight, the loop would move
the clock past every pending timeout instead of waiting for the reply. When no timer is
pending at all, the loop blocks on its selector as usual.
"""

from __future__ import annotations

import asyncio
import math
import selectors
from collections.abc import Callable
from contextvars import Context
from typing import Any

from tests.fakes.clock import Clock

TICK = 1e-6  # the clock's resolution, in seconds
_NOISE = 1e-3  # of a tick: float error of readings near 3600 s (~1e-13 s), not a wait


class _Selector(selectors.DefaultSelector):
    """The platform's selector, except that a wait for a timer moves the clock instead."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None or timeout <= 0:
            return super().select(timeout)
        ready = super().select(0)
        if not ready:
            self._clock.advance(microseconds=math.ceil(timeout / TICK - _NOISE))
        return ready


class ClockLoop(asyncio.SelectorEventLoop):
    """A selector event loop on *clock*'s time (see the module docstring)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        super().__init__(_Selector(clock))

    def time(self) -> float:
        return self.clock.monotonic()

    def call_at(
        self,
        when: float,
        callback: Callable[..., object],
        *args: Any,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        """Schedule *callback* at *when*, but no earlier than the next tick."""
        return super().call_at(max(when, self.time() + TICK), callback, *args, context=context)
