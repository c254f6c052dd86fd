"""Two dispatchers on one database (two processes, or a restart while the old one is still
sending): claims are leases, so neither takes over rows the other is sending, and every
post goes out once. The process lock refuses the second 'run' anyway; this is the layer
under it (tests/bot/store/test_lock.py)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from bot.delivery.courier import SendResult
from bot.delivery.dispatcher import Dispatcher
from bot.model.delivery import DeliveryKey, Target
from bot.model.replies import Reply
from bot.service.papersbot import PapersBot
from bot.store import Store
from tests.fakes.clock import Clock
from tests.fakes.courier import RecordingCourier
from tests.kit import MANAGER, fresh_feed, say


class HeldCourier(RecordingCourier):
    """Records like the test courier, but each send waits until the test lets it go."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def send(self, target: Target, reply: Reply, key: DeliveryKey) -> SendResult:
        self.entered.set()
        await self.gate.wait()
        return await super().send(target, reply, key)


async def test_a_second_dispatcher_does_not_take_over_rows_being_sent(
    store: Store, clock: Clock, tmp_path: Path
) -> None:
    bot = PapersBot(store=store, clock=clock)
    channels = [f"C{n}" for n in range(1, 6)]
    for channel in channels:
        await say(bot, "digest on at 16:00 tz UTC top 2", replace(MANAGER, channel_id=channel))
    await fresh_feed(store, clock.now)
    clock.advance(hours=1, minutes=1)
    first = HeldCourier(clock)
    sending = asyncio.create_task(Dispatcher(store, clock, {"slack": first}).tick())
    await first.entered.wait()  # the first process has claimed its rows and is sending
    other_store = await Store.open(tmp_path / "papers.db")  # the second process's connection
    try:
        second = RecordingCourier(clock)
        report = await Dispatcher(other_store, clock, {"slack": second}).catch_up()
    finally:
        await other_store.close()
    first.gate.set()
    done = await sending
    assert second.posts == []  # it planned nothing new and took over nothing
    assert report.sent == report.found_already_sent == 0
    assert sorted(post.address for post in first.posts) == channels
    assert done.sent == len(channels)


class SlowCourier(RecordingCourier):
    """Records like the test courier, but each send takes a moment (a real network call)."""

    async def send(self, target: Target, reply: Reply, key: DeliveryKey) -> SendResult:
        await asyncio.sleep(0.01)
        return await super().send(target, reply, key)


async def test_two_senders_split_the_due_rows_and_post_each_once(
    store: Store, clock: Clock
) -> None:
    """Senders claim a few targets at a time (claim_due), so two of them share the work.
    Both are on one SQLite connection here: SQLite is one process per database, and two
    connections writing at once fail with "database is locked" at once, with or without
    this sender. Across processes, on PostgreSQL: tests/bot/store/pg/test_claims.py."""
    bot = PapersBot(store=store, clock=clock)
    channels = [f"C{n}" for n in range(1, 13)]
    for n, channel in enumerate(channels):  # a manager each: commands are rate limited
        manager = replace(MANAGER, channel_id=channel, user_id=f"U{n}")
        await say(bot, "digest on at 16:00 tz UTC top 2", manager)
    await fresh_feed(store, clock.now)
    clock.advance(hours=1, minutes=1)
    await Dispatcher(store, clock, {}).plan()
    couriers = [SlowCourier(clock), SlowCourier(clock)]
    reports = await asyncio.gather(
        *(Dispatcher(store, clock, {"slack": c}, concurrency=2).tick() for c in couriers)
    )
    posted = [post.address for courier in couriers for post in courier.posts]
    assert sorted(posted) == sorted(channels)  # every channel once, across both
    assert all(len(courier.posts) >= 3 for courier in couriers)  # both did a fair part
    assert sum(report.sent for report in reports) == len(channels)


async def test_rows_wait_for_a_process_with_a_courier_for_their_platform(
    store: Store, clock: Clock
) -> None:
    bot = PapersBot(store=store, clock=clock)
    await say(bot, "digest on at 16:00 tz UTC top 2")
    await fresh_feed(store, clock.now)
    clock.advance(hours=1, minutes=1)
    discord_only = RecordingCourier(clock, platform="discord")
    report = await Dispatcher(store, clock, {"discord": discord_only}).tick()
    assert (report.sent, report.retrying, report.failed) == (0, 0, 0)
    [waiting] = await store.ledger.open_deliveries(now=clock.now)
    assert (waiting.state, waiting.attempts, waiting.last_error) == ("pending", 0, None)
    slack = RecordingCourier(clock)
    assert (await Dispatcher(store, clock, {"slack": slack}).tick()).sent == 1
    assert [post.address for post in slack.posts] == ["C1"]
