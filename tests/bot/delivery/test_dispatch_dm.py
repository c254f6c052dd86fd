"""DM subscriptions through the dispatcher: what is new, and each paper at most once."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.courier import SendResult, SendStatus
from bot.delivery.dispatcher import Dispatcher
from bot.model.delivery import DeliveryKey
from bot.service.papersbot import PapersBot
from bot.store import Store
from tests.fakes.clock import START, Clock
from tests.fakes.courier import RecordingCourier
from tests.kit import new_paper, say

WED = date(2026, 8, 19)  # the clock's first day


async def test_overlapping_subscriptions_send_each_paper_once(
    bot: PapersBot, dispatcher: Dispatcher, courier: RecordingCourier, clock: Clock, store: Store
) -> None:
    await say(bot, "subscribe model at 16:00 tz UTC daily")
    await say(bot, "subscribe language at 16:30 tz UTC daily")
    clock.advance(hours=1, minutes=31)
    await dispatcher.tick()
    assert len(courier.posts) == 2
    first = {card.paper_id for card in courier.posts[0].reply.cards}
    second = {card.paper_id for card in courier.posts[1].reply.cards}
    assert first
    assert second
    assert not first & second
    sent = await store.ledger.already_sent(1, [*first, *second])
    assert sent == first | second


async def test_removed_subscription_is_not_sent(
    bot: PapersBot, dispatcher: Dispatcher, courier: RecordingCourier, clock: Clock
) -> None:
    await say(bot, "subscribe model at 16:00 tz UTC daily")
    courier.fail_with = [SendResult(SendStatus.RETRY, detail="busy")]
    clock.advance(hours=1)
    await dispatcher.tick()
    await say(bot, "unsubscribe all")
    clock.advance(minutes=5)
    await dispatcher.tick()
    assert courier.posts == []


async def test_subscription_ids_are_never_reused(
    bot: PapersBot, dispatcher: Dispatcher, courier: RecordingCourier, clock: Clock, store: Store
) -> None:
    await say(bot, "subscribe model at 16:00 tz UTC daily")
    clock.advance(hours=1)
    await dispatcher.tick()
    await say(bot, "unsubscribe 1")
    await say(bot, "subscribe language at 16:30 tz UTC daily")
    (sub,) = await store.schedules.subscriptions_of(1)
    assert sub.id == 2  # its ledger keys must not collide with #1's
    clock.advance(minutes=31)
    await dispatcher.tick()
    assert len(courier.posts) == 2
    (_, key, reply, _) = courier.posts[1]
    assert key == DeliveryKey.dm(2, WED)
    assert "“language”" in reply.text


async def test_a_retrying_dm_keeps_its_papers_from_another_subscription(
    bot: PapersBot, dispatcher: Dispatcher, courier: RecordingCourier, clock: Clock
) -> None:
    await say(bot, "subscribe model at 16:00 tz UTC daily")
    await say(bot, "subscribe language at 16:00 tz UTC daily")
    courier.fail_with = [SendResult(SendStatus.RETRY, detail="ratelimited", retry_after=60)]
    clock.advance(hours=1, minutes=1)
    await dispatcher.tick()  # #1 composed, then rate limited; #2 composed and sent
    clock.advance(minutes=5)
    await dispatcher.tick()  # #1 again, with the papers it was composed with
    assert len(courier.posts) == 2
    first, second = ({c.paper_id for c in post.reply.cards} for post in courier.posts)
    assert first
    assert second
    assert not first & second


@pytest.mark.parametrize(
    ("tz", "first_fire", "next_tick"),
    [
        # the next week's check runs two hours late (a restart, within the grace window)
        ("UTC", datetime(2026, 8, 19, 16, 0, 1, tzinfo=UTC), (2026, 8, 26, 18, 0)),
        # a fall-back week is 7 days and 1 hour long
        ("Europe/Berlin", datetime(2026, 10, 19, 6, 0, 1, tzinfo=UTC), (2026, 10, 26, 7, 1)),
    ],
)
async def test_a_weekly_dm_loses_no_paper_stored_between_two_checks(
    store: Store,
    tz: str,
    first_fire: datetime,
    next_tick: tuple[int, int, int, int, int],
) -> None:
    clock = Clock(first_fire - timedelta(hours=1))
    courier = RecordingCourier(clock)
    bot = PapersBot(store=store, clock=clock)
    dispatcher = Dispatcher(store, clock, {"slack": courier})
    local = first_fire.astimezone(ZoneInfo(tz))
    await say(bot, f"subscribe zebrafish at {local:%H:%M} tz {tz} weekly {local:%a}")
    await new_paper(store, "2608.99990", "Zebrafish one", local.date(), clock.now)
    clock.now = first_fire
    await dispatcher.tick()
    clock.now = first_fire + timedelta(minutes=30)
    await new_paper(store, "2608.99991", "Zebrafish two", local.date(), clock.now)
    clock.now = datetime(*next_tick, tzinfo=UTC)
    await dispatcher.catch_up()
    sent = [[c.title for c in post.reply.cards] for post in courier.posts]
    assert sent == [["Zebrafish one"], ["Zebrafish two"]]


async def test_an_old_paper_stored_today_is_not_new(
    bot: PapersBot, dispatcher: Dispatcher, courier: RecordingCourier, clock: Clock, store: Store
) -> None:
    await say(bot, "subscribe zebrafish at 16:00 tz UTC daily")
    stored = await store.papers.get("2608.17271")
    assert stored is not None
    old = replace(
        stored.paper,
        id="1706.03762",
        title="Zebrafish is all you need",
        published=datetime(2017, 6, 12, tzinfo=UTC),
        daily_day=None,
    )
    await store.papers.upsert([old], seen_at=clock.now)  # e.g. someone ran `show 1706.03762`
    await new_paper(store, "2608.99990", "Zebrafish today", START.date(), clock.now)
    clock.advance(hours=1)
    await dispatcher.tick()
    assert [[c.title for c in post.reply.cards] for post in courier.posts] == [["Zebrafish today"]]


async def test_housekeeping_prunes_old_rows_and_forgets_removed_queries(
    bot: PapersBot, dispatcher: Dispatcher, courier: RecordingCourier, clock: Clock, store: Store
) -> None:
    await say(bot, "subscribe model at 16:00 tz UTC daily")
    await say(bot, "digest on at 16:00 tz UTC daily")
    clock.advance(hours=1)
    await dispatcher.tick()
    await say(bot, "unsubscribe all")
    assert await dispatcher.housekeeping() == (0, 1)  # nothing old yet; #1's query dropped
    clock.advance(days=91)
    pruned, _ = await dispatcher.housekeeping()
    assert pruned == 2
    first = [c.paper_id for c in courier.posts[0].reply.cards]
    assert await store.ledger.already_sent(1, first) == set()


async def test_a_stored_query_that_no_longer_parses_skips_only_its_own_dm(
    bot: PapersBot,
    dispatcher: Dispatcher,
    courier: RecordingCourier,
    clock: Clock,
    store: Store,
    tmp_path: Path,
) -> None:
    """A query saved by an older release that today's grammar rejects (QueryError, not
    ValueError) must not stop the tick: the other subscriptions are still delivered."""
    await say(bot, "subscribe model at 16:00 tz UTC daily")
    await say(bot, "subscribe language at 16:00 tz UTC daily")
    with closing(sqlite3.connect(tmp_path / "papers.db")) as other:  # the store's file
        other.execute("""UPDATE subscriptions SET query = '"unclosed quote' WHERE id = 1""")
        other.commit()
    clock.advance(hours=1, minutes=1)
    report = await dispatcher.tick()
    assert courier.sent_keys() == [DeliveryKey.dm(2, WED)]
    assert report.sent == 1
    assert report.silent == 1  # #1 matched nothing; recorded, not retried forever
