"""The real search engine on both stores: the same recorded papers (the archive's last 40
days, 1,233 papers) in SQLite and in PostgreSQL give the same hits, in the same order, in
the same tiers with the same labels, for every kind of query the grammar has."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from bot.grammar.query import parse_query
from bot.model.papers import Paper
from bot.search.engine import SearchPage, search
from bot.sources.snapshot import SnapshotSource
from bot.store import Database, open_database
from tests.pg import PostgresServer

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # the archive ends on 2026-06-30
DAYS = 40
# Papers of our own beside the recorded ones, for diacritics and hyphenated names.
EXTRA = [
    Paper(
        id="2606.99001",
        title="Müller-Lyer illusions in GPT-4o and naïve vision models",
        abstract="We probe GPT-4o with the Müller-Lyer illusion.",
        authors=("Jürgen Müller", "Zoë Ångström"),
        daily_day=date(2026, 6, 30),
        upvotes=3,
    ),
    Paper(
        id="2606.99002",
        title="Muller on optics",
        abstract="Classical optics, without any language model.",
        authors=("Ana Muller",),
        daily_day=date(2026, 6, 29),
        upvotes=1,
    ),
]

QUERIES = [
    # phrase, all words, any word; and the one-word query
    "world models",
    "reasoning",
    '"mixture of experts"',
    # most words (3+ words): "matches 3 of 4 words" labels
    "video generation diffusion hallucination",
    "sparse attention long context efficiency",
    "language model reinforcement learning reward",
    # exclusions
    "diffusion -video",
    'language models -"reinforcement learning"',
    "agents -benchmark -survey",
    # authors
    "author:Müller",
    'author:"Jürgen Müller"',
    "illusion author:muller",
    "vision -author:Muller",
    # dates and orders
    "reasoning since:2026-06-15",
    "agent sort:new",
    "agent sort:trending",
    "sort:new since:2026-06-25",
    "sort:trending",
    # OR groups
    "llm OR transformer",
    '"world model" OR simulator video',
    "robot OR robotics OR embodied manipulation policy",
    # diacritics and hyphenated words
    "Müller",
    "muller lyer",
    '"Müller-Lyer"',
    "GPT-4o",
    "gpt 4o",
    "naive",
    "Mixture-of-Experts routing",
    "Kwai Keye-VL-2.0 Technical Report",
]


@pytest.fixture(scope="module")
def papers(archive: Path) -> list[tuple[datetime, list[Paper]]]:
    days = [(day, batch) for day, batch in SnapshotSource(archive).days() if day is not None]
    batches = [(datetime.combine(day, time(8), UTC), batch) for day, batch in days[-DAYS:]]
    return [*batches, (NOW, EXTRA)]


async def _fill(url: str, batches: list[tuple[datetime, list[Paper]]]) -> None:
    store = await open_database(url)
    try:
        for seen, batch in batches:
            await store.papers.upsert(batch, seen_at=seen)
        # a rewritten summary: the PostgreSQL index must follow the text
        first = batches[-2][1][0]
        changed = dataclasses.replace(first, ai_summary="An Ångström-scale rewrite.")
        await store.papers.upsert([changed], seen_at=NOW)
    finally:
        await store.close()


@pytest.fixture(scope="module")
def urls(
    papers: list[tuple[datetime, list[Paper]]],
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: PostgresServer,
) -> Iterator[tuple[str, str]]:
    """The same papers in a SQLite file and in a PostgreSQL database, built once."""
    sqlite = str(tmp_path_factory.mktemp("both") / "papers.db")
    postgres = postgres_server.create_database()
    asyncio.run(_fill(sqlite, papers))
    asyncio.run(_fill(postgres, papers))
    try:
        yield sqlite, postgres
    finally:
        postgres_server.drop_database(postgres)


@pytest.fixture
async def stores(urls: tuple[str, str]) -> AsyncIterator[tuple[Database, Database]]:
    sqlite = await open_database(urls[0])
    postgres = await open_database(urls[1])
    try:
        yield sqlite, postgres
    finally:
        await sqlite.close()
        await postgres.close()


async def run(db: Database, text: str, *, offset: int = 0, limit: int = 10) -> SearchPage:
    async with db.readers.reading() as reads:
        query = parse_query(text, now=NOW)
        return await search(reads, query, now=NOW, offset=offset, limit=limit)


def shown(page: SearchPage) -> list[tuple[str, int, str | None, str | None]]:
    return [(h.stored.paper.id, h.tier, h.kind, h.label) for h in page.hits]


@pytest.mark.parametrize("text", QUERIES)
async def test_both_stores_give_the_same_hits(stores: tuple[Database, Database], text: str) -> None:
    sqlite, postgres = stores
    for offset in (0, 10):
        want = await run(sqlite, text, offset=offset)
        got = await run(postgres, text, offset=offset)
        assert shown(got) == shown(want)
        assert (got.total, got.more_unknown) == (want.total, want.more_unknown)
    assert (await run(sqlite, text)).hits, "every query here finds something"


async def test_the_queries_cover_every_tier_and_label(stores: tuple[Database, Database]) -> None:
    _, postgres = stores
    kinds: set[str | None] = set()
    labels = 0
    for text in QUERIES:
        page = await run(postgres, text, limit=200)
        kinds |= {hit.kind for hit in page.hits}
        labels += sum(1 for hit in page.hits if hit.label)
    assert kinds == {"phrase", "all", "most", "any", None}
    assert labels > 0


async def test_diacritics_and_authors_find_our_papers(stores: tuple[Database, Database]) -> None:
    _, postgres = stores
    for text in ("Müller", "author:muller", '"Müller-Lyer"', "naive gpt-4o"):
        ids = [hit.stored.paper.id for hit in (await run(postgres, text)).hits]
        assert "2606.99001" in ids, text
    only = await run(postgres, 'author:"Jürgen Müller"')
    assert [hit.stored.paper.id for hit in only.hits] == ["2606.99001"]
    optics = await run(postgres, "optics -author:Jürgen")
    assert "2606.99001" not in [hit.stored.paper.id for hit in optics.hits]
