"""A platform outage in the middle of a fan-out: what was sent stays sent, the rest is
delivered after recovery within the grace window, and nothing goes out twice."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

from bot.delivery.courier import SendResult, SendStatus
from bot.delivery.dispatcher import Dispatcher
from bot.model.delivery import DeliveryKey, Target
from bot.model.replies import Reply
from bot.service.papersbot import PapersBot
from bot.store import Store
from tests.fakes.clock import Clock
from tests.fakes.courier import RecordingCourier
from tests.kit import MANAGER, fresh_feed, say

CHANNELS = [f"C{n:02d}" for n in range(30)]


class FlakyPlatform(RecordingCourier):
    """Sends normally, except between *down_from* sends and the clock reaching *up_at*:
    then every send is a 503 (RETRY) and every look-up works (the history is readable)."""

    def __init__(self, clock: Clock, *, down_after: int, up_at: datetime) -> None:
        super().__init__(clock)
        self.down_after = down_after
        self.up_at = up_at
        self.refused = 0

    async def send(self, target: Target, reply: Reply, key: DeliveryKey) -> SendResult:
        if len(self.posts) >= self.down_after and self.clock() < self.up_at:
            self.refused += 1
            return SendResult(SendStatus.RETRY, detail="HTTP 503", retry_after=None)
        return await super().send(target, reply, key)


async def test_an_hour_long_outage_mid_fan_out_delays_but_never_doubles(
    store: Store, clock: Clock
) -> None:
    bot = PapersBot(store=store, clock=clock)
    for n, channel in enumerate(CHANNELS):  # a manager per channel (commands are budgeted)
        manager = replace(MANAGER, channel_id=channel, user_id=f"U{n}")
        await say(bot, "digest on at 16:00 tz UTC top 3", manager)
    await fresh_feed(store, clock.now)
    clock.advance(hours=1, minutes=1)  # 16:01: all 30 are due
    platform = FlakyPlatform(clock, down_after=10, up_at=clock.now.replace(hour=17, minute=5))
    dispatcher = Dispatcher(store, clock, {"slack": platform})
    first = await dispatcher.tick()
    assert first.sent == 10
    assert first.retrying == 20
    while clock.now < clock.now.replace(hour=18):  # a tick every 5 minutes for 2 hours
        clock.advance(minutes=5)
        await dispatcher.tick()
    assert platform.refused >= 20
    per_channel = Counter(post.address for post in platform.posts)
    assert per_channel == Counter(CHANNELS)  # every channel once: none lost, none doubled
    rows = await store.ledger.recent(list(range(1, 31)), since=clock.now.replace(hour=0))
    assert {row.state for row in rows} == {"sent"}
