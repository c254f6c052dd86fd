"""Clockwork: APScheduler as the alarm clock over the real dispatcher and store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.delivery.clockwork import Clockwork
from bot.delivery.courier import SendResult, SendStatus
from bot.delivery.dispatcher import Dispatcher
from bot.grammar.commands import parse_command
from bot.model.caller import Caller
from bot.model.delivery import Target
from bot.model.replies import Reply
from bot.service.papersbot import PapersBot
from bot.store import Store

MANAGER = Caller(
    platform="slack", user_id="U1", channel_id="C1", workspace_id="T1", can_manage=True
)


class Courier:
    platform = "slack"

    def __init__(self) -> None:
        self.posts: list[str] = []
        self.sent = asyncio.Event()

    async def send(self, target: Target, reply: Reply, key: str) -> SendResult:
        self.posts.append(str(key))
        self.sent.set()
        return SendResult(SendStatus.SENT, str(len(self.posts)))

    async def find_sent(self, target: Target, key: str, since: datetime) -> str | None:
        return None


class ShiftedClock:
    """Real time moved so that a chosen instant is a second or two away."""

    def __init__(self, instant: datetime) -> None:
        self.offset = instant - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def test_the_alarm_rings_at_the_fire_time_and_a_schedule_change_rearms_it(
    store: Store,
) -> None:
    clock = ShiftedClock(datetime(2026, 8, 19, 15, 59, 58, 500000, tzinfo=UTC))
    courier = Courier()
    dispatcher = Dispatcher(store, clock, {"slack": courier})
    clockwork = Clockwork(store, dispatcher, clock=clock)
    bot = PapersBot(store=store, clock=clock, on_schedule_change=clockwork.rearm)
    await clockwork.start()
    try:
        assert {job.id for job in clockwork.jobs()} == {"sweep", "housekeeping"}  # no alarm yet
        reply = await bot.run_command(parse_command("digest on at 16:00 tz UTC"), MANAGER)
        assert not reply.is_error
        await asyncio.sleep(0.1)  # the re-arm runs beside the command
        assert {job.id for job in clockwork.jobs()} == {"sweep", "housekeeping", "alarm"}
        await asyncio.wait_for(courier.sent.wait(), timeout=10)
        assert courier.posts == ["digest:2026-08-19"]
        await asyncio.sleep(0.2)
        alarm = next(job for job in clockwork.jobs() if job.id == "alarm")
        assert alarm.next_run_time > datetime.now(UTC) + timedelta(hours=23)  # tomorrow's
    finally:
        await clockwork.stop()
    assert clockwork.jobs() == []


async def test_start_refreshes_before_the_catch_up(store: Store) -> None:
    order: list[str] = []

    class Recording(Dispatcher):
        async def catch_up(self):  # type: ignore[no-untyped-def]
            order.append("catch-up")
            return await super().catch_up()

    async def refresh() -> None:
        await asyncio.sleep(0.05)
        order.append("refresh")

    dispatcher = Recording(store, lambda: datetime(2026, 8, 19, 15, tzinfo=UTC), {})
    clockwork = Clockwork(
        store, dispatcher, clock=lambda: datetime(2026, 8, 19, 15, tzinfo=UTC), refresh=refresh
    )
    await clockwork.start()
    try:
        assert order == ["refresh", "catch-up"]
        assert {job.id for job in clockwork.jobs()} == {"sweep", "housekeeping", "refresh"}
    finally:
        await clockwork.stop()
