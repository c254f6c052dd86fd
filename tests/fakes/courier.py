"""The one recording courier (:class:`bot.delivery.courier.Courier`) for the core's tests.

It records what a platform would have received, keyed by :class:`DeliveryKey` values and
stamped with the test clock, and finds a post again by its key and time as the real couriers
do (Slack message metadata, Discord markers, both read from the history since a time).
Knobs: send results to return instead of sending (``fail_with``) and look-ups that raise
:class:`LookupFailed` first (``lookup_failures``). The platform couriers themselves are
tested against loopback fakes in ``tests/adapters/``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from bot.delivery.courier import LookupFailed, SendResult, SendStatus
from bot.model.delivery import DeliveryKey, Target
from bot.model.replies import Reply


class Post(NamedTuple):
    """One message the platform received."""

    address: str
    key: DeliveryKey
    reply: Reply
    at: datetime


class RecordingCourier:
    """Records every send at *clock*'s time; can fail on demand; finds its own posts."""

    def __init__(self, clock: Callable[[], datetime], *, platform: str = "slack") -> None:
        self.platform = platform
        self.clock = clock
        self.posts: list[Post] = []
        self.fail_with: list[SendResult] = []  # returned, in order, before anything is sent
        self.lookups = 0
        self.lookup_failures = 0  # how many look-ups raise LookupFailed first

    async def send(self, target: Target, reply: Reply, key: DeliveryKey) -> SendResult:
        if self.fail_with:
            return self.fail_with.pop(0)
        self.posts.append(Post(target.address, key, reply, self.clock()))
        return SendResult(SendStatus.SENT, f"m{len(self.posts)}")

    async def find_sent(self, target: Target, key: DeliveryKey, since: datetime) -> str | None:
        self.lookups += 1
        if self.lookup_failures:
            self.lookup_failures -= 1
            raise LookupFailed("history unavailable")
        for i, post in enumerate(self.posts, start=1):
            if post.address == target.address and post.key == key and post.at >= since:
                return f"m{i}"
        return None

    def sent_keys(self) -> list[DeliveryKey]:
        """The keys of every post, in order."""
        return [post.key for post in self.posts]
