"""A PostgreSQL scan reads its matches one of three ways (bot.store.pg.section: walking the
newest papers, the GIN index, or a long phrase's loose matches tested one by one); the
way changes the cost, never the answer. Each scan here runs both ways and must agree."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.grammar.query import AllOf, AnyOf, Condition, Term, Without
from bot.model.papers import Paper
from bot.store.pg import papers as pg_papers
from bot.store.pg import section as pg_section
from bot.store.pg.db import PgStore
from bot.store.pg.papers import _CANDIDATE, scan_of
from bot.store.records import Ordering

NOW = datetime(2026, 8, 20, 9, tzinfo=UTC)
TEXTS = [
    "A sparse mixture of experts for language models",  # the phrase
    "Mixture-of-Experts routing at scale",  # the phrase, hyphenated
    "A mixture of many experts",  # both words, not side by side
    "Mixture of agents; experts of the field",  # both pairs, not the phrase
    "A survey of mixture of experts",  # the phrase, and an excluded word
    "MoE layers without the phrase",
    "Diffusion models, studied",
]
PAPERS = [
    Paper(
        id=f"2608.{n:05d}",
        title=TEXTS[n % len(TEXTS)],
        abstract=f"Paper {n}. {TEXTS[(n * 3) % len(TEXTS)]}.",
        authors=("Ada Lovelace",),
        daily_day=date(2026, 8, 1) + timedelta(days=n % 19),
        upvotes=n % 11,
    )
    for n in range(1, 120)
]
MOE = Term(("mixture", "of", "experts"))
CONDITIONS: list[Condition] = [
    MOE,
    AnyOf((MOE, Term(("moe",)))),
    Without(MOE, Term(("survey",))),
    Term(("mixture", "of", "agents")),
    AllOf((MOE, Term(("ada", "lovelace"), column="authors"))),
    Without(Term(("mixture",)), MOE),  # the excluded term a long phrase
    Term(("diffusion",)),
]
LAZY = CONDITIONS[:5]  # a phrase of three words or more among the terms kept


@pytest.fixture
async def store(pg_dsn: str) -> AsyncIterator[PgStore]:
    opened = await PgStore.open(pg_dsn, pool_size=2)
    await opened.papers.upsert(PAPERS, seen_at=NOW)
    try:
        yield opened
    finally:
        await opened.close()


async def every_way(store: PgStore, cond: Condition, limit: int) -> list[list[int]]:
    since = datetime(2026, 8, 10, tzinfo=UTC)
    found = [
        [c.rowid for c in await store.papers.fts_candidates(cond, limit=limit)],
        [c.rowid for c in await store.papers.fts_candidates(cond, limit=limit, since=since)],
        [m.rowid for m in await store.fulltext.marked(cond, limit=limit)],
    ]
    for kind in ("new", "popular"):
        page = await store.papers.ordered(
            cond, Ordering(kind, popular_at=5.0), cap=limit, offset=1, limit=7
        )
        found.append([page.total, *page.rowids])
    return found


@pytest.mark.parametrize("cond", CONDITIONS)
@pytest.mark.parametrize("limit", [3, 40, 200])
async def test_every_way_of_reading_a_scan_gives_the_same_rows(
    store: PgStore, monkeypatch: pytest.MonkeyPatch, cond: Condition, limit: int
) -> None:
    monkeypatch.setattr(pg_section, "DETOAST_RATIO", 1e9)  # always few: the index ways
    indexed = await every_way(store, cond, limit)
    monkeypatch.setattr(pg_section, "DETOAST_RATIO", 0.0)  # never: the planner's walk
    walked = await every_way(store, cond, limit)
    assert indexed == walked
    assert indexed[0], "every condition here finds something"


def test_only_a_phrase_of_three_words_or_more_has_a_lazy_form() -> None:
    assert scan_of(_CANDIDATE, None, 10, None) is None
    for cond in CONDITIONS:
        scan = scan_of(_CANDIDATE, cond, 10, None)
        assert scan is not None
        assert (scan.lazy is not None) is (cond in LAZY)


@pytest.mark.parametrize("cond", LAZY)
async def test_a_scan_of_few_matches_runs_its_lazy_form(
    store: PgStore, monkeypatch: pytest.MonkeyPatch, cond: Condition
) -> None:
    """With the plain SQL made to find nothing when index walks are off, rows can only
    come from the lazy form."""
    real = pg_papers.candidates_sql

    def only_walking(
        select: str, condition: Condition | None, limit: int, since: datetime | None
    ) -> tuple[str, list[object]]:
        sql, args = real(select, condition, limit, since)
        return f"SELECT * FROM ({sql}) s WHERE current_setting('enable_indexscan') = 'on'", args

    whole = await every_way(store, cond, 40)
    monkeypatch.setattr(pg_papers, "candidates_sql", only_walking)
    monkeypatch.setattr("bot.store.pg.fulltext.candidates_sql", only_walking)
    monkeypatch.setattr(pg_section, "DETOAST_RATIO", 1e9)
    assert await every_way(store, cond, 40) == whole
    monkeypatch.setattr(pg_section, "DETOAST_RATIO", 0.0)
    assert await every_way(store, cond, 40) == whole  # walking: the plain SQL again


async def test_the_lazy_form_tests_the_phrase_on_each_loose_match(store: PgStore) -> None:
    """The pairs of "mixture of experts" are both in papers that do not hold the phrase
    ("mixture of agents; experts of the field"); the lazy form reads those too and drops
    them, so it returns exactly the phrase's papers, newest first."""
    scan = scan_of(_CANDIDATE, MOE, 500, None)
    assert scan is not None
    assert scan.lazy is not None
    sql, args = scan.lazy
    async with store.papers._pool.acquire() as conn:
        rows = await conn.fetch(sql, *args)
    titles = {p.id: p for p in PAPERS}
    assert rows, "the phrase is in some papers"
    assert [r["rowid"] for r in rows] == sorted((r["rowid"] for r in rows), reverse=True)
    stored = await store.papers.by_rowid([r["rowid"] for r in rows])
    for paper in (stored[r["rowid"]].paper for r in rows):
        text = f"{titles[paper.id].title} {titles[paper.id].abstract}".lower()
        assert "mixture of experts" in text.replace("-", " "), text
