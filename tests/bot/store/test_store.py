"""The SQLite store on a real temp file: migrations, idempotent upserts, history, FTS, runs."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.errors import StoreError
from bot.grammar.query import Term
from bot.model.papers import Paper
from bot.sources.hf_parse import parse_items
from bot.store import Store
from bot.store.migrations import MIGRATIONS
from bot.store.records import IngestRun
from bot.store.rows import rowid_for

T0 = datetime(2026, 8, 19, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


BASE = Paper(
    id="2608.00001",
    title="Sparse Autoencoders Find Features",
    abstract="We train sparse autoencoders on activations.",
    authors=("Ada Lovelace", "Alan Turing"),
    daily_day=date(2026, 8, 19),
    upvotes=10,
)


def paper(paper_id: str = BASE.id, **fields: Any) -> Paper:
    return dataclasses.replace(BASE, id=paper_id, **fields)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "papers.db"


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(db_path)
    yield store
    await store.close()


@pytest.fixture
def real_day(data_dir: Path) -> list[Paper]:
    """The 26 papers recorded for 2026-08-19 (newest schema era)."""
    items = json.loads((data_dir / "hf_daily" / "2026-08-19.json").read_text("utf-8"))
    return parse_items(items, day=date(2026, 8, 19))


def rid(paper_id: str) -> int:
    rowid = rowid_for(paper_id)
    assert rowid is not None
    return rowid


def pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


async def ids_matching(store: Store, expr: str) -> set[str]:
    cands = await store.papers.fts_candidates(term(expr), limit=100)
    found = await store.papers.by_rowid([c.rowid for c in cands])
    return {sp.paper.id for sp in found.values()}


# -- schema -------------------------------------------------------------------------------


async def test_migrations_apply_on_a_new_file(db: Store, db_path: Path) -> None:
    assert pragma(db_path, "user_version") == len(MIGRATIONS)
    with sqlite3.connect(db_path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"papers", "paper_stats", "paper_rank", "papers_fts", "ingest_runs"} <= names
    assert {"search_pages"} <= names


async def test_wal_mode_is_on(db: Store, db_path: Path) -> None:
    assert pragma(db_path, "journal_mode") == "wal"


async def test_reopening_is_a_no_op(db_path: Path) -> None:
    async with await Store.open(db_path) as store:
        await store.papers.upsert([paper()], seen_at=T0)
    async with await Store.open(db_path) as store:
        assert await store.migrate() == len(MIGRATIONS)
        assert await store.papers.count() == 1
        found = await store.papers.get("2608.00001")
        assert found is not None
        assert found.paper == paper()
    assert pragma(db_path, "user_version") == len(MIGRATIONS)


async def test_newer_database_is_refused(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer than this papersbot"):
        await Store.open(db_path)
    assert pragma(db_path, "user_version") == len(MIGRATIONS) + 1  # left untouched


async def test_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    with pytest.raises(StoreError, match="cannot open database"):
        await Store.open(tmp_path / "no such dir" / "papers.db")
    # aiosqlite stops its worker thread without awaiting it after a failed connect; let it
    # finish while this loop still runs, or it reports "Event loop is closed" in a later test.
    for thread in set(threading.enumerate()) - before:
        await asyncio.to_thread(thread.join, 5)


async def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 40)
    with pytest.raises(StoreError):
        await Store.open(path)


# -- upserts ------------------------------------------------------------------------------


async def test_upsert_is_idempotent(db: Store, real_day: list[Paper]) -> None:
    first = await db.papers.upsert(real_day, seen_at=T0)
    assert (first.new, first.updated) == (26, 0)
    second = await db.papers.upsert(real_day, seen_at=T0 + HOUR)
    assert (second.new, second.updated) == (0, 26)
    assert await db.papers.count() == 26


async def test_duplicates_in_one_batch_count_once(db: Store) -> None:
    result = await db.papers.upsert([paper(upvotes=3), paper(upvotes=7)], seen_at=T0)
    assert (result.new, result.updated) == (1, 0)
    stored = await db.papers.get("2608.00001")
    assert stored is not None
    assert stored.paper.upvotes == 7


async def test_empty_batch_is_nothing(db: Store) -> None:
    result = await db.papers.upsert([], seen_at=T0)
    assert (result.new, result.updated) == (0, 0)


async def test_real_papers_round_trip(db: Store, real_day: list[Paper]) -> None:
    await db.papers.upsert(real_day, seen_at=T0)
    for original in real_day:
        stored = await db.papers.get(original.id)
        assert stored is not None
        assert stored.paper == original
        assert stored.first_seen == T0


async def test_unknown_paper_is_none(db: Store) -> None:
    assert await db.papers.get("2608.99999") is None


async def test_counts_only_grow(db: Store) -> None:
    await db.papers.upsert([paper(upvotes=10, comments=3, github_stars=None)], seen_at=T0)
    await db.papers.upsert([paper(upvotes=5, comments=1, github_stars=40)], seen_at=T0 + HOUR)
    await db.papers.upsert([paper(upvotes=12, comments=0, github_stars=30)], seen_at=T0 + 2 * HOUR)
    await db.papers.upsert([paper(upvotes=0, github_stars=None)], seen_at=T0 + 3 * HOUR)
    stored = await db.papers.get("2608.00001")
    assert stored is not None
    assert (stored.paper.upvotes, stored.paper.comments, stored.paper.github_stars) == (12, 3, 40)


async def test_an_emptier_source_does_not_blank_text(db: Store) -> None:
    full = paper(
        ai_summary="SAEs find features.",
        ai_keywords=("sparse autoencoders", "interpretability"),
        github_repo="https://github.com/org/sae",
        project_page="https://org.github.io/sae",
        organization="Org",
        thumbnail="https://cdn.example/x.png",
        published=datetime(2026, 8, 18, tzinfo=UTC),
    )
    await db.papers.upsert([full], seen_at=T0)
    bare = Paper(id=full.id, title=full.title, daily_day=date(2026, 8, 20))
    await db.papers.upsert([bare], seen_at=T0 + HOUR)
    stored = await db.papers.get(full.id)
    assert stored is not None
    assert stored.paper == full  # daily_day keeps the first day it was featured
    assert stored.first_seen == T0


async def test_richer_text_replaces_and_hf_stays_the_source(db: Store) -> None:
    await db.papers.upsert([paper(abstract="")], seen_at=T0)
    arxiv = Paper(
        id="2608.00001",
        title="Sparse Autoencoders Find Features (v2)",
        abstract="Revised abstract.",
        authors=("Ada Lovelace",),
        source="arxiv",
    )
    await db.papers.upsert([arxiv], seen_at=T0 + HOUR)
    stored = await db.papers.get("2608.00001")
    assert stored is not None
    assert stored.paper.title == arxiv.title
    assert stored.paper.abstract == "Revised abstract."
    assert stored.paper.authors == ("Ada Lovelace",)
    assert stored.paper.source == "hf"
    assert stored.paper.upvotes == 10


async def test_naive_timestamps_are_refused(db: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await db.papers.upsert([paper()], seen_at=datetime(2026, 8, 19, 8, 0))


# -- popularity history -------------------------------------------------------------------


async def test_history_grows_only_when_numbers_change(db: Store) -> None:
    await db.papers.upsert([paper(upvotes=5)], seen_at=T0)
    await db.papers.upsert([paper(upvotes=5)], seen_at=T0 + HOUR)
    await db.papers.upsert([paper(upvotes=8)], seen_at=T0 + 2 * HOUR)
    await db.papers.upsert([paper(upvotes=8, comments=2)], seen_at=T0 + 3 * HOUR)
    await db.papers.upsert([paper(upvotes=8, comments=2, github_stars=4)], seen_at=T0 + 4 * HOUR)
    await db.papers.upsert([paper(upvotes=8, comments=2, github_stars=4)], seen_at=T0 + 5 * HOUR)
    stored = await db.papers.get("2608.00001")
    assert stored is not None
    assert [(s.seen_at, s.upvotes, s.comments, s.stars) for s in stored.history] == [
        (T0, 5, 0, None),
        (T0 + 2 * HOUR, 8, 0, None),
        (T0 + 3 * HOUR, 8, 2, None),
        (T0 + 4 * HOUR, 8, 2, 4),
    ]


async def test_arxiv_papers_have_no_popularity_history(db: Store) -> None:
    await db.papers.upsert([paper(source="arxiv", upvotes=0)], seen_at=T0)
    stored = await db.papers.get("2608.00001")
    assert stored is not None
    assert stored.history == ()


async def test_replaying_a_lower_count_does_not_rewrite_history(db: Store) -> None:
    await db.papers.upsert([paper(upvotes=10)], seen_at=T0)
    await db.papers.upsert([paper(upvotes=5)], seen_at=T0 + HOUR)
    stored = await db.papers.get("2608.00001")
    assert stored is not None
    assert [s.upvotes for s in stored.history] == sorted(s.upvotes for s in stored.history)


# -- full-text index ----------------------------------------------------------------------


async def test_fts_follows_updates(db: Store) -> None:
    await db.papers.upsert([paper(title="Quantum Widgets")], seen_at=T0)
    assert await ids_matching(db, '"widgets"') == {"2608.00001"}
    await db.papers.upsert([paper(title="Neural Gadgets")], seen_at=T0 + HOUR)
    assert await ids_matching(db, '"gadgets"') == {"2608.00001"}
    assert await ids_matching(db, '"widgets"') == set()
    await db.papers.upsert([paper(title="Neural Gadgets", abstract="About gizmos.")], seen_at=T0)
    assert await ids_matching(db, '"gizmos"') == {"2608.00001"}
    assert await ids_matching(db, '"activations"') == set()  # the old abstract's word


async def test_fts_columns_and_diacritics(db: Store) -> None:
    await db.papers.upsert(
        [paper(authors=("Bérénice Müller",), ai_keywords=("world models",))], seen_at=T0
    )
    assert await ids_matching(db, 'authors : "berenice muller"') == {"2608.00001"}
    assert await ids_matching(db, 'keywords : "world models"') == {"2608.00001"}
    assert await ids_matching(db, 'title : "ada"') == set()


async def test_fts_candidates_newest_first_with_limit_and_since(db: Store) -> None:
    papers = [
        paper("2608.00001", daily_day=date(2026, 8, 1)),
        paper("2608.00002", daily_day=date(2026, 8, 10)),
        paper("2608.00003", daily_day=date(2026, 8, 19), upvotes=3),
    ]
    await db.papers.upsert(papers, seen_at=T0)
    cands = await db.papers.fts_candidates(term('"sparse"'), limit=2)
    assert [c.rowid for c in cands] == [rid("2608.00003"), rid("2608.00002")]
    assert cands[0].upvotes == 3
    assert cands[0].featured == datetime(2026, 8, 19, tzinfo=UTC).timestamp()
    recent = await db.papers.fts_candidates(None, limit=10, since=datetime(2026, 8, 5, tzinfo=UTC))
    assert {c.rowid for c in recent} == {rid("2608.00002"), rid("2608.00003")}


async def test_days_and_lookups(db: Store, real_day: list[Paper]) -> None:
    assert await db.papers.latest_day() is None
    older = [paper("2608.00001", daily_day=date(2026, 8, 18))]
    await db.papers.upsert(real_day + older, seen_at=T0)
    assert await db.papers.latest_day() == date(2026, 8, 19)
    day = await db.papers.for_day(date(2026, 8, 19))
    assert {sp.paper.id for sp in day} == {p.id for p in real_day}
    votes = [sp.paper.upvotes for sp in day]
    assert votes == sorted(votes, reverse=True)
    assert [sp.paper.id for sp in await db.papers.for_day(date(2026, 8, 18))] == ["2608.00001"]
    assert await db.papers.for_day(date(2026, 8, 17)) == []


async def test_papers_by_rowid(db: Store, real_day: list[Paper]) -> None:
    await db.papers.upsert(real_day, seen_at=T0)
    wanted = [rid(p.id) for p in real_day[:3]]
    found = await db.papers.by_rowid([*wanted, 1, 2])
    assert sorted(found) == sorted(wanted)
    assert {found[r].paper.id for r in found} == {p.id for p in real_day[:3]}
    assert all(len(sp.history) == 1 for sp in found.values())
    assert await db.papers.by_rowid([]) == {}


async def test_record_run_and_last_runs(db: Store) -> None:
    assert await db.runs.last() == {}
    ok = IngestRun("hf", date(2026, 8, 19), T0, T0 + HOUR, True, 26, None)
    failed = IngestRun("hf", date(2026, 8, 19), T0 + 2 * HOUR, T0 + 3 * HOUR, False, 0, "503")
    arxiv = IngestRun("arxiv", None, T0, T0 + HOUR, True, 3, None)
    for run in (ok, arxiv, failed):
        await db.runs.record(run)
    runs = await db.runs.last()
    assert runs["hf"] == (failed, ok)
    assert runs["arxiv"] == (arxiv, arxiv)
    never_ok = IngestRun("snapshot", None, T0, T0, False, 0, "file not found")
    await db.runs.record(never_ok)
    assert (await db.runs.last())["snapshot"] == (never_ok, None)


async def test_saved_search_token(db: Store, db_path: Path) -> None:
    query = 'sparse autoencoders author:"Neel Nanda" since:30d'
    token = await db.pages.save(query, now=T0)
    assert 0 < len(token) <= 16
    assert await db.pages.save(query, now=T0 + HOUR) == token
    assert await db.pages.load(token) == query
    other = await db.pages.save("diffusion", now=T0)
    assert other != token
    assert await db.pages.load("0" * 16) is None
    async with await Store.open(db_path) as again:
        assert await again.pages.save(query, now=T0) == token


# -- derived rowids -----------------------------------------------------------------------


def test_rowids_increase_with_arxiv_id() -> None:
    chronological = [
        "hep-th/9108001",
        "hep-th/9901001",
        "math.gt/0309136",
        "cs/0701001",
        "0704.0001",
        "0912.5000",
        "1412.9999",
        "1501.00001",
        "2104.12255",
        "2608.17271",
        "2608.17272",
    ]
    rowids = [rid(pid) for pid in chronological]
    assert rowids == sorted(rowids)
    assert len(set(rowids)) == len(rowids)


@pytest.mark.parametrize("paper_id", ["garbage", "", "2608.17271v2", "HEP-TH/9901001"])
def test_rowid_for_anything_else_is_none(paper_id: str) -> None:
    assert rowid_for(paper_id) is None


async def test_papers_are_stored_under_their_derived_rowid(db: Store) -> None:
    await db.papers.upsert([paper("2608.17271")], seen_at=T0)
    rowid = rid("2608.17271")
    found = await db.papers.by_rowid([rowid])
    assert found[rowid].paper.id == "2608.17271"


async def test_old_style_rowid_collision_falls_back(db: Store) -> None:
    # "cs" and "nlin" share a crc32 bucket, so these two derive the same rowid.
    assert rowid_for("cs/0701001") == rowid_for("nlin/0701001")
    first = paper("cs/0701001", title="Computing")
    second = paper("nlin/0701001", title="Nonlinear")
    result = await db.papers.upsert([first, second, paper("2608.00001")], seen_at=T0)
    assert result.new == 3
    again = await db.papers.upsert([second, first], seen_at=T0 + HOUR)
    assert (again.new, again.updated) == (0, 2)
    third = paper("plasm-ph/0701001", title="Plasma")  # the same bucket again, its own batch
    assert (await db.papers.upsert([third], seen_at=T0)).new == 1
    for original in (first, second, third):
        stored = await db.papers.get(original.id)
        assert stored is not None
        assert stored.paper == original
    assert await db.papers.count() == 4
    assert await ids_matching(db, '"nonlinear"') == {"nlin/0701001"}


async def test_concurrent_writers_do_not_break_each_others_transactions(
    db: Store, archive: Path
) -> None:
    """An ingest, a `show` lookup and paged searches at once: all land, none fails."""
    from bot.sources.snapshot import SnapshotSource

    days = [batch for _, batch in SnapshotSource(archive).days()][:30]
    one = paper("2101.00001", title="Looked Up On Demand")

    async def ingest() -> None:
        for batch in days:
            await db.papers.upsert(batch, seen_at=T0)

    async def chatter() -> None:
        for i in range(30):
            await db.pages.save(f"query {i}", now=T0)
            await asyncio.sleep(0)

    await asyncio.gather(ingest(), db.papers.upsert([one], seen_at=T0), chatter())
    expected = len({p.id for batch in days for p in batch} | {one.id})
    assert await db.papers.count() == expected
    for batch in days[:3]:
        stored = await db.papers.get(batch[0].id)
        assert stored is not None
        assert stored.history  # the snapshot rows committed with their papers


def term(expr: str) -> Term:
    """A one-term condition from its FTS5 spelling: ``'"a b"'`` or ``'column : "a b"'``."""
    column, _, phrase = expr.rpartition(" : ")
    return Term(tuple(phrase.strip('"').split()), column or None)
