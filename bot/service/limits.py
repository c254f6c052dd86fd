"""Per-user command budgets, so a flood of commands cannot monopolise the bot.

A token bucket per key (platform and user id): *burst* commands at once, refilled at
*per_minute*. It only answers yes or no (callers answer "slow down"); pacing of outgoing
platform traffic is the adapters' job. Time comes from an injected monotonic clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MAX_KEYS = 10_000


class CommandBudget:
    """Allow at most *burst* commands at once per key, refilled at *per_minute*."""

    def __init__(
        self,
        *,
        burst: int = 10,
        per_minute: float = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._burst = float(burst)
        self._rate = per_minute / 60
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str) -> float:
        """Spend one command for *key*: 0 if allowed, else seconds until one is available."""
        now = self._clock()
        tokens, at = self._buckets.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - at) * self._rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self._rate
        if len(self._buckets) >= MAX_KEYS and key not in self._buckets:
            self._forget_full(now)
        self._buckets[key] = (tokens - 1, now)
        return 0.0

    def tracked(self) -> int:
        """How many keys the budget holds a bucket for (what :data:`MAX_KEYS` bounds)."""
        return len(self._buckets)

    def _forget_full(self, now: float) -> None:
        """Drop keys whose buckets have refilled: they carry no information."""
        for key, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self._rate >= self._burst:
                del self._buckets[key]
