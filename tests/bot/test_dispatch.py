"""The dispatcher end to end on a real store: plan, claim, send, mark, catch up, fail.

The courier here records what the platform would have received; the platform adapters'
couriers are tested against loopback fakes in tests/adapters/.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.caller import Caller
from bot.commands import parse_command
from bot.courier import LookupFailed, SendResult, SendStatus
from bot.dispatch import Dispatcher, TickReport
from bot.replies import Reply
from bot.service import PapersBot
from bot.store import Store
from bot.store.ledger import Target

START = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)  # Wednesday; the snapshot's latest day


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Recorder:
    """A courier that records sends, can fail on demand, and can 'crash' before the mark."""

    platform = "slack"

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, Reply]] = []  # (address, key, reply)
        self.fail_with: list[SendResult] = []
        self.lookups = 0
        self.lookup_failures = 0  # how many look-ups raise LookupFailed first

    async def send(self, target: Target, reply: Reply, key: str) -> SendResult:
        if self.fail_with:
            return self.fail_with.pop(0)
        self.posts.append((target.address, key, reply))
        return SendResult(SendStatus.SENT, f"m{len(self.posts)}")

    async def find_sent(self, target: Target, key: str, since: datetime) -> str | None:
        self.lookups += 1
        if self.lookup_failures:
            self.lookup_failures -= 1
            raise LookupFailed("history unavailable")
        for i, (address, posted_key, _) in enumerate(self.posts, start=1):
            if address == target.address and posted_key == key:
                return f"m{i}"
        return None

    def sent_keys(self) -> list[str]:
        return [key for _, key, _ in self.posts]


MANAGER = Caller(
    platform="slack",
    user_id="U1",
    user_name="ann",
    channel_id="C1",
    workspace_id="T1",
    can_manage=True,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def courier() -> Recorder:
    return Recorder()


@pytest.fixture
def bot(store: Store, clock: Clock) -> PapersBot:
    return PapersBot(store=store, clock=clock)


@pytest.fixture
def dispatcher(store: Store, clock: Clock, courier: Recorder) -> Dispatcher:
    return Dispatcher(store, clock, {"slack": courier}, grace=timedelta(hours=4))


async def say(bot: PapersBot, text: str, caller: Caller = MANAGER) -> Reply:
    reply = await bot.run_command(parse_command(text), caller)
    assert not reply.is_error, reply.text
    return reply


async def test_digest_posts_top_papers_once_at_its_time(
    bot: PapersBot, dispatcher: Dispatcher, courier: Recorder, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC top 3")
    await dispatcher.tick()
    assert courier.posts == []  # 15:00: not due yet
    clock.advance(hours=1)
    report = await dispatcher.tick()
    assert report.sent == 1
    (address, key, reply) = courier.posts[0]
    assert (address, key) == ("C1", "digest:2026-08-19")
    assert len(reply.cards) == 3
    assert not reply.ephemeral
    assert "Daily Papers 2026-08-19" in reply.text
    clock.advance(minutes=5)
    await dispatcher.tick()
    await dispatcher.catch_up()
    assert len(courier.posts) == 1


async def test_next_day_without_new_papers_says_so_or_stays_silent(
    bot: PapersBot, dispatcher: Dispatcher, courier: Recorder, clock: Clock, store: Store
) -> None:
    await say(bot, "digest on at 16:00 tz UTC daily")
    clock.advance(hours=1)
    await dispatcher.tick()
    # Thursday: the feed was refreshed (fresh) but has no new day yet.
    clock.advance(days=1)
    await _fresh_feed(store, clock.now)
    await dispatcher.tick()
    assert courier.sent_keys() == ["digest:2026-08-19", "digest:2026-08-20"]
    assert "nothing new today" in courier.posts[1][2].text
    await say(bot, "digest on at 16:00 tz UTC daily empty-days silent")
    clock.advance(days=1)
    await _fresh_feed(store, clock.now)
    await dispatcher.tick()
    assert len(courier.posts) == 2  # silence, but recorded:
    status = await say(bot, "digest status")
    assert any("stayed silent" in note for note in status.notes)


async def _fresh_feed(store: Store, now: datetime) -> None:
    from bot.store.db import IngestRun

    await store.record_run(
        IngestRun("hf", now.date(), now - timedelta(minutes=1), now, True, 0, None)
    )


async def test_stale_feed_says_source_unavailable(
    bot: PapersBot, dispatcher: Dispatcher, courier: Recorder, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC daily")
    clock.advance(hours=1)
    await dispatcher.tick()
    clock.advance(days=2)  # no fetch for two days
    await dispatcher.tick()
    assert "source unavailable" in courier.posts[-1][2].text


async def test_catch_up_within_grace_sends_late_and_older_fires_are_missed(
    bot: PapersBot, store: Store, courier: Recorder, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC daily")
    clock.advance(days=2, hours=3)  # down from Wed 15:00 to Fri 18:00
    dispatcher = Dispatcher(store, clock, {"slack": courier}, grace=timedelta(hours=4))
    report = await dispatcher.catch_up()
    assert courier.sent_keys() == ["digest:2026-08-21"]  # Friday's, two hours late
    assert report.missed == 2  # Wednesday's and Thursday's are recorded, not sent
    status = await say(bot, "status")
    assert sum("missed" in note for note in status.notes) == 2


async def test_overlapping_subscriptions_send_each_paper_once(
    bot: PapersBot, dispatcher: Dispatcher, courier: Recorder, clock: Clock, store: Store
) -> None:
    await say(bot, "subscribe model at 16:00 tz UTC daily")
    await say(bot, "subscribe language at 16:30 tz UTC daily")
    clock.advance(hours=1, minutes=31)
    await dispatcher.tick()
    assert len(courier.posts) == 2
    first = {card.paper_id for card in courier.posts[0][2].cards}
    second = {card.paper_id for card in courier.posts[1][2].cards}
    assert first
    assert second
    assert not first & second
    sent = await store.ledger.already_sent(1, [*first, *second])
    assert sent == first | second


async def test_crash_between_send_and_mark_does_not_post_twice(
    bot: PapersBot, store: Store, courier: Recorder, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC")
    clock.advance(hours=1)
    dispatcher = Dispatcher(store, clock, {"slack": courier})
    await dispatcher._plan(TickReport())
    (row,) = await store.ledger.open_deliveries(now=clock.now, stale_after=timedelta(0))
    claimed = await store.ledger.claim(row.id, now=clock.now, stale_after=timedelta(0))
    assert claimed is not None
    target = await store.ledger.target_by_id(claimed.target_id)
    assert target is not None
    await courier.send(target, Reply(text="the post"), claimed.digest_key)  # then: SIGKILL
    clock.advance(minutes=1)
    restarted = Dispatcher(store, clock, {"slack": courier})
    report = await restarted.catch_up()
    assert report.found_already_sent == 1
    assert len(courier.posts) == 1
    assert courier.lookups == 1


async def test_transient_failures_back_off_then_send(
    bot: PapersBot, dispatcher: Dispatcher, courier: Recorder, clock: Clock
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
    bot: PapersBot, dispatcher: Dispatcher, courier: Recorder, clock: Clock
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
    bot: PapersBot, dispatcher: Dispatcher, courier: Recorder, clock: Clock
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


async def test_removed_subscription_is_not_sent(
    bot: PapersBot, dispatcher: Dispatcher, courier: Recorder, clock: Clock
) -> None:
    await say(bot, "subscribe model at 16:00 tz UTC daily")
    courier.fail_with = [SendResult(SendStatus.RETRY, detail="busy")]
    clock.advance(hours=1)
    await dispatcher.tick()
    await say(bot, "unsubscribe all")
    clock.advance(minutes=5)
    await dispatcher.tick()
    assert courier.posts == []


async def test_weekdays_skip_the_weekend(
    bot: PapersBot, dispatcher: Dispatcher, courier: Recorder, clock: Clock, store: Store
) -> None:
    await say(bot, "digest on at 16:00 tz UTC weekdays")
    clock.advance(hours=1, minutes=5)
    for _ in range(7):
        clock.advance(days=1)
        await _fresh_feed(store, clock.now)
        await dispatcher.tick()
    days = [key.split(":")[1] for key in courier.sent_keys()]
    assert days == ["2026-08-20", "2026-08-21", "2026-08-24", "2026-08-25", "2026-08-26"]


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
    store: Store, courier: Recorder, tz: str, start: datetime, days: int
) -> None:
    clock = Clock(start)
    bot = PapersBot(store=store, clock=clock)
    dispatcher = Dispatcher(store, clock, {"slack": courier})
    await say(bot, f"digest on at 02:30 tz {tz} daily")
    for _ in range(days * 24 * 4):  # every 15 minutes
        clock.advance(minutes=15)
        await _fresh_feed(store, clock.now)
        await dispatcher.tick()
    local_days = [key.split(":")[1] for key in courier.sent_keys()]
    assert len(local_days) == days
    assert len(set(local_days)) == days


async def test_a_crash_found_after_the_grace_window_is_recorded_as_sent_not_missed(
    bot: PapersBot, store: Store, courier: Recorder, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC daily")
    await say(bot, "digest on at 16:00 tz UTC daily", replace(MANAGER, channel_id="C2"))
    clock.advance(hours=1)
    dispatcher = Dispatcher(store, clock, {"slack": courier}, grace=timedelta(hours=4))
    await dispatcher._plan(TickReport())
    rows = await store.ledger.open_deliveries(now=clock.now, stale_after=timedelta(0))
    for row in rows:  # both claimed; only C1's post reached Slack before the crash
        claimed = await store.ledger.claim(row.id, now=clock.now, stale_after=timedelta(0))
        assert claimed is not None
        target = await store.ledger.target_by_id(claimed.target_id)
        assert target is not None
        if target.address == "C1":
            await courier.send(target, Reply(text="the post"), claimed.digest_key)
    clock.advance(hours=5)  # back after the grace window
    report = await Dispatcher(store, clock, {"slack": courier}).catch_up()
    assert report.found_already_sent == 1
    assert report.missed == 1
    assert len(courier.posts) == 1
    states = {
        d.digest_key + d.state
        for d in await store.ledger.recent([1, 2, 3], since=clock.now - timedelta(days=1))
    }
    assert states == {"digest:2026-08-19sent", "digest:2026-08-19missed"}


async def test_when_the_platform_cannot_say_the_row_waits_instead_of_posting_again(
    bot: PapersBot, store: Store, courier: Recorder, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC")
    clock.advance(hours=1)
    dispatcher = Dispatcher(store, clock, {"slack": courier})
    await dispatcher._plan(TickReport())
    (row,) = await store.ledger.open_deliveries(now=clock.now, stale_after=timedelta(0))
    claimed = await store.ledger.claim(row.id, now=clock.now, stale_after=timedelta(0))
    assert claimed is not None
    target = await store.ledger.target_by_id(claimed.target_id)
    assert target is not None
    await courier.send(target, Reply(text="the post"), claimed.digest_key)  # then: SIGKILL
    courier.lookup_failures = 2
    restarted = Dispatcher(store, clock, {"slack": courier})
    assert (await restarted.catch_up()).retrying == 1
    for _ in range(3):
        clock.advance(minutes=5)
        await restarted.tick()
    assert len(courier.posts) == 1
    assert courier.lookups == 3
    (done,) = await store.ledger.recent([target.id], since=clock.now - timedelta(days=1))
    assert done.state == "sent"


async def test_subscription_ids_are_never_reused(
    bot: PapersBot, dispatcher: Dispatcher, courier: Recorder, clock: Clock, store: Store
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
    (_, key, reply) = courier.posts[1]
    assert key == "sub:2:2026-08-19"
    assert "“language”" in reply.text


async def test_a_retrying_dm_keeps_its_papers_from_another_subscription(
    bot: PapersBot, dispatcher: Dispatcher, courier: Recorder, clock: Clock
) -> None:
    await say(bot, "subscribe model at 16:00 tz UTC daily")
    await say(bot, "subscribe language at 16:00 tz UTC daily")
    courier.fail_with = [SendResult(SendStatus.RETRY, detail="ratelimited", retry_after=60)]
    clock.advance(hours=1, minutes=1)
    await dispatcher.tick()  # #1 composed, then rate limited; #2 composed and sent
    clock.advance(minutes=5)
    await dispatcher.tick()  # #1 again, with the papers it was composed with
    assert len(courier.posts) == 2
    first, second = ({c.paper_id for c in post[2].cards} for post in courier.posts)
    assert first
    assert second
    assert not first & second


async def _new_paper(store: Store, paper_id: str, title: str, day: date, now: datetime) -> None:
    stored = await store.get_paper("2608.17271")
    assert stored is not None
    paper = replace(stored.paper, id=paper_id, title=title, daily_day=day, ai_keywords=())
    await store.upsert_papers([paper], seen_at=now)


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
    courier: Recorder,
    tz: str,
    first_fire: datetime,
    next_tick: tuple[int, int, int, int, int],
) -> None:
    clock = Clock(first_fire - timedelta(hours=1))
    bot = PapersBot(store=store, clock=clock)
    dispatcher = Dispatcher(store, clock, {"slack": courier})
    local = first_fire.astimezone(ZoneInfo(tz))
    await say(bot, f"subscribe zebrafish at {local:%H:%M} tz {tz} weekly {local:%a}")
    await _new_paper(store, "2608.99990", "Zebrafish one", local.date(), clock.now)
    clock.now = first_fire
    await dispatcher.tick()
    clock.now = first_fire + timedelta(minutes=30)
    await _new_paper(store, "2608.99991", "Zebrafish two", local.date(), clock.now)
    clock.now = datetime(*next_tick, tzinfo=UTC)
    await dispatcher.catch_up()
    sent = [[c.title for c in post[2].cards] for post in courier.posts]
    assert sent == [["Zebrafish one"], ["Zebrafish two"]]


async def test_an_old_paper_stored_today_is_not_new(
    bot: PapersBot, dispatcher: Dispatcher, courier: Recorder, clock: Clock, store: Store
) -> None:
    await say(bot, "subscribe zebrafish at 16:00 tz UTC daily")
    stored = await store.get_paper("2608.17271")
    assert stored is not None
    old = replace(
        stored.paper,
        id="1706.03762",
        title="Zebrafish is all you need",
        published=datetime(2017, 6, 12, tzinfo=UTC),
        daily_day=None,
    )
    await store.upsert_papers([old], seen_at=clock.now)  # e.g. someone ran `show 1706.03762`
    await _new_paper(store, "2608.99990", "Zebrafish today", START.date(), clock.now)
    clock.advance(hours=1)
    await dispatcher.tick()
    assert [[c.title for c in post[2].cards] for post in courier.posts] == [["Zebrafish today"]]


async def test_a_row_that_no_longer_parses_does_not_block_the_others(
    bot: PapersBot, dispatcher: Dispatcher, courier: Recorder, clock: Clock, store: Store
) -> None:
    other = replace(MANAGER, user_id="U2", channel_id="C2")
    await say(bot, "subscribe model at 16:00 tz UTC daily", other)
    await say(bot, "digest on at 16:00 tz UTC daily")
    # e.g. the database moved to a host whose tzdata lacks the zone
    await store._conn.execute("UPDATE subscriptions SET tz = 'America/Nowhere'")
    await store._conn.commit()
    clock.advance(hours=1)
    await dispatcher.tick()
    assert courier.sent_keys() == ["digest:2026-08-19"]
    ((next_fire,),) = list(
        await store._conn.execute_fetchall("SELECT next_fire FROM subscriptions")
    )
    assert datetime.fromisoformat(next_fire) == datetime(2026, 8, 20, 16, tzinfo=UTC)


async def test_after_a_long_outage_only_the_last_days_are_recorded_missed(
    bot: PapersBot, store: Store, courier: Recorder, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC daily")
    clock.advance(days=800)  # more fires than fires_between allows in one call
    report = await Dispatcher(store, clock, {"slack": courier}).catch_up()
    assert courier.posts == []
    assert 7 <= report.missed <= 9


async def test_housekeeping_prunes_old_rows_and_forgets_removed_queries(
    bot: PapersBot, dispatcher: Dispatcher, courier: Recorder, clock: Clock, store: Store
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
    assert (
        await store.ledger.already_sent(1, [c.paper_id for c in courier.posts[0][2].cards]) == set()
    )
