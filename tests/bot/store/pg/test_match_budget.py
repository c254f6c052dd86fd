"""On PostgreSQL a full-text scan is cancelled by the server after its budget
(MATCH_TIMEOUT_MS): the scan comes back empty and cut, the search says so, and the
connection it ran on goes back to the pool unharmed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from bot.grammar.query import Condition, Term, parse_query
from bot.model.papers import Paper
from bot.search.engine import search
from bot.store.pg import papers as pg_papers
from bot.store.pg import section as pg_section
from bot.store.pg.db import PgStore
from bot.store.records import Ordering

NOW = datetime(2026, 8, 20, 9, tzinfo=UTC)
PAPERS = [
    Paper(
        id=f"2608.{n:05d}",
        title=f"Diffusion study {n}",
        abstract="Diffusion models, studied.",
        authors=("Ada Lovelace",),
        daily_day=date(2026, 8, 19),
    )
    for n in range(1, 21)
]


@pytest.fixture
async def store(pg_dsn: str) -> AsyncIterator[PgStore]:
    opened = await PgStore.open(pg_dsn, pool_size=2)
    await opened.papers.upsert(PAPERS, seen_at=NOW)
    try:
        yield opened
    finally:
        await opened.close()


def slowed(seconds: float) -> object:
    """candidates_sql whose scan sleeps *seconds* before it answers: a scan that runs long."""
    real = pg_papers.candidates_sql

    def build(
        select: str, condition: Condition | None, limit: int, since: datetime | None
    ) -> tuple[str, list[object]]:
        sql, args = real(select, condition, limit, since)
        return f"SELECT * FROM ({sql}) s WHERE pg_sleep({seconds}) IS NOT NULL", args

    return build


async def test_a_scan_past_its_budget_is_cancelled_and_says_so(
    store: PgStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    word = Term(("diffusion",))
    assert len(await store.papers.fts_candidates(word, limit=100)) == 20
    monkeypatch.setattr(pg_section, "MATCH_TIMEOUT_MS", 100)
    monkeypatch.setattr(pg_papers, "candidates_sql", slowed(0.05))  # 20 rows: 1 s of sleep
    monkeypatch.setattr("bot.store.pg.fulltext.candidates_sql", pg_papers.candidates_sql)
    cut = await store.papers.fts_candidates(word, limit=100)
    assert cut.cut
    assert list(cut) == []
    marked = await store.fulltext.marked(word, limit=60)
    assert marked.cut
    ordered = await store.papers.ordered(word, Ordering("new"), cap=100, offset=0, limit=5)
    assert ordered.cut
    assert ordered.total == 0
    page = await search(store, parse_query("diffusion", now=NOW), now=NOW)
    assert page.cut
    assert page.more_unknown
    monkeypatch.undo()
    # The pool's connections were rolled back, not poisoned: the next scans answer in full.
    for _ in range(3):
        again = await store.papers.fts_candidates(word, limit=100)
        assert len(again) == 20
        assert not again.cut


async def test_a_scan_of_few_matches_for_its_limit_goes_through_the_index(
    store: PgStore,
) -> None:
    """Reading the matches through the GIN index costs a row visit each; walking the newest
    papers costs a detoasted tsvector per paper tested. The store picks the index when the
    matches are few for the rows asked (matches^2 < DETOAST_RATIO x limit x papers)."""
    few = pg_section._few
    async with store.papers._pool.acquire() as conn:
        assert await few(conn, Term(("unseen",)), 1)  # no paper: nothing to walk for
        # "diffusion" is in all 20 papers: 20^2 = 400 against 7.5 x limit x 20
        assert await few(conn, Term(("diffusion",)), 3)  # 400 < 450
        assert not await few(conn, Term(("diffusion",)), 2)  # 400 >= 300
    word = Term(("diffusion",))
    walked = [c.rowid for c in await store.papers.fts_candidates(word, limit=2)]
    indexed = [c.rowid for c in await store.papers.fts_candidates(word, limit=3)]
    assert indexed[:2] == walked  # the same newest matches either way
    assert [m.rowid for m in await store.fulltext.marked(word, limit=3)] == indexed


async def test_the_scan_runs_with_index_walks_off_only_when_its_matches_are_few(
    store: PgStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = pg_papers.candidates_sql

    def indexed_only(
        select: str, condition: Condition | None, limit: int, since: datetime | None
    ) -> tuple[str, list[object]]:
        sql, args = real(select, condition, limit, since)
        return f"SELECT * FROM ({sql}) s WHERE current_setting('enable_indexscan') = 'off'", args

    monkeypatch.setattr(pg_papers, "candidates_sql", indexed_only)
    monkeypatch.setattr("bot.store.pg.fulltext.candidates_sql", indexed_only)
    word = Term(("diffusion",))
    assert len(await store.papers.fts_candidates(word, limit=3)) == 3
    assert len(await store.fulltext.marked(word, limit=3)) == 3
    assert await store.papers.fts_candidates(word, limit=2) == []  # planner's choice
    ordered = await store.papers.ordered(word, Ordering("new"), cap=3, offset=0, limit=5)
    assert ordered.total == 3
    # and the setting ends with the scan's transaction
    async with store.papers._pool.acquire() as conn:
        assert await conn.fetchval("SHOW enable_indexscan") == "on"
