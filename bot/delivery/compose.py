"""What a scheduled delivery says: decided once, stored in the ledger, rendered on each try.

:class:`~bot.model.delivery.Content` is what a delivery carries (its kind and paper ids).
The sender composes it right after the first claim and stores it on the ledger row, so a
retry after a crash or a rate limit sends the same papers, and ``mark_sent`` records
exactly those.

- A **channel digest** holds the top N papers of the latest Daily Papers day not yet sent
  to the channel, after its filter and minimum upvotes, ranked by trending score. With no
  new day it is a short note or silence (the channel's choice), unless the feed itself is
  stale: then it says the source is unavailable (:func:`bot.delivery.freshness.feed_problem`).
- A **DM** holds the papers matching a subscription that were first stored since its last
  delivery and that the user has not been sent before (any subscription), ranked by
  trending score, at most :data:`MAX_DM_PAPERS`. Nothing new: silence, recorded.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.delivery.freshness import feed_problem
from bot.errors import shown
from bot.grammar.query import parse_query
from bot.model.delivery import Content, ContentKind
from bot.model.papers import StoredPaper
from bot.model.replies import Card, Reply
from bot.search import ranking
from bot.search.cards import card_for
from bot.search.matcher import Matcher
from bot.store.contract import Database
from bot.store.records import ChannelDigest, Subscription

MAX_DM_PAPERS = 10


def _matching(filter_text: str, papers: list[StoredPaper], now: datetime) -> list[StoredPaper]:
    if not filter_text:
        return papers
    matcher = Matcher()
    matcher.add(0, parse_query(filter_text, now=now))
    hits = set(matcher.match([sp.paper for sp in papers]).get(0, ()))
    return [sp for sp in papers if sp.paper.id in hits]


async def compose_digest(
    store: Database, digest: ChannelDigest, *, now: datetime, last_day: str | None
) -> Content:
    """The content of a channel digest due now; *last_day*: the day its last post covered."""
    quiet: ContentKind = "empty" if digest.empty_days == "note" else "silent"
    day = await store.papers.latest_day()
    if day is None or (last_day is not None and day.isoformat() <= last_day):
        problem = await feed_problem(store, now=now)
        if problem is not None:
            return Content("unavailable", day=last_day, detail=problem)
        return Content(quiet, day=last_day, detail="no new Daily Papers day")
    papers = _matching(digest.filter, await store.papers.for_day(day), now)
    papers = [sp for sp in papers if sp.paper.upvotes >= digest.min_upvotes]
    sent = await store.ledger.already_sent(digest.target_id, [sp.paper.id for sp in papers])
    ranked = ranking.rank([sp for sp in papers if sp.paper.id not in sent], now)
    chosen = tuple(sp.paper.id for sp, _ in ranked[: digest.top_n])
    if not chosen:
        return Content(quiet, day=day.isoformat(), detail="nothing passed the filter")
    return Content("papers", chosen, day=day.isoformat())


async def compose_dm(
    store: Database, delivery_id: int, target_id: int, matched: list[StoredPaper], *, now: datetime
) -> Content:
    """The content of DM *delivery_id* from the papers its subscription *matched* since
    last time, leaving out what the user was sent, and what another of their DMs already
    composed but not yet sent (it is retrying) will carry."""
    taken = await store.ledger.already_sent(target_id, [sp.paper.id for sp in matched])
    for other in await store.ledger.promised(target_id, besides=delivery_id):
        taken.update(other.papers)
    fresh = [sp for sp in matched if sp.paper.id not in taken]
    if not fresh:
        return Content("silent", detail="no new matching papers")
    ranked = ranking.rank(fresh, now)
    chosen = tuple(sp.paper.id for sp, _ in ranked[:MAX_DM_PAPERS])
    return Content("papers", chosen, more=max(0, len(ranked) - MAX_DM_PAPERS))


async def _cards(store: Database, content: Content, now: datetime) -> tuple[Card, ...]:
    stored = await store.papers.by_id(list(content.papers))
    cards = []
    for sp in stored:
        card = card_for(sp, ranking.trend(sp, now))
        cards.append(replace(card, actions=tuple(a for a in card.actions if a.kind == "show")))
    return tuple(cards)


async def render_digest(
    store: Database, digest: ChannelDigest, content: Content, *, now: datetime
) -> Reply:
    if content.kind == "unavailable":
        return Reply(
            text="Daily Papers digest: source unavailable",
            notes=(
                f"No digest today: {content.detail}. The next digest covers the latest day "
                "once the source is back (`status` shows it).",
            ),
            ephemeral=False,
        )
    if content.kind != "papers":
        since = f" since {content.day}" if content.day else ""
        why = (
            f"no paper{since} passed this channel's filter"
            if content.detail == "nothing passed the filter"
            else f"no new Daily Papers{since}"
        )
        return Reply(text=f"Daily Papers digest: nothing new today ({why}).", ephemeral=False)
    cards = await _cards(store, content, now)
    noun = "paper" if len(cards) == 1 else "papers"
    notes = []
    if digest.filter:
        notes.append(f"Filtered by “{shown(digest.filter, 80)}”")
    if digest.min_upvotes:
        notes.append(f"At least {digest.min_upvotes} upvotes")
    return Reply(
        text=f"Top {len(cards)} {noun} · Daily Papers {content.day}",
        cards=cards,
        notes=tuple(notes),
        ephemeral=False,
    )


async def render_dm(
    store: Database, sub: Subscription, content: Content, *, now: datetime
) -> Reply:
    cards = await _cards(store, content, now)
    noun = "paper" if len(cards) == 1 else "papers"
    notes = [f"Subscription #{sub.id} · stop with `unsubscribe {sub.id}`"]
    if content.more:
        notes.insert(0, f"{content.more} more match; `search {shown(sub.query, 80)}` shows all.")
    return Reply(
        text=f"{len(cards)} new {noun} for “{shown(sub.query, 100)}”",
        cards=cards,
        notes=tuple(notes),
        ephemeral=False,
    )
