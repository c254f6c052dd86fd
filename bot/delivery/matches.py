"""Which new papers each due DM carries: one matcher pass for every subscription due now.

"New" means first stored since the subscription's last DM (any cadence: a weekly one looks
back a week or more), or, before its first, since a day before it was made; never further
back than :data:`HISTORY_LOOKBACK`, and never a paper older than :data:`RECENT_PAPER`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from bot.errors import QueryError
from bot.grammar.query import parse_query
from bot.model.delivery import Delivery
from bot.model.papers import StoredPaper
from bot.search.matcher import Matcher, token_frequencies
from bot.store.contract import Database
from bot.store.records import Subscription

log = logging.getLogger(__name__)

DM_LOOKBACK = timedelta(days=7)  # how far back a subscription's first DM looks, at most
FIRST_DM_LOOKBACK = timedelta(days=1)  # a new subscription's first DM: the last day's papers
HISTORY_LOOKBACK = timedelta(days=35)  # a weekly DM's last delivery is found within this
RECENT_PAPER = timedelta(days=14)  # older papers are never "new" (a `show` or backfill)
PAPERS_SCANNED = 5000  # newest papers looked at in one pass


def recent(stored: StoredPaper, now: datetime) -> bool:
    """Whether a paper is recent enough to be "new" in a DM: featured on Daily Papers, else
    published, within :data:`RECENT_PAPER`; a paper stored by `show` or a backfill of old
    days is new to the store, not to the field."""
    paper = stored.paper
    when = paper.daily_day or (paper.published.date() if paper.published else None)
    return when is None or when >= (now - RECENT_PAPER).date()


class SubscriptionMatches:
    """The matcher, kept across passes: each subscription's query is compiled once (a
    morning of 100,000 due subscriptions then costs one matching pass, not a rebuild).
    Token rarity comes from the first batch of papers it saw."""

    def __init__(self, store: Database) -> None:
        self._store = store
        self._matcher: Matcher | None = None
        self._indexed: dict[int, str] = {}  # subscription id -> the query in the matcher

    async def for_due(self, due: Sequence[Delivery], now: datetime) -> dict[int, list[StoredPaper]]:
        """For the due DM rows not yet composed: subscription id → papers it matches that
        were first stored since its last delivery."""
        sub_ids = {
            d.key.subscription for d in due if d.key.subscription is not None and d.content is None
        }
        if not sub_ids:
            return {}
        subs = await self._store.schedules.subscriptions_by_id(sorted(sub_ids))
        if not subs:
            return {}
        last = await self._store.ledger.last_sent_subs(
            [sub.target_id for sub in subs], since=now - HISTORY_LOOKBACK
        )
        watermarks = {
            sub.id: last.get(sub.id) or max(sub.created_at - FIRST_DM_LOOKBACK, now - DM_LOOKBACK)
            for sub in subs
        }
        papers = await self._store.papers.seen_since(min(watermarks.values()), limit=PAPERS_SCANNED)
        papers = [sp for sp in papers if recent(sp, now)]
        matcher = self._index(subs, papers, now)
        by_id = {sp.paper.id: sp for sp in papers}
        found: dict[int, list[StoredPaper]] = {sub_id: [] for sub_id in watermarks}
        for sub_id, paper_ids in matcher.match([sp.paper for sp in papers]).items():
            if (mark := watermarks.get(sub_id)) is not None:  # due now (others are indexed too)
                found[sub_id] = [by_id[p] for p in paper_ids if by_id[p].first_seen > mark]
        return found

    def _index(
        self, subs: Sequence[Subscription], papers: Sequence[StoredPaper], now: datetime
    ) -> Matcher:
        if self._matcher is None:
            self._matcher = Matcher(token_frequencies(sp.paper for sp in papers))
        for sub in subs:
            if self._indexed.get(sub.id) == sub.query:
                continue
            try:
                self._matcher.add(sub.id, parse_query(sub.query, now=now))
            except QueryError as exc:  # a stored query that no longer parses: match nothing
                log.warning("subscription %d has an unparsable query: %s", sub.id, exc)
                self._matcher.remove(sub.id)
            self._indexed[sub.id] = sub.query  # a changed query re-adds
        return self._matcher

    def forget_all_but(self, live: Collection[int]) -> int:
        """Drop removed subscriptions from the matcher; how many were dropped."""
        gone = [sub_id for sub_id in self._indexed if sub_id not in live]
        for sub_id in gone:
            del self._indexed[sub_id]
            if self._matcher is not None:
                self._matcher.remove(sub_id)
        return len(gone)
