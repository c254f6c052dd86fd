"""Search: run a parsed :class:`Query` against the store and rank the matches.

Relevance ranking works in tiers, read best first, each only when the better ones cannot
fill the page:

    phrase   all words adjacent, as one phrase      "vision language model"
    all      every word (the query's meaning)        vision AND language AND model
    most     every word but one (3 words or more)    matches 3 of 4 words: no "hallucination"
    any      any word (fills in after the rest)      vision OR language OR ...

Inside a tier, papers are ordered by BM25F computed over the tier's bounded candidates
(:mod:`bot.search.scoring`: term frequencies per field, the AI summary a field of its own,
rarity from the index's vocabulary); in the looser tiers, papers with more of the query's
words come first, then those whose title holds every word they match (known-item search:
someone typing a title's words), then the score. Popularity only breaks ties: it carried
little signal on the dev set and undid gains when it weighed more. The measured path to this
design is in ``bench/quality_log.md``.

Work is bounded: each relevance tier reads and scores at most its newest
:data:`SCORED_PER_TIER` matches (the any-word tier :data:`SCORED_ANY_WORD`), so a common
query ranks the best of its newest matches; scoring reads nothing but those rows, and term
rarity is counted up to a cap. Matching is bounded too: the store stops a tier's scan at
its budget of matching time (SQLite: :data:`bot.store.section.MATCH_SECONDS`), keeping the newest
matches found, and the page says so (``cut``; its total is then a lower bound). On the
dev set, 60 to 2,000 scored candidates per tier score within 0.005 P@5. ``sort:trending``
and ``sort:new`` use the strict tier only and are not scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from bot.grammar.query import Query, Term, Tier, TierKind
from bot.model.papers import StoredPaper
from bot.search import ranking, scoring
from bot.search.remembered import Ranked, Rankings
from bot.store.contract import Reads
from bot.store.records import Ordering

CANDIDATES_PER_TIER = 2000  # unscored reads: sort:new, sort:trending, filters alone
SCORED_PER_TIER = 60  # relevance tiers, whose candidates are read and scored
SCORED_ANY_WORD = 60
_POPULAR = math.log1p(100)  # upvotes at which popularity counts fully

Key = tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: the stored paper, the tier it matched in (0 is best) and, for a
    query with words, the tier's kind and which of the query's words it lacks."""

    stored: StoredPaper
    tier: int
    kind: TierKind | None = None
    words: int = 0  # how many words (groups) the query has
    missing: tuple[str, ...] = ()

    @property
    def label(self) -> str | None:
        """How it matched, when that is less than every word: ``matches 3 of 4 words: no
        “hallucination”``; ``None`` for phrase and all-word matches."""
        if not self.missing:
            return None
        found = self.words - len(self.missing)
        lacks = ", ".join(f"“{word}”" for word in self.missing)
        return f"matches {found} of {self.words} words: no {lacks}"


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of results; ``total`` is exact unless ``more_unknown`` (then a lower bound).
    ``cut``: matching stopped at the store's budget of matching time in some tier, so older papers
    may match that were not reached."""

    hits: tuple[Hit, ...]
    offset: int
    total: int
    more_unknown: bool = False
    cut: bool = False

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.hits) < self.total


def _plan(query: Query) -> list[tuple[Tier | None, int]]:
    """The tiers to read, with how many candidates each may contribute."""
    if not query.has_text:
        return [(None, CANDIDATES_PER_TIER)]
    if query.sort != "relevance":
        strict = query.strict()
        assert strict is not None  # the query has text
        return [(Tier("all", strict), CANDIDATES_PER_TIER)]
    return [
        (tier, SCORED_ANY_WORD if tier.kind == "any" else SCORED_PER_TIER) for tier in query.tiers()
    ]


def _ordering(query: Query, now: datetime) -> Ordering:
    """How an unscored search is ordered: newest first, trending score, or popularity
    (words-free relevance); the store computes it with :mod:`bot.search.ranking`'s numbers."""
    if query.sort == "new":
        return Ordering("new")
    if query.sort == "trending":
        return Ordering(
            "trending",
            now=now.timestamp(),
            comment_weight=ranking.COMMENT_WEIGHT,
            star_weight=ranking.STAR_WEIGHT,
            gravity=ranking.GRAVITY,
        )
    return Ordering("popular", popular_at=_POPULAR)


def _popularity(upvotes: int) -> float:
    return min(1.0, math.log1p(upvotes) / _POPULAR)


class _Ranking:
    """The keys and match details of every candidate seen so far, best tier first."""

    def __init__(self, query: Query, stats: scoring.Stats) -> None:
        self.query = query
        terms: tuple[Term, ...] = tuple(t for g in query.groups for t in g)
        self.scorer = scoring.Scorer(terms, stats, query.whole_phrase())
        self.keys: dict[int, Key] = {}
        self.found: dict[int, tuple[int, TierKind | None, tuple[str, ...]]] = {}
        self.cut = False  # a tier's matching stopped at the store's budget

    def missing(self, found: frozenset[Term]) -> tuple[str, ...]:
        units = self.query.units()
        return tuple(
            unit
            for unit, group in zip(units, self.query.groups, strict=True)
            if not found.intersection(group)
        )

    async def add_tier(self, store: Reads, number: int, tier: Tier, cap: int) -> None:
        cands = await store.fulltext.marked(tier.condition, limit=cap, since=self.query.since)
        self.cut |= cands.cut
        for cand in cands:
            if cand.rowid in self.keys:
                continue
            scored = self.scorer.score(cand)
            missing = self.missing(scored.found) if tier.kind in ("most", "any") else ()
            loose = tier.kind != "phrase"
            self.keys[cand.rowid] = (
                number,
                len(missing),
                -float(loose and scored.title_holds),
                -scored.score,
                -_popularity(cand.upvotes),
            )
            self.found[cand.rowid] = (number, tier.kind, missing)


async def _stats(store: Reads, query: Query) -> scoring.Stats:
    papers, means = await store.fulltext.size()
    words = sorted({tok for group in query.groups for term in group for tok in term.tokens})
    return scoring.Stats(papers, means, await store.fulltext.document_counts(words))


async def _ordered(
    store: Reads,
    query: Query,
    tier: Tier | None,
    cap: int,
    *,
    now: datetime,
    offset: int,
    limit: int,
) -> SearchPage:
    """An unscored search (``sort:new``, ``sort:trending``, or filters alone): the store
    orders the newest *cap* candidates itself and returns only the page."""
    found = await store.papers.ordered(
        tier.condition if tier else None,
        _ordering(query, now),
        cap=cap,
        offset=offset,
        limit=limit,
        since=query.since,
    )
    stored = await store.papers.by_rowid(list(found.rowids))
    hits = tuple(Hit(stored[r], 0) for r in found.rowids if r in stored)
    return SearchPage(
        hits=hits, offset=offset, total=found.total, more_unknown=found.cut, cut=found.cut
    )


async def _rank(
    store: Reads, query: Query, plan: list[tuple[Tier | None, int]], end: int
) -> Ranked:
    """Read and rank the tiers of *query* as far as a page ending at *end* needs: once the
    better tiers hold more than *end* candidates, looser tiers cannot reach that page."""
    ranking = _Ranking(query, await _stats(store, query))
    sizes: list[int] = []
    for number, (tier, cap) in enumerate(plan):
        if sizes and sizes[-1] > end:
            break
        assert tier is not None  # a query with words has tiers
        await ranking.add_tier(store, number, tier, cap)
        sizes.append(len(ranking.keys))
    keys = ranking.keys
    order = tuple(sorted(keys, key=lambda rowid: (keys[rowid], -rowid)))
    return Ranked(order, tuple(sizes), len(plan), ranking.found, ranking.cut)


async def search(
    store: Reads,
    query: Query,
    *,
    now: datetime,
    offset: int = 0,
    limit: int = 5,
    rankings: Rankings | None = None,
) -> SearchPage:
    """Rank the matches of *query* and return the page at *offset*.

    Tiers are read in order and only as far as the page needs (:func:`_rank`). With
    *rankings*, a ranking made for the index's current state is used again when it reaches
    this page (:mod:`bot.search.remembered`), and a new one is remembered.
    """
    plan = _plan(query)
    if not (query.sort == "relevance" and query.has_text):
        [(tier, cap)] = plan
        return await _ordered(store, query, tier, cap, now=now, offset=offset, limit=limit)
    end = offset + limit
    if query.since is not None:  # it filters on dates the index does not hold: never kept
        rankings = None
    state = await store.fulltext.state() if rankings is not None else None
    ranked = rankings.get(state, query) if rankings is not None else None
    tiers = ranked.tiers_for(end) if ranked is not None else None
    if ranked is None or tiers is None:
        ranked = await _rank(store, query, plan, end)
        if rankings is not None:
            rankings.put(state, query, ranked)
        tiers = ranked.tiers_for(end)
        assert tiers is not None  # _rank read as far as this page needs
    total = ranked.sizes[tiers - 1]  # the candidates of the tiers this page reads
    page = ranked.order[offset : min(end, total)]
    stored = await store.papers.by_rowid(list(page))
    words = len(query.groups)
    hits = tuple(
        Hit(stored[r], tier, kind, words, missing)
        for r in page
        if r in stored
        for tier, kind, missing in [ranked.found[r]]
    )
    stopped_early = tiers < ranked.planned
    return SearchPage(
        hits=hits,
        offset=offset,
        total=total,
        more_unknown=stopped_early or ranked.cut,
        cut=ranked.cut,
    )
