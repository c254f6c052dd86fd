"""Pacing Slack posts: about one message per second per channel (:class:`ChannelPacer`).

Slack asks for no more than one ``chat.postMessage`` per second per channel. Nothing is
dropped: a paced message waits its turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager


class ChannelPacer:
    """At most one message per *interval* seconds per channel, first come first served.

    One ``asyncio.Lock`` per channel keeps order; a monotonic clock measures the gap since
    that channel's previous send finished. *clock* and *sleep* are injectable for tests.
    """

    def __init__(
        self,
        interval: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    @asynccontextmanager
    async def slot(self, channel: str) -> AsyncIterator[None]:
        """Wait for *channel*'s turn; the body sends one message."""
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            last = self._last.get(channel)
            if last is not None and (wait := last + self.interval - self._clock()) > 0:
                await self._sleep(wait)
            try:
                yield
            finally:
                self._last[channel] = self._clock()
