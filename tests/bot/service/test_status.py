"""``status`` (bot/service/status.py): sources and their freshness, what is scheduled here,
and what became of recent deliveries; on the real snapshot store and the test clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot.model.caller import Caller
from bot.model.delivery import Content, Delivery, DeliveryKey, State
from bot.service.papersbot import PapersBot
from bot.service.status import delivery_line, status_reply
from bot.store import Store
from bot.store.records import IngestRun
from tests.fakes.clock import START, Clock
from tests.kit import MANAGER, say

WED = date(2026, 8, 19)
SOURCES = (
    "Papers stored: 595; latest Daily Papers day: 2026-08-19",
    "Recorded snapshot: last success just now (596 papers)",
)

# -- one ledger row, for people ------------------------------------------------------------

ROW = Delivery(
    id=1,
    target_id=1,
    key=DeliveryKey.digest(WED),
    due_at=START,
    state="pending",
    attempts=0,
    claimed_at=None,
    lease_until=None,
    claim_token=None,
    next_try_at=None,
    sent_at=None,
    message_id=None,
    last_error=None,
)


@pytest.mark.parametrize(
    ("state", "word"),
    [("pending", "due"), ("claimed", "sending"), ("failed", "failed"), ("missed", "missed")],
)
def test_each_state_has_a_word(state: State, word: str) -> None:
    assert delivery_line(replace(ROW, state=state), START) == f"2026-08-19: {word}"


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (None, "2026-08-19: sent 3 h ago"),
        (Content("papers", ("2608.17271",)), "2026-08-19: sent 3 h ago"),
        (Content("empty"), "2026-08-19: sent 3 h ago (quiet day note)"),
        (Content("silent"), "2026-08-19: sent 3 h ago (quiet day, stayed silent)"),
        (Content("unavailable"), "2026-08-19: sent 3 h ago (source unavailable note)"),
    ],
)
def test_a_sent_row_says_when_and_what_kind(content: Content | None, line: str) -> None:
    sent = replace(ROW, state="sent", sent_at=START - timedelta(hours=3), content=content)
    assert delivery_line(sent, START) == line


def test_errors_are_shown_shortened_unless_the_row_was_sent_after_all() -> None:
    failed = replace(ROW, state="failed", last_error="slack down")
    assert delivery_line(failed, START) == "2026-08-19: failed: slack down"
    retrying = replace(ROW, state="pending", last_error="ratelimited")
    assert delivery_line(retrying, START) == "2026-08-19: due: ratelimited"
    long = delivery_line(replace(failed, last_error="x" * 500), START)
    assert len(long) < 150
    recovered = replace(ROW, state="sent", sent_at=START, last_error="ratelimited")
    assert delivery_line(recovered, START) == "2026-08-19: sent just now"


def test_a_dm_row_reads_like_a_digest_row() -> None:
    dm = replace(ROW, key=DeliveryKey.dm(7, WED), state="missed", last_error="too late")
    assert delivery_line(dm, START) == "2026-08-19: missed: too late"


# -- sources --------------------------------------------------------------------------------


async def test_status_reports_sources(testbot: PapersBot) -> None:
    reply = await testbot.respond("status")
    assert reply.notes[0].startswith("Papers stored: 595; latest Daily Papers day: 2026-08-19")
    assert any(n.startswith("Recorded snapshot: last success") for n in reply.notes)


async def test_a_fresh_store_reports_its_sources_and_nothing_else(store: Store) -> None:
    reply = await status_reply(store, now=START)
    assert reply.text == "papersbot status"
    assert reply.notes == SOURCES
    assert not reply.is_error


async def test_an_empty_store_has_fetched_nothing(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "empty.db") as store:
        reply = await status_reply(store, now=START)
    assert reply.notes == (
        "Papers stored: 0; latest Daily Papers day: none",
        "No source has been fetched yet.",
    )


async def test_an_old_snapshot_is_not_stale_but_digests_say_the_feed_is(store: Store) -> None:
    reply = await status_reply(store, now=START + timedelta(days=2))
    assert reply.notes == (
        SOURCES[0],
        "Recorded snapshot: last success 2 days ago (596 papers)",
        "Digests will say the source is unavailable: Hugging Face has not answered since "
        "2 days ago.",
    )


async def test_each_source_says_its_last_success_staleness_and_last_failure(
    store: Store,
) -> None:
    later = START + timedelta(hours=37)
    await store.runs.record(IngestRun("hf", WED, START, START, True, 12, None))
    await store.runs.record(IngestRun("hf", later.date(), later, later, False, 0, "HTTP 503"))
    await store.runs.record(IngestRun("feedx", None, START, START, False, 0, "nope"))
    notes = (await status_reply(store, now=later)).notes
    assert notes[1:] == (
        "feedx: never fetched successfully; last attempt 37 h ago failed: nope",
        "Hugging Face: last success 37 h ago (12 papers), stale; "
        "last attempt just now failed: HTTP 503",
        "Recorded snapshot: last success 37 h ago (596 papers)",
        "Digests will say the source is unavailable: Hugging Face has not answered since "
        "37 h ago: HTTP 503.",
    )


async def test_a_source_is_stale_only_past_36_hours(store: Store) -> None:
    await store.runs.record(IngestRun("hf", WED, START, START, True, 12, None))
    on_time = await status_reply(store, now=START + timedelta(hours=36))
    assert "Hugging Face: last success 36 h ago (12 papers)" in on_time.notes
    late = await status_reply(store, now=START + timedelta(hours=36, minutes=1))
    assert "Hugging Face: last success 36 h ago (12 papers), stale" in late.notes


# -- what is scheduled here -----------------------------------------------------------------


async def test_status_shows_the_next_posts(bot: PapersBot) -> None:
    await say(bot, "digest on at 16:00 tz UTC")
    await say(bot, "subscribe llm")
    notes = (await say(bot, "status")).notes
    assert any(
        n.startswith("This channel's next digest: Wed 19 Aug 16:00 UTC (in 1 h)") for n in notes
    )
    assert any(n.startswith("Your next subscription check: #1") for n in notes)


async def test_the_next_subscription_check_is_the_soonest(bot: PapersBot, store: Store) -> None:
    await say(bot, "subscribe llm at 9am tz Europe/Berlin")
    await say(bot, "subscribe diffusion at 20:00 tz UTC")
    notes = (await status_reply(store, now=START, caller=MANAGER)).notes
    assert notes[len(SOURCES) :] == (
        "Your next subscription check: #2 “diffusion” Wed 19 Aug 20:00 UTC (in 5 h) "
        "(2 subscriptions)",
    )


async def test_a_fire_already_due_shows_as_now(bot: PapersBot, store: Store, clock: Clock) -> None:
    await say(bot, "digest on at 16:00 tz UTC")
    clock.advance(hours=2)  # 17:00: not delivered yet (no dispatcher ran)
    notes = (await status_reply(store, now=clock.now, caller=MANAGER)).notes
    assert "This channel's next digest: Wed 19 Aug 17:00 UTC (in 1 min)" in notes


async def test_asking_creates_no_target(store: Store) -> None:
    caller = Caller("slack", "U5", channel_id="C5", workspace_id="T1")
    reply = await status_reply(store, now=START, caller=caller)
    assert reply.notes == SOURCES
    assert await store.targets.find("slack", "T1", "channel", "C5") is None
    assert await store.targets.find("slack", "", "user", "U5") is None


async def test_stopped_targets_are_named(bot: PapersBot, store: Store) -> None:
    await say(bot, "subscribe llm")
    user = await store.targets.ensure("slack", "", "user", MANAGER.user_id or "")
    await store.targets.disable(user.id, now=START, reason="the user blocks DMs")
    notes = (await status_reply(store, now=START, caller=MANAGER)).notes
    assert "Stopped (user): the user blocks DMs" in notes


# -- recent delivery problems ---------------------------------------------------------------


async def _row(store: Store, target_id: int, day: date, state: State, error: str) -> None:
    due = datetime.combine(day, START.timetz())
    planned = await store.ledger.plan(target_id, DeliveryKey.digest(day), due_at=due)
    if state == "missed":
        await store.ledger.mark_missed(planned.id, reason=error)
        return
    claimed = await store.ledger.claim(planned.id, now=due, lease=timedelta(minutes=10))
    assert claimed is not None
    if state == "sent":
        await store.ledger.mark_sent(claimed, now=due, message_id="m1")
    else:
        retry = due + timedelta(minutes=5) if state == "pending" else None
        await store.ledger.mark_failed(claimed, now=due, error=error, retry_at=retry)


async def test_recent_failures_are_listed_newest_first(bot: PapersBot, store: Store) -> None:
    channel = await store.targets.ensure("slack", "T1", "channel", "C1")
    await _row(store, channel.id, WED, "failed", "the channel was archived")
    await _row(store, channel.id, WED - timedelta(days=1), "missed", "due 5 h ago")
    await _row(store, channel.id, WED - timedelta(days=2), "pending", "ratelimited")
    await _row(store, channel.id, WED - timedelta(days=3), "sent", "")
    await _row(store, channel.id, WED - timedelta(days=8), "failed", "a week ago and more")
    notes = (await status_reply(store, now=START, caller=MANAGER)).notes
    assert notes[len(SOURCES) :] == (
        "Delivery problem: 2026-08-19: failed: the channel was archived",
        "Delivery problem: 2026-08-18: missed: due 5 h ago",
        "Delivery problem: 2026-08-17: due: ratelimited",
    )


async def test_at_most_five_problems_are_listed(store: Store) -> None:
    channel = await store.targets.ensure("slack", "T1", "channel", "C1")
    for back in range(7):
        await _row(store, channel.id, WED - timedelta(days=back), "missed", f"m{back}")
    notes = (await status_reply(store, now=START, caller=MANAGER)).notes
    problems = [n for n in notes if n.startswith("Delivery problem: ")]
    assert problems == [
        f"Delivery problem: {WED - timedelta(days=back)}: missed: m{back}" for back in range(5)
    ]
