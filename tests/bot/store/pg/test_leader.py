"""The leader lock on a real server: one leader at a time, and a takeover when it goes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg

from bot.store.pg.leader import DUE, SCHEDULES, PgLeadership


async def test_one_process_leads_and_another_takes_over_when_it_leaves(pg_dsn: str) -> None:
    first, second = PgLeadership(pg_dsn), PgLeadership(pg_dsn)
    try:
        assert await first.try_lead()
        assert not await second.try_lead()
        assert await first.try_lead()  # still, and idempotent
        assert await first.holding()
        await first.close()
        assert await second.try_lead()
        assert not await first.try_lead()
    finally:
        await first.close()
        await second.close()


async def test_a_leader_whose_session_dies_stops_leading_and_the_lock_is_free(
    pg_dsn: str,
) -> None:
    leader, follower = PgLeadership(pg_dsn), PgLeadership(pg_dsn)
    admin = await asyncpg.connect(pg_dsn)
    try:
        assert await leader.try_lead()
        assert not await follower.try_lead()
        # What a SIGKILLed process leaves: its session ends, and the lock goes with it.
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        )
        assert await until(follower.try_lead)  # once the backend has gone
        assert not await leader.holding()
        assert not leader.leading
        assert not await leader.try_lead()  # reconnects, but the lock is taken
    finally:
        await admin.close()
        await leader.close()
        await follower.close()


async def test_notifications_wake_followers_and_reach_the_leaders_clock(pg_dsn: str) -> None:
    leader, follower = PgLeadership(pg_dsn), PgLeadership(pg_dsn)
    rearmed = asyncio.Event()
    leader.on_schedule_change(rearmed.set)
    follower.on_schedule_change(lambda: pytest_fail("a follower has no alarm to re-arm"))
    admin = await asyncpg.connect(pg_dsn)
    try:
        assert await leader.try_lead()
        assert not await follower.try_lead()
        await admin.execute(f"NOTIFY {DUE}")
        await asyncio.wait_for(follower.wait_for_work(30), 10)  # woken long before 30 s
        await admin.execute(f"NOTIFY {SCHEDULES}")
        await asyncio.wait_for(rearmed.wait(), 10)
    finally:
        await admin.close()
        await leader.close()
        await follower.close()


async def until(attempt: Callable[[], Awaitable[bool]], seconds: float = 10) -> bool:
    """Whether *attempt* succeeds within *seconds* (tried every 0.1 s)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await attempt():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


def pytest_fail(message: str) -> None:
    raise AssertionError(message)
