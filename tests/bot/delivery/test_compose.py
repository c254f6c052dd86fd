"""What a scheduled delivery says (bot/delivery/compose.py), on the real snapshot store:
the content of a channel digest and of a DM, decided once, and the replies rendered from it.

Wednesday 2026-08-19 has 26 Daily Papers in the snapshot, at most 38 upvotes.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from bot.delivery.compose import (
    MAX_DM_PAPERS,
    compose_digest,
    compose_dm,
    render_digest,
    render_dm,
)
from bot.delivery.dispatcher import Dispatcher
from bot.model.delivery import Content, DeliveryKey
from bot.model.papers import StoredPaper
from bot.service.papersbot import PapersBot
from bot.store import Store
from bot.store.records import ChannelDigest, Subscription
from tests.fakes.clock import START, Clock
from tests.fakes.courier import RecordingCourier
from tests.kit import fresh_feed, say

WED = date(2026, 8, 19)
STALE = timedelta(minutes=10)


async def digest_on(bot: PapersBot, store: Store, options: str = "") -> ChannelDigest:
    """Turn the digest on in MANAGER's channel with *options*; return it as stored."""
    await say(bot, f"digest on at 16:00 tz UTC {options}")
    target = await store.targets.find("slack", "T1", "channel", "C1")
    assert target is not None
    digest = await store.schedules.digest(target.id)
    assert digest is not None
    return digest


async def subscribe(bot: PapersBot, store: Store, query: str) -> Subscription:
    await say(bot, f"subscribe {query}")
    target = await store.targets.find("slack", "", "user", "U1")
    assert target is not None
    return (await store.schedules.subscriptions_of(target.id))[-1]


async def mark_sent(store: Store, target_id: int, key: DeliveryKey, papers: list[str]) -> None:
    planned = await store.ledger.plan(target_id, key, due_at=START)
    claimed = await store.ledger.claim(planned.id, now=START, lease=STALE)
    assert claimed is not None
    assert await store.ledger.mark_sent(claimed, now=START, message_id="m1", paper_ids=papers)


# -- a channel digest's content -----------------------------------------------------------


async def test_a_digest_holds_the_top_papers_of_the_newest_day(
    bot: PapersBot, store: Store
) -> None:
    digest = await digest_on(bot, store, "top 3")
    content = await compose_digest(store, digest, now=START, last_day=None)
    today = await bot.respond("today 3")  # the same ranking, through the command
    assert content == Content("papers", tuple(c.paper_id for c in today.cards), day="2026-08-19")
    assert content.papers[0] == "2608.17271"  # 38 upvotes, the day's top


async def test_a_day_already_posted_is_a_quiet_day_note_or_silence(
    bot: PapersBot, store: Store
) -> None:
    digest = await digest_on(bot, store)
    quiet = await compose_digest(store, digest, now=START, last_day="2026-08-19")
    assert quiet == Content("empty", day="2026-08-19", detail="no new Daily Papers day")
    assert quiet.speaks
    digest = await digest_on(bot, store, "empty-days silent")
    silent = await compose_digest(store, digest, now=START, last_day="2026-08-19")
    assert silent == Content("silent", day="2026-08-19", detail="no new Daily Papers day")
    assert not silent.speaks
    later = await compose_digest(store, digest, now=START, last_day="2026-08-18")
    assert later.kind == "papers"  # an older last day: the 19th is new


async def test_no_new_day_from_a_stale_feed_says_the_source_is_unavailable(
    bot: PapersBot, store: Store
) -> None:
    digest = await digest_on(bot, store, "empty-days silent")  # even a silent channel is told
    later = START + timedelta(days=2)
    content = await compose_digest(store, digest, now=later, last_day="2026-08-19")
    assert content == Content(
        "unavailable",
        day="2026-08-19",
        detail="Hugging Face has not answered since 2 days ago",
    )
    await fresh_feed(store, later)  # fetched again, still nothing new: a quiet day again
    assert (await compose_digest(store, digest, now=later, last_day="2026-08-19")).kind == "silent"


async def test_filter_and_minimum_upvotes_narrow_the_day(bot: PapersBot, store: Store) -> None:
    digest = await digest_on(bot, store, "top 10 min-upvotes 37")
    content = await compose_digest(store, digest, now=START, last_day=None)
    assert content.papers == ("2608.17271", "2608.16157")  # 38 and 37 upvotes
    digest = await digest_on(bot, store, "top 10 min-upvotes 0 filter diffusion")
    content = await compose_digest(store, digest, now=START, last_day=None)
    assert content.kind == "papers"
    stored = await store.papers.by_id(list(content.papers))
    assert stored
    for sp in stored:
        assert sp.paper.daily_day == WED
        assert "diffusion" in f"{sp.paper.title} {sp.paper.abstract}".lower()


async def test_nothing_passing_the_filter_is_a_quiet_day_of_that_day(
    bot: PapersBot, store: Store
) -> None:
    digest = await digest_on(bot, store, "min-upvotes 39")  # the day's best has 38
    content = await compose_digest(store, digest, now=START, last_day=None)
    assert content == Content("empty", day="2026-08-19", detail="nothing passed the filter")
    digest = await digest_on(bot, store, "empty-days silent min-upvotes 0 filter zebrafish")
    content = await compose_digest(store, digest, now=START, last_day=None)
    assert content == Content("silent", day="2026-08-19", detail="nothing passed the filter")


async def test_papers_the_channel_was_sent_are_left_out(bot: PapersBot, store: Store) -> None:
    digest = await digest_on(bot, store, "top 3")
    first = await compose_digest(store, digest, now=START, last_day=None)
    await mark_sent(store, digest.target_id, DeliveryKey.digest(WED), list(first.papers[:2]))
    again = await compose_digest(store, digest, now=START, last_day=None)
    assert again.papers[0] == first.papers[2]
    assert not set(again.papers) & set(first.papers[:2])
    assert len(again.papers) == 3


async def test_an_empty_store_has_no_source_to_vouch_for_it(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "empty.db") as empty:
        bot = PapersBot(store=empty, clock=Clock())
        digest = await digest_on(bot, empty)
        content = await compose_digest(empty, digest, now=START, last_day=None)
    assert content == Content(
        "unavailable", detail="no paper source has been fetched successfully yet"
    )


# -- a DM's content -------------------------------------------------------------------------


async def ranked_day(store: Store) -> list[StoredPaper]:
    return await store.papers.for_day(WED)


async def test_a_dm_holds_at_most_ten_ranked_papers_and_counts_the_rest(
    bot: PapersBot, store: Store
) -> None:
    sub = await subscribe(bot, store, "model")
    matched = await ranked_day(store)
    assert len(matched) == 26
    content = await compose_dm(store, 1, sub.target_id, matched, now=START)
    assert content.kind == "papers"
    assert len(content.papers) == MAX_DM_PAPERS
    assert content.more == 26 - MAX_DM_PAPERS
    assert content.papers[0] == "2608.17271"
    few = await compose_dm(store, 1, sub.target_id, matched[:3], now=START)
    assert (len(few.papers), few.more) == (3, 0)
    assert set(few.papers) == {sp.paper.id for sp in matched[:3]}


async def test_a_dm_leaves_out_what_the_user_was_sent_or_is_promised(
    bot: PapersBot, store: Store
) -> None:
    sub = await subscribe(bot, store, "model")
    matched = (await ranked_day(store))[:5]
    ids = [sp.paper.id for sp in matched]
    await mark_sent(store, sub.target_id, DeliveryKey.dm(sub.id, WED - timedelta(days=1)), ids[:1])
    other = await store.ledger.plan(sub.target_id, DeliveryKey.dm(99, WED), due_at=START)
    claimed = await store.ledger.claim(other.id, now=START, lease=STALE)
    assert claimed is not None
    assert await store.ledger.set_content(claimed, Content("papers", (ids[1],)))  # retrying
    mine = await store.ledger.plan(sub.target_id, DeliveryKey.dm(sub.id, WED), due_at=START)
    content = await compose_dm(store, mine.id, sub.target_id, matched, now=START)
    assert set(content.papers) == set(ids[2:])
    # its own promise is not held against it
    own = await compose_dm(store, other.id, sub.target_id, matched, now=START)
    assert ids[1] in own.papers


async def test_nothing_new_for_a_dm_is_silence(bot: PapersBot, store: Store) -> None:
    sub = await subscribe(bot, store, "model")
    assert await compose_dm(store, 1, sub.target_id, [], now=START) == Content(
        "silent", detail="no new matching papers"
    )
    matched = (await ranked_day(store))[:2]
    await mark_sent(
        store,
        sub.target_id,
        DeliveryKey.dm(sub.id, WED),
        [sp.paper.id for sp in matched],
    )
    assert (await compose_dm(store, 2, sub.target_id, matched, now=START)).kind == "silent"


# -- rendering ------------------------------------------------------------------------------


async def test_a_digest_of_papers_renders_their_cards_in_order(
    bot: PapersBot, store: Store
) -> None:
    digest = await digest_on(bot, store, "top 3 min-upvotes 5 filter model OR language")
    content = await compose_digest(store, digest, now=START, last_day=None)
    reply = await render_digest(store, digest, content, now=START)
    assert reply.text == f"Top {len(content.papers)} papers · Daily Papers 2026-08-19"
    assert tuple(card.paper_id for card in reply.cards) == content.papers
    assert reply.notes == ("Filtered by “model OR language”", "At least 5 upvotes")
    assert not reply.ephemeral
    for card in reply.cards:
        assert {action.kind for action in card.actions} <= {"show"}  # no share, no more


async def test_one_paper_is_singular_and_long_filters_are_shortened(
    bot: PapersBot, store: Store
) -> None:
    digest = await digest_on(bot, store, "top 1 filter " + "transformers " * 10)
    one = Content("papers", ("2608.17271",), day="2026-08-19")
    reply = await render_digest(store, digest, one, now=START)
    assert reply.text == "Top 1 paper · Daily Papers 2026-08-19"
    (note,) = reply.notes
    assert note.startswith("Filtered by “transformers transformers")
    assert len(note) < 100


async def test_quiet_and_unavailable_digests_say_why(bot: PapersBot, store: Store) -> None:
    digest = await digest_on(bot, store)

    async def text(content: Content) -> str:
        reply = await render_digest(store, digest, content, now=START)
        assert not reply.ephemeral
        assert not reply.cards
        return reply.text

    assert await text(Content("empty", day="2026-08-19", detail="no new Daily Papers day")) == (
        "Daily Papers digest: nothing new today (no new Daily Papers since 2026-08-19)."
    )
    assert await text(Content("empty", detail="no new Daily Papers day")) == (
        "Daily Papers digest: nothing new today (no new Daily Papers)."
    )
    assert await text(Content("empty", day="2026-08-19", detail="nothing passed the filter")) == (
        "Daily Papers digest: nothing new today "
        "(no paper since 2026-08-19 passed this channel's filter)."
    )
    unavailable = await render_digest(
        store, digest, Content("unavailable", detail="Hugging Face is down"), now=START
    )
    assert unavailable.text == "Daily Papers digest: source unavailable"
    assert unavailable.notes == (
        "No digest today: Hugging Face is down. The next digest covers the latest day once "
        "the source is back (`status` shows it).",
    )


async def test_a_dm_names_its_subscription_and_how_to_stop_it(bot: PapersBot, store: Store) -> None:
    sub = await subscribe(bot, store, "language models")
    content = Content("papers", ("2608.17271", "2608.16157"))
    reply = await render_dm(store, sub, content, now=START)
    assert reply.text == "2 new papers for “language models”"
    assert [card.paper_id for card in reply.cards] == ["2608.17271", "2608.16157"]
    assert reply.notes == (f"Subscription #{sub.id} · stop with `unsubscribe {sub.id}`",)
    assert not reply.ephemeral
    more = await render_dm(store, sub, Content("papers", ("2608.17271",), more=5), now=START)
    assert more.text == "1 new paper for “language models”"
    assert more.notes[0] == "5 more match; `search language models` shows all."


# -- end to end through the dispatcher (moved from test_dispatch.py) -------------------------


async def test_next_day_without_new_papers_says_so_or_stays_silent(
    bot: PapersBot, dispatcher: Dispatcher, courier: RecordingCourier, clock: Clock, store: Store
) -> None:
    await say(bot, "digest on at 16:00 tz UTC daily")
    clock.advance(hours=1)
    await dispatcher.tick()
    # Thursday: the feed was refreshed (fresh) but has no new day yet.
    clock.advance(days=1)
    await fresh_feed(store, clock.now)
    await dispatcher.tick()
    assert courier.sent_keys() == [DeliveryKey.digest(WED), DeliveryKey.digest(date(2026, 8, 20))]
    assert "nothing new today" in courier.posts[1].reply.text
    await say(bot, "digest on at 16:00 tz UTC daily empty-days silent")
    clock.advance(days=1)
    await fresh_feed(store, clock.now)
    await dispatcher.tick()
    assert len(courier.posts) == 2  # silence, but recorded:
    status = await say(bot, "digest status")
    assert any("stayed silent" in note for note in status.notes)


async def test_stale_feed_says_source_unavailable(
    bot: PapersBot, dispatcher: Dispatcher, courier: RecordingCourier, clock: Clock
) -> None:
    await say(bot, "digest on at 16:00 tz UTC daily")
    clock.advance(hours=1)
    await dispatcher.tick()
    clock.advance(days=2)  # no fetch for two days
    await dispatcher.tick()
    assert "source unavailable" in courier.posts[-1].reply.text
