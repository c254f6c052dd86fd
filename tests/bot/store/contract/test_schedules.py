"""Subscriptions and channel digests on both stores: the limit, what is due, the alarm,
and moving ``next_fire`` on without undoing a command's change."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, time, timedelta

import asyncpg

from bot.model.schedule import Schedule
from bot.store import Database, is_postgres
from bot.store.records import ChannelDigest

T0 = datetime(2026, 8, 19, 7, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
PARIS = Schedule(time(8, 30), "Europe/Paris", "weekly", 2)
TOKYO = Schedule(time(9, 0), "Asia/Tokyo", "daily")


def digest(target_id: int, next_fire: datetime, *, top_n: int = 5) -> ChannelDigest:
    return ChannelDigest(
        target_id=target_id,
        schedule=TOKYO,
        top_n=top_n,
        filter="llm",
        min_upvotes=3,
        empty_days="silent",
        owner="U1",
        created_at=T0,
        next_fire=next_fire,
    )


async def test_subscriptions_round_trip_and_keep_to_the_limit(database: Database) -> None:
    schedules = database.schedules
    target = await database.targets.ensure("slack", "T1", "user", "U1")
    other = await database.targets.ensure("slack", "T1", "user", "U2")
    first = await schedules.add_subscription(
        target.id, "diffusion", PARIS, now=T0, next_fire=T0 + HOUR, limit=2
    )
    assert first is not None
    assert (first.target_id, first.query, first.schedule) == (target.id, "diffusion", PARIS)
    assert (first.created_at, first.next_fire) == (T0, T0 + HOUR)
    second = await schedules.add_subscription(
        target.id, "agents", TOKYO, now=T0, next_fire=T0 + 2 * HOUR, limit=2
    )
    assert second is not None
    assert second.id > first.id
    assert (
        await schedules.add_subscription(target.id, "x", TOKYO, now=T0, next_fire=T0, limit=2)
        is None
    )
    theirs = await schedules.add_subscription(other.id, "x", TOKYO, now=T0, next_fire=T0, limit=2)
    assert theirs is not None

    assert await schedules.subscriptions_of(target.id) == [first, second]
    assert await schedules.subscription(first.id) == first
    assert await schedules.subscriptions_by_id([theirs.id, first.id, 999]) == [first, theirs]
    assert await schedules.subscriptions_by_id([]) == []
    assert await schedules.subscription_ids() == {first.id, second.id, theirs.id}
    assert await schedules.all_subscriptions() == [first, second, theirs]

    assert await schedules.remove_subscriptions(target.id, theirs.id) == []  # not theirs
    assert await schedules.remove_subscriptions(target.id, first.id) == [first.id]
    assert await schedules.subscription(first.id) is None
    assert await schedules.remove_subscriptions(target.id, None) == [second.id]
    assert await schedules.all_subscriptions() == [theirs]


async def test_a_flood_of_subscribes_stays_within_the_limit(database: Database) -> None:
    target = await database.targets.ensure("slack", "T1", "user", "U1")
    made = await asyncio.gather(
        *(
            database.schedules.add_subscription(
                target.id, f"q{n}", TOKYO, now=T0, next_fire=T0, limit=3
            )
            for n in range(12)
        )
    )
    assert sum(sub is not None for sub in made) == 3
    assert len(await database.schedules.subscriptions_of(target.id)) == 3


async def test_digests_are_set_replaced_and_removed(database: Database) -> None:
    schedules = database.schedules
    target = await database.targets.ensure("slack", "T1", "channel", "C1")
    assert await schedules.digest(target.id) is None
    first = await schedules.set_digest(digest(target.id, T0 + HOUR))
    assert first == digest(target.id, T0 + HOUR)
    replaced = await schedules.set_digest(digest(target.id, T0 + 2 * HOUR, top_n=9))
    assert (replaced.top_n, replaced.next_fire) == (9, T0 + 2 * HOUR)
    assert await schedules.digest(target.id) == replaced
    assert await schedules.remove_digest(target.id)
    assert not await schedules.remove_digest(target.id)
    assert await schedules.digest(target.id) is None


async def test_what_is_due_and_when_the_alarm_rings(database: Database) -> None:
    schedules = database.schedules
    assert await schedules.earliest_fire() is None
    user = await database.targets.ensure("slack", "T1", "user", "U1")
    channels = [await database.targets.ensure("slack", "T1", "channel", f"C{n}") for n in range(3)]
    late = await schedules.add_subscription(
        user.id, "late", TOKYO, now=T0, next_fire=T0 + HOUR, limit=5
    )
    early = await schedules.add_subscription(
        user.id, "early", TOKYO, now=T0, next_fire=T0 - HOUR, limit=5
    )
    assert late is not None
    assert early is not None
    assert await schedules.earliest_fire() == T0 - HOUR
    for n, channel in enumerate(channels):
        await schedules.set_digest(digest(channel.id, T0 - timedelta(minutes=90 - n)))
    assert await schedules.earliest_fire() == T0 - timedelta(minutes=90)

    assert [s.id for s in await schedules.due_subscriptions(T0)] == [early.id]
    assert [s.id for s in await schedules.due_subscriptions(T0 + HOUR)] == [early.id, late.id]
    assert [d.target_id for d in await schedules.due_digests(T0)] == [c.id for c in channels]
    assert [d.target_id for d in await schedules.due_digests(T0, limit=2)] == [
        c.id for c in channels[:2]
    ]
    assert await schedules.due_digests(T0 - 2 * HOUR) == []


async def test_advance_many_leaves_rows_a_command_changed(database: Database) -> None:
    schedules = database.schedules
    user = await database.targets.ensure("slack", "T1", "user", "U1")
    a = await schedules.add_subscription(user.id, "a", TOKYO, now=T0, next_fire=T0, limit=5)
    b = await schedules.add_subscription(user.id, "b", TOKYO, now=T0, next_fire=T0, limit=5)
    assert a is not None
    assert b is not None
    day = timedelta(days=1)
    await schedules.advance_many("sub", [(a.id, T0, T0 + day), (b.id, T0 - HOUR, T0 + day)])
    moved, kept = await schedules.subscription(a.id), await schedules.subscription(b.id)
    assert moved is not None
    assert moved.next_fire == T0 + day
    assert kept is not None
    assert kept.next_fire == T0
    await schedules.advance_many("sub", [])

    channel = await database.targets.ensure("slack", "T1", "channel", "C1")
    await schedules.set_digest(digest(channel.id, T0))
    await schedules.advance_many("digest", [(channel.id, T0, T0 + day)])
    found = await schedules.digest(channel.id)
    assert found is not None
    assert found.next_fire == T0 + day
    assert await schedules.earliest_fire() == T0


async def execute(database_url: str, sql: str) -> None:
    """*sql* on the store's database from another connection (to write what the API
    refuses to)."""
    if is_postgres(database_url):
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()
        return
    with closing(sqlite3.connect(database_url)) as conn, conn:
        conn.execute(sql)


async def test_a_row_that_no_longer_parses_moves_a_day_on(
    database: Database, database_url: str
) -> None:
    schedules = database.schedules
    user = await database.targets.ensure("slack", "T1", "user", "U1")
    broken = await schedules.add_subscription(user.id, "a", TOKYO, now=T0, next_fire=T0, limit=5)
    good = await schedules.add_subscription(user.id, "b", TOKYO, now=T0, next_fire=T0, limit=5)
    assert broken is not None
    assert good is not None
    await execute(
        database_url, f"UPDATE subscriptions SET tz = 'Mars/Olympus' WHERE id = {broken.id}"
    )
    assert [s.id for s in await schedules.due_subscriptions(T0)] == [good.id]
    assert await schedules.due_subscriptions(T0 + HOUR) == [good]  # the broken one moved on
    assert await schedules.remove_subscriptions(user.id, good.id) == [good.id]
    assert await schedules.earliest_fire() == T0 + timedelta(days=1)

    channel = await database.targets.ensure("slack", "T1", "channel", "C1")
    await schedules.set_digest(digest(channel.id, T0))
    await execute(database_url, "UPDATE channel_digests SET tz = 'Mars/Olympus'")
    assert await schedules.due_digests(T0) == []
    assert await schedules.earliest_fire() == T0 + timedelta(days=1)
