"""Search: run a parsed :class:`Query` against the store and rank the matches.

Relevance ranking works in tiers, because on the real archive (search_dev.json) plain BM25
reaches precision@5 of about 0.16 while ranking exact-phrase matches first, then
all-words matches, then any-word matches roughly doubles it:

    tier 0   all words adjacent, as one phrase     "sparse autoencoders"
    tier 1   every word (the query's meaning)       sparse AND autoencoders
    tier 2   any word (fills in after the rest)     sparse OR autoencoders

Within a tier, BM25 (normalised to the tier's best) is blended with popularity
(log upvotes), so a famous exact-title match beats a stray word match; popularity never
lifts a paper over a better tier, which measurably undid the gain. Work is bounded: each
tier scores at most :data:`CANDIDATES_PER_TIER` of its newest matches.
``sort:trending`` and ``sort:new`` use only the strict tier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from bot import ranking
from bot.models import StoredPaper
from bot.query import Query
from bot.store import Store
from bot.store.db import Candidate

CANDIDATES_PER_TIER = 2000
POPULARITY_WEIGHT = 0.1
_POPULAR = math.log1p(100)  # upvotes at which popularity counts fully


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: the stored paper and the tier it matched in (0 is best)."""

    stored: StoredPaper
    tier: int


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of results; ``total`` is exact unless ``more_unknown`` (then a lower bound)."""

    hits: tuple[Hit, ...]
    offset: int
    total: int
    more_unknown: bool = False

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.hits) < self.total


def _tiers(query: Query) -> list[str | None]:
    if not query.has_text:
        return [None]
    if query.sort != "relevance":
        return [query.fts_strict()]
    tiers = [query.fts_phrase(), query.fts_strict(), query.fts_any()]
    return [t for t in tiers if t is not None]


def _sort_key(query: Query, tier: int, cand: Candidate, best: float, now: float) -> float:
    """Lower is better, within one tier."""
    if query.sort == "new":
        return -cand.featured
    if query.sort == "trending":
        return -ranking.score(
            upvotes=cand.upvotes,
            comments=cand.comments,
            stars=cand.stars,
            age_days=(now - cand.featured) / 86400,
        )
    text = (-cand.bm25 / best) if best > 0 else 0.0
    popularity = min(1.0, math.log1p(cand.upvotes) / _POPULAR)
    return -(text + POPULARITY_WEIGHT * popularity)


async def search(
    store: Store, query: Query, *, now: datetime, offset: int = 0, limit: int = 5
) -> SearchPage:
    """Rank the matches of *query* and return the page at *offset*.

    Tiers are fetched in order and only as far as the page needs: once the better tiers
    hold more results than ``offset + limit``, looser tiers cannot reach this page.
    """
    keys: dict[int, tuple[int, float]] = {}
    tiers = _tiers(query)
    stopped_early = False
    for tier, expr in enumerate(tiers):
        if len(keys) > offset + limit:
            stopped_early = True
            break
        cands = await store.fts_candidates(expr, limit=CANDIDATES_PER_TIER, since=query.since)
        best = max((-c.bm25 for c in cands), default=0.0)
        now_ts = now.timestamp()
        for cand in cands:
            if cand.rowid not in keys:
                keys[cand.rowid] = (tier, _sort_key(query, tier, cand, best, now_ts))
    order = sorted(keys, key=lambda rowid: (keys[rowid], -rowid))
    page = order[offset : offset + limit]
    stored = await store.papers_by_rowid(page)
    hits = tuple(Hit(stored[r], keys[r][0]) for r in page if r in stored)
    return SearchPage(hits=hits, offset=offset, total=len(order), more_unknown=stopped_early)
