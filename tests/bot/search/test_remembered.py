"""Remembered rankings: a page from a remembered ranking is the page a fresh search gives, for
any page and any order of asking; a change to the index, age, or a cut scan forgets it, and
``since:`` queries and the store's own (writing) connection are never remembered.

Searches go through a reader's view, as the service's do (``store.readers.reading()``)."""

from __future__ import annotations

import dataclasses
import random
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.grammar.query import parse_query
from bot.model.papers import Paper
from bot.search.engine import SearchPage, search
from bot.search.remembered import Ranked, Rankings
from bot.store import Store
from bot.store.fulltext import FullText
from tests.bot.search.conftest import NOW

# One word, common words (phrase, all, most and any-word tiers), a rare word, exclusions,
# authors, a query nothing matches, and since: (a filter the key must carry).
QUERIES = [
    "diffusion",
    "vision language model hallucination",
    "large language model reasoning benchmark",
    "speculative decoding",
    "protein structure",
    '"mixture of experts"',
    "agents -survey",
    "author:zhang video",
    "zzyzx quux",
    "reinforcement learning since:2026-06-20",
]
OFFSETS = [0, 5, 10, 30, 55, 60, 115, 200, 400]


@pytest.fixture
async def db(archive_db: Path, tmp_path: Path) -> AsyncIterator[Store]:
    """A copy of the module's database (some tests change it)."""
    path = tmp_path / "papers.db"
    shutil.copy(archive_db, path)
    opened = await Store.open(path)
    yield opened
    await opened.close()


async def page(
    store: Store, text: str, offset: int, rankings: Rankings | None = None
) -> SearchPage:
    query = parse_query(text, now=NOW)
    async with store.readers.reading() as view:
        return await search(view, query, now=NOW, offset=offset, limit=5, rankings=rankings)


@pytest.mark.parametrize("order", ["forward", "backward", "shuffled"])
async def test_every_page_from_a_remembered_ranking_is_the_fresh_page(
    db: Store, order: str
) -> None:
    offsets = list(OFFSETS)
    if order == "backward":
        offsets.reverse()
    elif order == "shuffled":
        random.Random(7).shuffle(offsets)
    rankings = Rankings()
    for text in QUERIES:
        for offset in offsets:
            fresh = await page(db, text, offset)
            assert await page(db, text, offset, rankings) == fresh, (text, offset)
            assert await page(db, text, offset, rankings) == fresh, (text, offset)  # remembered
    assert len(rankings) == len(QUERIES) - 1  # not the since: query


async def test_a_remembered_ranking_reads_no_candidates(
    db: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    rankings = Rankings()
    first = await page(db, "vision language model hallucination", 0, rankings)
    scans: list[object] = []
    original = FullText.marked

    async def counted(*args: object, **kwargs: object) -> object:
        scans.append(args)
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(FullText, "marked", counted)
    assert await page(db, "vision language model hallucination", 0, rankings) == first
    assert await page(db, "vision language model hallucination", 5, rankings) is not None
    assert scans == []  # page 2 lies within the tiers page 1 read
    await page(db, "vision language model hallucination", 400, rankings)
    assert scans  # a page past what was read reads the looser tiers


async def test_a_new_paper_is_found_at_once(db: Store) -> None:
    rankings = Rankings()
    before = await page(db, "zebrafish quokkas", 0, rankings)
    assert before.total == 0
    novel = Paper(
        id="2607.99999",
        title="Zebrafish quokkas at scale",
        abstract="We study zebrafish quokkas.",
        authors=("Ada Lovelace",),
    )
    await db.papers.upsert([novel], seen_at=NOW)
    after = await page(db, "zebrafish quokkas", 0, rankings)
    assert [h.stored.paper.id for h in after.hits] == ["2607.99999"]
    assert after == await page(db, "zebrafish quokkas", 0)


async def test_shown_papers_are_read_fresh_on_every_page(db: Store) -> None:
    rankings = Rankings()
    first = await page(db, "speculative decoding", 0, rankings)
    top = first.hits[0].stored.paper
    await db.papers.upsert([dataclasses.replace(top, upvotes=top.upvotes + 500)], seen_at=NOW)
    again = await page(db, "speculative decoding", 0, rankings)
    assert again.hits[0].stored.paper.upvotes == top.upvotes + 500


def test_a_ranking_is_used_for_ttl_seconds_and_a_new_state_forgets_all() -> None:
    now = [0.0]
    rankings = Rankings(entries=2, ttl=300.0, clock=lambda: now[0])
    ranked = Ranked(order=(1,), sizes=(1,), planned=1, found={1: (0, "all", ())})
    a, b, c = (parse_query(t, now=NOW) for t in ("a", "b", "c"))
    rankings.put(b"s1", a, ranked)
    now[0] = 300.0
    assert rankings.get(b"s1", a) is ranked
    assert rankings.get(b"s2", a) is None  # another state of the index
    assert rankings.get(None, a) is None  # no state: nothing is used
    now[0] = 300.5
    assert rankings.get(b"s1", a) is None  # too old
    rankings.put(b"s1", a, ranked)
    rankings.put(b"s1", b, ranked)
    rankings.get(b"s1", a)  # a is now the most recently used
    rankings.put(b"s1", c, ranked)
    assert rankings.get(b"s1", b) is None  # the least recently used went
    assert rankings.get(b"s1", a) is ranked
    rankings.put(b"s2", b, ranked)
    assert len(rankings) == 1
    assert rankings.get(b"s1", a) is None
    rankings.put(None, c, ranked)
    rankings.put(b"s2", c, dataclasses.replace(ranked, cut=True))
    assert rankings.get(b"s2", c) is None  # a cut ranking, or no state: not remembered


def test_how_many_tiers_a_page_reads() -> None:
    found: dict[int, tuple[int, None, tuple[str, ...]]] = {}
    partial = Ranked(order=tuple(range(12)), sizes=(4, 12), planned=3, found=found)
    assert partial.tiers_for(3) == 1  # tier 0 holds more than the page needs
    assert partial.tiers_for(4) == 2
    assert partial.tiers_for(11) == 2
    assert partial.tiers_for(12) is None  # tier 2 would be read: never read here
    whole = dataclasses.replace(partial, planned=2)
    assert whole.tiers_for(50) == 2


async def test_a_cut_scan_is_not_remembered(db: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    rankings = Rankings()
    original = FullText.marked

    async def cut(*args: object, **kwargs: object) -> object:
        matches = await original(*args, **kwargs)  # type: ignore[arg-type]
        matches.cut = True
        return matches

    monkeypatch.setattr(FullText, "marked", cut)
    result = await page(db, "diffusion", 0, rankings)
    assert result.cut
    assert len(rankings) == 0


async def test_only_a_readers_connection_names_the_state(db: Store) -> None:
    """The store's own connection also writes: a transaction begun there mid-search would
    show the search uncommitted rows, so it gives no state and nothing is remembered."""
    assert await db.fulltext.state() is None
    rankings = Rankings()
    query = parse_query("speculative decoding", now=NOW)
    await search(db, query, now=NOW, rankings=rankings)
    assert len(rankings) == 0
    async with db.readers.reading() as view:
        assert await view.fulltext.state()


async def test_since_queries_are_never_remembered(db: Store) -> None:
    """A paper's featured date changes without its text (an arXiv paper later featured on
    Daily Papers), so a since: result must not outlive it."""
    rankings = Rankings()
    text = "speculative decoding since:2026-06-28"
    before = await page(db, text, 0, rankings)
    assert len(rankings) == 0
    hits = await page(db, "speculative decoding", 0)
    older = next(
        h.stored.paper
        for h in hits.hits
        if h.stored.paper.daily_day is not None
        and h.stored.paper.daily_day.isoformat() < "2026-06-28"
    )
    await db._conn.execute("UPDATE papers SET daily_day = '2026-06-30' WHERE id = ?", (older.id,))
    await db._conn.commit()
    after = await page(db, text, 0, rankings)
    assert after.total == before.total + 1
    assert after == await page(db, text, 0)
