"""The dispatcher end to end on a real store: plan, claim, send, mark, catch up, fail.

The courier here records what the platform would have received (tests/fakes/courier.py); the
platform adapters' couriers are tested against loopback fakes in tests/adapters/. DM rules:
test_dispatch_dm.py; what a digest says: test_compose.py.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.delivery.courier import SendResult, SendStatus
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.policy import DEFAULT_LEASE
from bot.model.caller import Caller
from bot.model.delivery import DeliveryKey
from bot.service.papersbot import PapersBot
from bot.store import Store
from tests.fakes.clock import Clock
from tests.fakes.courier import RecordingCourier
from tests.kit import MANAGER, crash_after_sending, fresh_feed, say

WED = date(2026, 8, 19)  # the clock's first day


async def test_digest_posts_top_papers_once_at_its_time(
    bot: PapersBot, dispatcher: Dispatcher, courier: RecordingCourier, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC top 3")
    await dispatcher.tick()
    assert courier.posts == []  # 15:00: not due yet
    clock.advance(hours=1)
    report = await dispatcher.tick()
    assert report.sent == 1
    (address, key, reply, _) = courier.posts[0]
    assert (address, key) == ("C1", DeliveryKey.digest(WED))
    assert len(reply.cards) == 3
    assert not reply.ephemeral
    assert "Daily Papers 2026-08-19" in reply.text
    clock.advance(minutes=5)
    await dispatcher.tick()
    await dispatcher.catch_up()
    assert len(courier.posts) == 1


async def test_catch_up_within_grace_sends_late_and_older_fires_are_missed(
    bot: PapersBot, store: Store, courier: RecordingCourier, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC daily")
    clock.advance(days=2, hours=3)  # down from Wed 15:00 to Fri 18:00
    dispatcher = Dispatcher(store, clock, {"slack": courier}, grace=timedelta(hours=4))
    report = await dispatcher.catch_up()
    assert courier.sent_keys() == [DeliveryKey.digest(date(2026, 8, 21))]  # Friday's, 2 h late
    assert report.missed == 2  # Wednesday's and Thursday's are recorded, not sent
    status = await say(bot, "status")
    assert sum("missed" in note for note in status.notes) == 2


async def test_crash_between_send_and_mark_does_not_post_twice(
    bot: PapersBot, store: Store, courier: RecordingCourier, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC")
    clock.advance(hours=1)
    await crash_after_sending(store, courier, clock)
    clock.advance(minutes=1)
    restarted = Dispatcher(store, clock, {"slack": courier})
    assert (await restarted.catch_up()).found_already_sent == 0  # the dead sender's lease holds
    assert courier.lookups == 0
    clock.advance(seconds=DEFAULT_LEASE.total_seconds())
    report = await restarted.tick()  # the lease ran out: looked up, found, marked
    assert report.found_already_sent == 1
    assert len(courier.posts) == 1
    assert courier.lookups == 1


async def test_transient_failures_back_off_then_send(
    bot: PapersBot, dispatcher: Dispatcher, courier: RecordingCourier, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC")
    courier.fail_with = [SendResult(SendStatus.RETRY, detail="ratelimited", retry_after=90)] * 2
    clock.advance(hours=1)
    assert (await dispatcher.tick()).retrying == 1
    clock.advance(seconds=30)
    await dispatcher.tick()
    assert courier.posts == []  # still backing off (Retry-After 90 s)
    clock.advance(seconds=61)
    assert (await dispatcher.tick()).retrying == 1
    clock.advance(minutes=3)
    assert (await dispatcher.tick()).sent == 1


async def test_transient_failures_give_up_at_the_grace_window(
    bot: PapersBot, dispatcher: Dispatcher, courier: RecordingCourier, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC")
    courier.fail_with = [SendResult(SendStatus.RETRY, detail="slack down")] * 100
    clock.advance(hours=1)
    for _ in range(60):
        await dispatcher.tick()
        clock.advance(minutes=10)
    assert courier.posts == []
    status = await say(bot, "status")
    assert any("failed" in note and "slack down" in note for note in status.notes)


async def test_permanent_failure_disables_and_tells_the_owner_once(
    bot: PapersBot, dispatcher: Dispatcher, courier: RecordingCourier, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC daily")
    courier.fail_with = [SendResult(SendStatus.PERMANENT, detail="the channel was archived")]
    clock.advance(hours=1)
    assert (await dispatcher.tick()).failed == 1
    clock.advance(days=1)
    await dispatcher.tick()
    assert courier.posts == []  # disabled: not even tried
    other = Caller(platform="slack", user_id="U2", channel_id="C9")
    assert not any("Heads-up" in n for n in (await say(bot, "help", other)).notes)
    told = await say(bot, "help")
    assert any("archived" in n and "digest on" in n for n in told.notes)
    assert not any("Heads-up" in n for n in (await say(bot, "help")).notes)
    await say(bot, "digest on at 16:00 tz UTC daily")  # re-enables
    clock.advance(days=1)
    await dispatcher.tick()
    assert len(courier.posts) == 1


async def test_weekdays_skip_the_weekend(
    bot: PapersBot, dispatcher: Dispatcher, courier: RecordingCourier, clock: Clock, store: Store
) -> None:
    await say(bot, "digest on at 16:00 tz UTC weekdays")
    clock.advance(hours=1, minutes=5)
    for _ in range(7):
        clock.advance(days=1)
        await fresh_feed(store, clock.now)
        await dispatcher.tick()
    days = [key.day.isoformat() for key in courier.sent_keys()]
    assert days == ["2026-08-20", "2026-08-21", "2026-08-24", "2026-08-25", "2026-08-26"]
    assert {key.kind for key in courier.sent_keys()} == {"digest"}


@pytest.mark.parametrize(
    ("tz", "start", "days"),
    [
        ("Europe/Berlin", datetime(2026, 3, 27, 12, tzinfo=UTC), 4),  # spring forward 29 Mar
        ("Europe/Berlin", datetime(2026, 10, 23, 12, tzinfo=UTC), 4),  # fall back 25 Oct
        ("America/New_York", datetime(2026, 3, 6, 12, tzinfo=UTC), 4),  # 8 Mar
        ("America/New_York", datetime(2026, 10, 30, 12, tzinfo=UTC), 4),  # 1 Nov
    ],
)
async def test_dst_transitions_fire_once_per_local_day(
    store: Store, tz: str, start: datetime, days: int
) -> None:
    clock = Clock(start)
    courier = RecordingCourier(clock)
    bot = PapersBot(store=store, clock=clock)
    dispatcher = Dispatcher(store, clock, {"slack": courier})
    await say(bot, f"digest on at 02:30 tz {tz} daily")
    for _ in range(days * 24 * 4):  # every 15 minutes
        clock.advance(minutes=15)
        await fresh_feed(store, clock.now)
        await dispatcher.tick()
    local_days = [key.day for key in courier.sent_keys()]
    assert len(local_days) == days
    assert len(set(local_days)) == days


async def test_a_crash_found_after_the_grace_window_is_recorded_as_sent_not_missed(
    bot: PapersBot, store: Store, courier: RecordingCourier, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC daily")
    await say(bot, "digest on at 16:00 tz UTC daily", replace(MANAGER, channel_id="C2"))
    clock.advance(hours=1)
    # both claimed; only C1's post reached Slack before the crash
    await crash_after_sending(store, courier, clock, reached=lambda t: t.address == "C1")
    clock.advance(hours=5)  # back after the grace window
    report = await Dispatcher(store, clock, {"slack": courier}).catch_up()
    assert report.found_already_sent == 1
    assert report.missed == 1
    assert len(courier.posts) == 1
    rows = await store.ledger.recent([1, 2, 3], since=clock.now - timedelta(days=1))
    states = {(d.key, d.state) for d in rows}
    assert states == {(DeliveryKey.digest(WED), "sent"), (DeliveryKey.digest(WED), "missed")}


async def test_when_the_platform_cannot_say_the_row_waits_instead_of_posting_again(
    bot: PapersBot, store: Store, courier: RecordingCourier, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC")
    clock.advance(hours=1)
    await crash_after_sending(store, courier, clock)
    courier.lookup_failures = 2
    clock.advance(seconds=DEFAULT_LEASE.total_seconds())
    restarted = Dispatcher(store, clock, {"slack": courier})
    assert (await restarted.catch_up()).retrying == 1
    for _ in range(3):
        clock.advance(minutes=5)
        await restarted.tick()
    assert len(courier.posts) == 1
    assert courier.lookups == 3
    (done,) = await store.ledger.recent([1, 2], since=clock.now - timedelta(days=1))
    assert done.state == "sent"


async def test_a_row_that_no_longer_parses_does_not_block_the_others(
    bot: PapersBot,
    dispatcher: Dispatcher,
    courier: RecordingCourier,
    clock: Clock,
    store: Store,
    tmp_path: Path,
) -> None:
    other = replace(MANAGER, user_id="U2", channel_id="C2")
    await say(bot, "subscribe model at 16:00 tz UTC daily", other)
    await say(bot, "digest on at 16:00 tz UTC daily")
    # e.g. the database moved to a host whose tzdata lacks the zone
    with closing(sqlite3.connect(tmp_path / "papers.db")) as other:  # the store's file
        other.execute("UPDATE subscriptions SET tz = 'America/Nowhere'")
        other.commit()
    clock.advance(hours=1)
    await dispatcher.tick()
    assert courier.sent_keys() == [DeliveryKey.digest(WED)]
    with closing(sqlite3.connect(tmp_path / "papers.db")) as other:
        ((next_fire,),) = other.execute("SELECT next_fire FROM subscriptions").fetchall()
    assert datetime.fromisoformat(next_fire) == datetime(2026, 8, 20, 16, tzinfo=UTC)


async def test_after_a_long_outage_only_the_last_days_are_recorded_missed(
    bot: PapersBot, store: Store, courier: RecordingCourier, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC daily")
    clock.advance(days=800)  # more fires than fires_between allows in one call
    report = await Dispatcher(store, clock, {"slack": courier}).catch_up()
    assert courier.posts == []
    assert 7 <= report.missed <= 9
