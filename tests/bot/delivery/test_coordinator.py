"""The coordinator: the leading process runs the clockwork, the others send their share.

On SQLite the one process always leads. Leadership changes hands here through ``Baton``, a
stand-in for :class:`~bot.store.contract.Leadership` whose holder the test decides (the
real lock on PostgreSQL is tested in tests/bot/store/pg); the dispatcher, clockwork, store
and courier are the real ones.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import date

from bot.delivery.clockwork import Clockwork
from bot.delivery.coordinator import Coordinator
from bot.delivery.dispatcher import Dispatcher
from bot.model.delivery import DeliveryKey
from bot.service.papersbot import PapersBot
from bot.store import Store
from tests.fakes.clock import Clock
from tests.fakes.courier import RecordingCourier
from tests.kit import say

WED = date(2026, 8, 19)


class Baton:
    """Leadership the test hands out: ``held`` says whether this process leads."""

    retry = 0.02

    def __init__(self) -> None:
        self.held = False
        self.closed = False
        self.relay: Callable[[], None] | None = None

    async def try_lead(self) -> bool:
        return self.held

    async def holding(self) -> bool:
        return self.held

    async def wait_for_work(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def on_schedule_change(self, callback: Callable[[], None] | None) -> None:
        self.relay = callback

    async def close(self) -> None:
        self.closed = True


async def until(check: Callable[[], bool], seconds: float = 10) -> None:
    """Poll *check* (state another task changes) until it holds."""
    async with asyncio.timeout(seconds):
        while not check():  # noqa: ASYNC110 - nothing to wait on but the state itself
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(coordinator: Coordinator) -> AsyncIterator[None]:
    task = asyncio.create_task(coordinator.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_only_sqlite_process_leads_and_runs_the_clockwork(
    store: Store, clock: Clock
) -> None:
    clockwork = Clockwork(store, Dispatcher(store, clock, {}), clock=clock)
    coordinator = Coordinator(clockwork, Dispatcher(store, clock, {}), store.leadership())
    assert coordinator.ticked_ago is None
    async with running(coordinator):
        await until(lambda: clockwork.running and coordinator.ticked_ago is not None)
        assert coordinator.leading
    assert not clockwork.running
    assert not coordinator.leading


async def test_a_follower_sends_what_the_leader_planned_then_leads_when_handed_the_lead(
    store: Store, clock: Clock, courier: RecordingCourier
) -> None:
    dispatcher = Dispatcher(store, clock, {"slack": courier})
    clockwork = Clockwork(store, dispatcher, clock=clock)
    baton = Baton()
    coordinator = Coordinator(clockwork, dispatcher, baton)
    bot = PapersBot(store=store, clock=clock)
    await say(bot, "digest on at 16:00 tz UTC")
    clock.advance(hours=1)  # 16:00: due
    elsewhere = Dispatcher(store, clock, {})  # the leading process, with no courier here
    assert (await elsewhere.plan()).planned == 1
    async with running(coordinator):
        # the pass that sent it ends, and readiness sees the follower work
        await until(lambda: coordinator.ticked_ago is not None)
        assert courier.sent_keys() == [DeliveryKey.digest(WED)]
        assert not clockwork.running
        assert not coordinator.leading
        baton.held = True
        await until(lambda: clockwork.running)
        assert coordinator.leading
        assert baton.relay == clockwork.rearm
        baton.held = False  # the session that held the lock is gone
        await until(lambda: not clockwork.running)
        assert not coordinator.leading
    assert baton.closed
    assert courier.sent_keys() == [DeliveryKey.digest(WED)]  # once, whoever sent it
