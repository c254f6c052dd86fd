"""Clockwork: APScheduler as the alarm clock over the real dispatcher and store.

Time is the test clock: APScheduler's jobs are real and inspected, but the alarm is rung
with :meth:`Clockwork.ring` (what its job runs) at the instant :attr:`Clockwork.alarm_at`
names, instead of waiting for the wall clock to get there.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from bot.delivery.clockwork import Clockwork
from bot.delivery.dispatcher import Dispatcher, TickReport
from bot.model.delivery import DeliveryKey
from bot.service.papersbot import PapersBot
from bot.store import Store
from tests.fakes.clock import Clock
from tests.fakes.courier import RecordingCourier
from tests.kit import say

WED = date(2026, 8, 19)


async def test_the_alarm_rings_at_the_fire_time_and_a_schedule_change_rearms_it(
    store: Store, clock: Clock, courier: RecordingCourier
) -> None:
    dispatcher = Dispatcher(store, clock, {"slack": courier})
    clockwork = Clockwork(store, dispatcher, clock=clock)
    bot = PapersBot(store=store, clock=clock, on_schedule_change=clockwork.rearm)
    await clockwork.start()
    try:
        assert {job.id for job in clockwork.jobs()} == {"sweep", "housekeeping"}  # no alarm yet
        assert clockwork.alarm_at is None
        await say(bot, "digest on at 16:00 tz UTC")
        await clockwork.rearmed()  # the re-arm runs beside the command
        assert {job.id for job in clockwork.jobs()} == {"sweep", "housekeeping", "alarm"}
        assert clockwork.alarm_at == datetime(2026, 8, 19, 16, tzinfo=UTC)
        alarm = next(job for job in clockwork.jobs() if job.id == "alarm")
        assert alarm.func == clockwork.ring  # what APScheduler runs at the fire time
        clock.advance(minutes=30)
        await clockwork.ring()  # early: nothing is due yet, and the alarm stays put
        assert courier.posts == []
        assert clockwork.alarm_at == datetime(2026, 8, 19, 16, tzinfo=UTC)
        clock.advance(minutes=30)
        await clockwork.ring()
        assert courier.sent_keys() == [DeliveryKey.digest(WED)]
        assert clockwork.alarm_at == datetime(2026, 8, 20, 16, tzinfo=UTC)  # tomorrow's
        assert "alarm" in {job.id for job in clockwork.jobs()}
        await say(bot, "digest off")
        await clockwork.rearmed()
        assert clockwork.alarm_at is None
        assert {job.id for job in clockwork.jobs()} == {"sweep", "housekeeping"}
    finally:
        await clockwork.stop()
    assert clockwork.jobs() == []


async def test_start_refreshes_before_the_catch_up(store: Store, clock: Clock) -> None:
    order: list[str] = []
    refreshing, refreshed = asyncio.Event(), asyncio.Event()

    class Recording(Dispatcher):
        async def catch_up(self) -> TickReport:
            order.append("catch-up")
            return await super().catch_up()

    async def refresh() -> None:
        refreshing.set()
        await refreshed.wait()
        order.append("refresh")

    clockwork = Clockwork(store, Recording(store, clock, {}), clock=clock, refresh=refresh)
    starting = asyncio.create_task(clockwork.start())
    try:
        await refreshing.wait()
        assert order == []  # the catch-up waits for the refresh
        assert not starting.done()
        refreshed.set()
        await starting
        assert order == ["refresh", "catch-up"]
        assert {job.id for job in clockwork.jobs()} == {"sweep", "housekeeping", "refresh"}
    finally:
        await clockwork.stop()
