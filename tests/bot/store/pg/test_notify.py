"""The triggers that wake other processes: a planned delivery notifies ``papersbot_due`` (the
followers' senders claim it), and any change to a subscription or a channel digest
notifies ``papersbot_schedules`` (the leader re-arms its alarm)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import pytest

from bot.model.delivery import DeliveryKey
from bot.model.schedule import Schedule
from bot.store.pg.db import PgStore
from bot.store.records import ChannelDigest

T0 = datetime(2026, 8, 19, 7, 0, tzinfo=UTC)
DAILY = Schedule(time(9, 0), "Asia/Tokyo", "daily")
CHANNELS = ("papersbot_due", "papersbot_schedules")


class Listener:
    """A connection LISTENing on both channels; what arrived, in order."""

    def __init__(self) -> None:
        self.heard: asyncio.Queue[str] = asyncio.Queue()

    def __call__(self, conn: object, pid: int, channel: str, payload: object) -> None:
        self.heard.put_nowait(channel)

    async def after(self, action: Awaitable[object]) -> list[str]:
        """The channels notified by *action* (each notification is sent at its commit)."""
        await action
        heard = [await asyncio.wait_for(self.heard.get(), timeout=5)]
        await asyncio.sleep(0.1)  # anything else it sent arrives by now
        while not self.heard.empty():
            heard.append(self.heard.get_nowait())
        return heard


@pytest.fixture
async def store(pg_dsn: str) -> AsyncIterator[PgStore]:
    opened = await PgStore.open(pg_dsn, pool_size=2)
    yield opened
    await opened.close()


@pytest.fixture
async def listener(pg_dsn: str, store: PgStore) -> AsyncIterator[Listener]:
    listening = Listener()
    conn = await asyncpg.connect(pg_dsn)
    for channel in CHANNELS:
        await conn.add_listener(channel, listening)
    yield listening
    await conn.close()


async def test_planned_deliveries_wake_the_senders(store: PgStore, listener: Listener) -> None:
    target = await store.targets.ensure("slack", "T1", "channel", "C1")
    key = DeliveryKey.digest(date(2026, 8, 19))
    assert await listener.after(store.ledger.plan(target.id, key, due_at=T0)) == ["papersbot_due"]
    batch = [(target.id, DeliveryKey.dm(n, date(2026, 8, 19)), T0, False) for n in range(50)]
    # One statement, one notification, however many rows it planned.
    assert await listener.after(store.ledger.plan_many(batch, missed_reason="")) == [
        "papersbot_due"
    ]


async def test_schedule_changes_rearm_the_alarm(store: PgStore, listener: Listener) -> None:
    schedules = store.schedules
    user = await store.targets.ensure("slack", "T1", "user", "U1")
    channel = await store.targets.ensure("slack", "T1", "channel", "C1")
    heard = ["papersbot_schedules"]
    sub = await schedules.add_subscription(user.id, "llm", DAILY, now=T0, next_fire=T0, limit=5)
    assert sub is not None
    assert await listener.after(asyncio.sleep(0)) == heard  # the subscribe
    moved = [(sub.id, T0, T0 + timedelta(days=1))]
    assert await listener.after(schedules.advance_many("sub", moved)) == heard
    digest = ChannelDigest(channel.id, DAILY, 5, "", 0, "note", "U1", T0, T0)
    assert await listener.after(schedules.set_digest(digest)) == heard
    assert await listener.after(schedules.remove_digest(channel.id)) == heard
    assert await listener.after(schedules.remove_subscriptions(user.id, None)) == heard
