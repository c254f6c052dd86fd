"""The full-text index with the AI summary as a field (migration 7) and its bounded reads."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

from bot.grammar.query import Term
from bot.model.papers import Paper
from bot.store import Store
from bot.store.migrations import MIGRATIONS

T0 = datetime(2026, 8, 19, 8, 0, tzinfo=UTC)
MOE = Paper(
    id="2608.00001",
    title="Serving Sparse Models Fast",
    abstract="We present a MoE serving system with expert parallelism.",
    authors=("Ada Lovelace",),
    ai_summary="A Mixture-of-Experts serving system that balances experts across GPUs.",
    daily_day=date(2026, 8, 19),
)
PLAIN = dataclasses.replace(
    MOE, id="2608.00002", title="Dense Serving", abstract="Dense models.", ai_summary=None
)


async def ids(store: Store, match: str) -> set[int]:
    return {m.rowid for m in await store.fulltext.marked(term(match), limit=100)}


def schema_5(path: Path) -> None:
    """A database as the release before migrations 6 and 7 left it, holding one paper."""
    with sqlite3.connect(path) as conn:
        for number, script in enumerate(MIGRATIONS[:5], start=1):
            conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        conn.execute(
            "INSERT INTO papers (rowid, id, title, abstract, ai_summary, source, first_seen, "
            "updated_at) VALUES (7, ?, ?, ?, ?, 'hf', ?, ?)",
            (MOE.id, MOE.title, MOE.abstract, MOE.ai_summary, T0.isoformat(), T0.isoformat()),
        )


async def test_upgrading_a_schema_5_database_indexes_its_summaries(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    schema_5(path)
    with sqlite3.connect(path) as conn:  # before: the summary is not searchable
        found = conn.execute("SELECT rowid FROM papers_fts WHERE papers_fts MATCH 'gpus'")
        assert found.fetchall() == []
    async with await Store.open(path) as store:
        assert await ids(store, '"mixture of experts"') == {7}
        assert await ids(store, 'ai_summary : "gpus"') == {7}
        assert await ids(store, '"parallelism"') == {7}  # the old fields are still there
        assert await store.fulltext.document_counts(["gpus", "nothing"]) == {
            "gpus": 1,
            "nothing": 0,
        }
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        check = "INSERT INTO papers_fts (papers_fts, rank) VALUES ('integrity-check', 1)"
        conn.execute(check)  # raises if the index disagrees with the papers table


async def test_a_changed_summary_is_reindexed(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "p.db") as store:
        await store.papers.upsert([MOE, PLAIN], seen_at=T0)
        assert len(await ids(store, '"gpus"')) == 1
        new = dataclasses.replace(MOE, ai_summary="Routing tokens to TPUs.")
        await store.papers.upsert([new], seen_at=T0)
        assert await ids(store, '"gpus"') == set()
        assert len(await ids(store, '"tpus"')) == 1


async def test_marked_candidates_carry_their_fields_text(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "p.db") as store:
        await store.papers.upsert([MOE, PLAIN], seen_at=T0)
        (hit,) = await store.fulltext.marked(term('"experts"'), limit=10)
        assert hit.texts == (MOE.title, MOE.abstract, "Ada Lovelace", "", MOE.ai_summary)
        assert len(await store.fulltext.marked(term('"serving"'), limit=1)) == 1  # the bound
        papers, means = await store.fulltext.size()
        assert papers == 2
        assert means[0] == (4 + 2) / 2
        assert means[4] == 11 / 2


async def test_near_reads_a_bounded_slice_of_the_vocabulary(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "p.db") as store:
        await store.papers.upsert([MOE, PLAIN], seen_at=T0)
        assert await store.fulltext.near("serveing") == [("serving", 2)]
        assert len(await store.fulltext.near("ex", limit=1)) <= 1
        assert await store.fulltext.near("") == []


def term(expr: str) -> Term:
    """A one-term condition from its FTS5 spelling: ``'"a b"'`` or ``'column : "a b"'``."""
    column, _, phrase = expr.rpartition(" : ")
    return Term(tuple(phrase.strip('"').split()), column or None)
