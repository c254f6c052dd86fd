"""Search over a store holding the archive's last 40 recorded days (1,233 real papers)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.grammar.query import parse_query
from bot.model.papers import Paper
from bot.search import ranking
from bot.search.engine import CANDIDATES_PER_TIER, SCORED_PER_TIER, Hit, SearchPage, search
from bot.store import Store
from tests.bot.search.conftest import NOW

_TOKEN = re.compile(r"[^\W_]+")


@pytest.fixture
async def db(archive_db: Path) -> AsyncIterator[Store]:
    """The module's database, opened for one test (named apart from the suite's ``store``)."""
    opened = await Store.open(archive_db)
    yield opened
    await opened.close()


async def run(store: Store, text: str, *, offset: int = 0, limit: int = 1000) -> SearchPage:
    return await search(store, parse_query(text, now=NOW), now=NOW, offset=offset, limit=limit)


def ids(page: SearchPage) -> list[str]:
    return [hit.stored.paper.id for hit in page.hits]


def day_of(hit: Hit) -> date:
    day = hit.stored.paper.daily_day
    assert day is not None
    return day


def tokens(text: str) -> list[str]:
    """Index tokens as FTS5's unicode61 tokenizer with remove_diacritics makes them."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _TOKEN.findall(bare.lower())


def columns(hit: Hit) -> list[list[str]]:
    paper = hit.stored.paper
    texts = [
        paper.title,
        paper.abstract,
        "\n".join(paper.authors),
        "\n".join(paper.ai_keywords),
        paper.ai_summary or "",
    ]
    return [tokens(text) for text in texts]


def has_phrase(column: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(column[i : i + n] == phrase for i in range(len(column) - n + 1))


async def test_phrase_matches_before_all_words_before_any_word(db: Store) -> None:
    page = await run(db, "world models")
    tiers = [hit.tier for hit in page.hits]
    assert tiers == sorted(tiers)
    assert set(tiers) == {0, 1, 2}
    assert page.total == len(page.hits)
    assert not page.has_more
    for hit in page.hits:
        cols = columns(hit)
        every = {tok for col in cols for tok in col}
        phrase = any(has_phrase(col, ["world", "models"]) for col in cols)
        both = {"world", "models"} <= every
        assert (hit.tier, phrase, both) in {(0, True, True), (1, False, True), (2, False, False)}


async def test_one_word_query_has_one_tier(db: Store) -> None:
    page = await run(db, "reasoning")
    assert page.total == SCORED_PER_TIER  # the newest matches, scored
    assert {hit.tier for hit in page.hits} == {0}
    assert all("reasoning" in {t for col in columns(h) for t in col} for h in page.hits)


@pytest.mark.parametrize(
    ("title", "paper_id"),
    [
        ("PhysBrain 1.0 Technical Report", "2605.15298"),
        ("Kwai Keye-VL-2.0 Technical Report", "2606.10651"),
        ("Generative Recursive Reasoning", "2605.19376"),
        ("Are We Ready For An Agent-Native Memory System?", "2606.24775"),
    ],
)
async def test_exact_title_comes_first(db: Store, title: str, paper_id: str) -> None:
    page = await run(db, title, limit=5)
    assert ids(page)[0] == paper_id
    assert page.hits[0].tier == 0
    assert page.hits[0].stored.paper.title == title


async def test_exact_title_beats_a_more_famous_partial_match(db: Store) -> None:
    # Kwai Keye (163 upvotes) shares "Technical Report" with PhysBrain (97 upvotes).
    page = await run(db, "PhysBrain 1.0 Technical Report")
    order = ids(page)
    assert order.index("2605.15298") < order.index("2606.10651")
    kwai = page.hits[order.index("2606.10651")]
    assert kwai.stored.paper.upvotes > page.hits[0].stored.paper.upvotes
    assert kwai.tier > page.hits[0].tier  # popularity never lifts a paper over a better tier


async def test_exclusion_removes_matches(db: Store) -> None:
    # sort:new reads up to CANDIDATES_PER_TIER matches unscored, so totals are exact here
    everything = await run(db, "diffusion sort:new")
    assert SCORED_PER_TIER < everything.total < CANDIDATES_PER_TIER
    without = await run(db, "diffusion -video sort:new")
    assert 0 < without.total < everything.total
    for hit in without.hits:
        assert "video" not in {t for col in columns(hit) for t in col}
    with_video = [h for h in everything.hits if "video" in {t for c in columns(h) for t in c}]
    assert without.total + len(with_video) == everything.total


async def test_excluded_phrase_removes_only_the_phrase(db: Store) -> None:
    without = await run(db, 'diffusion -"video generation" sort:new')
    without_word = await run(db, "diffusion -video sort:new")
    assert without.total > without_word.total
    for hit in without.hits:
        assert not any(has_phrase(col, ["video", "generation"]) for col in columns(hit))


async def test_author_filter(db: Store, corpus: list[Paper]) -> None:
    expected = {p.id for p in corpus if "Jingren Zhou" in p.authors}
    assert len(expected) >= 5
    page = await run(db, 'author:"Jingren Zhou"')
    assert set(ids(page)) == expected
    narrowed = await run(db, 'reasoning author:"Jingren Zhou"')
    assert 0 < narrowed.total < page.total
    assert set(ids(narrowed)) <= expected
    excluded = await run(db, 'reasoning -author:"Jingren Zhou"')
    assert not set(ids(excluded)) & expected


async def test_since_filter(db: Store) -> None:
    everything = await run(db, "diffusion")
    recent = await run(db, "diffusion since:2026-06-20")
    assert 0 < recent.total < everything.total
    days = [day_of(h) for h in recent.hits]
    assert min(days) >= date(2026, 6, 20)
    expected = [h for h in everything.hits if day_of(h) >= date(2026, 6, 20)]
    assert recent.total == len(expected)


async def test_since_span_counts_back_from_now(db: Store) -> None:
    page = await run(db, "agents since:7d")
    cutoff = NOW - timedelta(days=7)
    assert page.total > 0
    for hit in page.hits:
        assert ranking.featured_at(hit.stored) >= cutoff


async def test_sort_new_orders_by_date(db: Store) -> None:
    page = await run(db, "video generation sort:new")
    days = [day_of(h) for h in page.hits]
    assert days == sorted(days, reverse=True)
    assert days[0] == date(2026, 6, 30)
    assert {h.tier for h in page.hits} == {0}
    for hit in page.hits:  # only the strict tier: every word matches
        assert {"video", "generation"} <= {t for col in columns(hit) for t in col}


async def test_sort_trending_orders_by_trending_score(db: Store) -> None:
    page = await run(db, "agent sort:trending")
    assert page.total > 50

    def trending(hit: Hit) -> float:
        paper = hit.stored.paper
        age = (NOW - ranking.featured_at(hit.stored)).total_seconds() / 86400
        return ranking.score(
            upvotes=paper.upvotes, comments=paper.comments, stars=paper.github_stars, age_days=age
        )

    scores = [trending(hit) for hit in page.hits]
    assert scores == sorted(scores, reverse=True)
    relevance = await run(db, "agent")
    assert ids(page) != ids(relevance)
    assert set(ids(relevance)) <= set(ids(page))  # relevance scores the newest matches


async def test_pages_are_disjoint(db: Store) -> None:
    first = await run(db, "technical report", offset=0, limit=5)
    second = await run(db, "technical report", offset=5, limit=5)
    assert len(first.hits) == len(second.hits) == 5
    assert not set(ids(first)) & set(ids(second))
    assert first.has_more
    assert second.has_more
    assert (first.offset, second.offset) == (0, 5)


async def test_paging_through_matches_one_big_page(db: Store) -> None:
    whole = await run(db, "technical report")
    assert whole.total >= 30
    seen: list[str] = []
    offset = 0
    while True:
        page = await run(db, "technical report", offset=offset, limit=5)
        seen.extend(ids(page))
        offset += 5
        if not page.has_more:
            break
        assert page.hits
    assert len(seen) == len(set(seen))
    assert seen == ids(whole)
    assert page.total == whole.total
    assert not page.more_unknown


async def test_first_page_may_not_know_the_total(db: Store) -> None:
    page = await run(db, "world models", limit=5)
    whole = await run(db, "world models")
    assert page.more_unknown  # looser tiers were not fetched for page one
    assert 5 < page.total <= whole.total
    assert ids(page) == ids(whole)[:5]


async def test_offset_past_the_end_is_empty(db: Store) -> None:
    page = await run(db, "technical report", offset=10_000, limit=5)
    assert page.hits == ()
    assert not page.has_more


async def test_no_match_is_an_empty_page(db: Store) -> None:
    page = await run(db, "zzyzx qwxyzzy")
    assert page.hits == ()
    assert page.total == 0
    assert not page.has_more


async def test_sort_alone_lists_recent_papers(db: Store, corpus: list[Paper]) -> None:
    page = await run(db, "sort:new", limit=10)
    assert page.total == len({p.id for p in corpus})
    assert page.has_more
    assert {h.stored.paper.daily_day for h in page.hits} == {date(2026, 6, 30)}


async def test_since_alone_lists_the_window(db: Store, corpus: list[Paper]) -> None:
    cutoff = NOW - timedelta(days=7)
    expected = {
        p.id
        for p in corpus
        if p.daily_day is not None and datetime.combine(p.daily_day, time(), UTC) >= cutoff
    }
    page = await run(db, "since:7d")
    assert expected
    assert set(ids(page)) == expected
