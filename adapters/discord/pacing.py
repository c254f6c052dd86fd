"""Pacing requests under Discord's rate limits (:class:`Pacer`).

Discord allows 50 requests per second per bot, counting every request. Every request the
:class:`~adapters.discord.delivery.Deliverer` makes (opening a DM, each message part, each
history page) takes a slot of one leaky bucket of 48 per second holding at most 2, so no
one-second span holds more than 50; message posts can also be held to 5 per 5 s per channel.
"""

from __future__ import annotations

from aiolimiter import AsyncLimiter

GLOBAL_PER_SECOND = 48.0  # of Discord's 50: headroom for jitter between here and Discord
CHANNEL_MESSAGES, CHANNEL_PERIOD = 5, 5.0  # Discord's per-channel message bucket
_CHANNEL_LIMITERS = 1024  # idle per-channel buckets are dropped past this many


class Pacer:
    """Slots for requests: one leaky bucket for all of them, one more per channel for posts.

    The global bucket holds only *burst* requests (``AsyncLimiter(per_second, 1)`` would let
    ``2 × per_second`` through in the first second), so any one-second span holds at most
    ``per_second + burst``. Two rather than one, so that a slot the event loop wakes late
    is made up by the next and the pace really is *per_second* (with one, about 1 ms was
    lost per slot: 45.5/s for 48). Channel buckets allow *channel_messages* at once, then
    one per ``channel_period / channel_messages`` seconds; ``channel_messages=None`` leaves
    per-channel pacing to discord.py, which follows the bucket headers Discord sends.
    """

    def __init__(
        self,
        per_second: float = GLOBAL_PER_SECOND,
        *,
        burst: int = 2,
        channel_messages: int | None = CHANNEL_MESSAGES,
        channel_period: float = CHANNEL_PERIOD,
    ) -> None:
        self.per_second, self.burst = per_second, burst
        self._global = AsyncLimiter(burst, burst / per_second)
        self._channel_rate = (channel_messages, channel_period)
        self._channels: dict[int, AsyncLimiter] = {}

    async def request(self) -> None:
        """Wait for the next global slot; the caller then makes one request."""
        await self._global.acquire()

    async def message(self, channel_id: int) -> None:
        """Wait for *channel_id*'s bucket, then for a global slot; then post one message."""
        messages, period = self._channel_rate
        limiter = self._channels.get(channel_id)
        if limiter is None and messages is not None:
            if len(self._channels) >= _CHANNEL_LIMITERS:
                self._channels = {
                    k: v for k, v in self._channels.items() if not v.has_capacity(v.max_rate)
                }
            limiter = self._channels[channel_id] = AsyncLimiter(messages, period)
        if limiter is not None:
            await limiter.acquire()
        await self._global.acquire()
