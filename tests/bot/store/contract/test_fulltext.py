"""Full-text reads on both stores: marked candidates with their fields' text, the index's
totals, term rarity and vocabulary, kept exact as papers are added and their text changes.

The expected totals are recounted here from the recorded papers' text with the PostgreSQL
store's tokenizer, so the SQLite runs also check that it makes FTS5's tokens."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, date, datetime, time

import pytest

from bot.grammar.query import Term
from bot.model.papers import Paper
from bot.sources.snapshot import SnapshotSource
from bot.store import Database
from bot.store.pg.tsv import tokens
from bot.store.records import FIELDS
from bot.store.rows import paper_params, rowid_for
from tests.shared_data import SHARED_DATA

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


@pytest.fixture(scope="module")
def recorded() -> list[tuple[date, list[Paper]]]:
    """Four recorded Daily Papers days (about 100 real papers)."""
    days = SnapshotSource(SHARED_DATA / "hf_daily_archive.jsonl.gz").days()
    return [(day, papers) for day, papers in days if day is not None][-4:]


def texts(paper: Paper) -> tuple[str, ...]:
    """The paper's indexed fields' text as the store writes them (FIELDS order)."""
    _, title, abstract, authors, keywords, *_ = paper_params(paper)
    return (title, abstract, authors, keywords, paper.ai_summary or "")


def recount(papers: list[Paper]) -> tuple[int, tuple[float, ...], Counter[str]]:
    lengths = [0] * len(FIELDS)
    docs: Counter[str] = Counter()
    for paper in papers:
        seen: set[str] = set()
        for i, text in enumerate(texts(paper)):
            toks = tokens(text)
            lengths[i] += len(toks)
            seen.update(toks)
        docs.update(seen)
    return len(papers), tuple(n / len(papers) for n in lengths), docs


async def test_marked_candidates_carry_their_fields_text(database: Database) -> None:
    await database.papers.upsert([MOE, PLAIN], seen_at=T0)
    (hit,) = await database.fulltext.marked(Term(("experts",)), limit=10)
    assert hit.rowid == rowid_for(MOE.id)
    assert hit.texts == (MOE.title, MOE.abstract, "Ada Lovelace", "", MOE.ai_summary)
    assert hit.featured == datetime(2026, 8, 19, tzinfo=UTC).timestamp()
    both = await database.fulltext.marked(Term(("serving",)), limit=10)
    assert [m.rowid for m in both] == [rowid_for(PLAIN.id), rowid_for(MOE.id)]
    assert both[0].texts[-1] == ""
    assert await database.fulltext.marked(Term(("serving",)), limit=1) == both[:1]
    later = datetime(2026, 8, 20, tzinfo=UTC)
    assert await database.fulltext.marked(Term(("serving",)), limit=10, since=later) == []


async def test_an_empty_index(database: Database) -> None:
    assert await database.fulltext.size() == (0, (0.0,) * len(FIELDS))
    assert await database.fulltext.document_counts(["model"]) == {"model": 0}
    assert await database.fulltext.near("model") == []
    assert await database.fulltext.near("") == []


async def test_totals_and_vocabulary_stay_exact_under_updates(
    database: Database, recorded: list[tuple[date, list[Paper]]]
) -> None:
    stored: dict[str, Paper] = {}
    for day, papers in recorded:
        await database.papers.upsert(papers, seen_at=datetime.combine(day, time(8), UTC))
        stored.update({p.id: p for p in papers})
    changed = [
        dataclasses.replace(p, abstract=f"Rewritten abstract {n}.", ai_summary="Zyxwv summary.")
        for n, p in enumerate(list(stored.values())[:10])
    ]
    await database.papers.upsert(changed, seen_at=T0)
    stored.update({p.id: p for p in changed})
    papers, means, docs = recount(list(stored.values()))
    got_papers, got_means = await database.fulltext.size()
    assert got_papers == papers
    assert got_means == pytest.approx(means)
    common = [term for term, _ in docs.most_common(30)]
    counts = await database.fulltext.document_counts([*common, "zyxwv", "absentterm"], cap=50)
    assert counts == {**{t: min(docs[t], 50) for t in common}, "zyxwv": 10, "absentterm": 0}
    assert await database.fulltext.document_counts(["rewritten"], cap=5) == {"rewritten": 5}
    near = await database.fulltext.near("model", limit=500)
    assert near == sorted((t, n) for t, n in docs.items() if t.startswith("mod"))
    assert len(await database.fulltext.near("model", limit=3)) == 3


async def test_rarity_and_vocabulary_fold_diacritics(database: Database) -> None:
    await database.papers.upsert(
        [dataclasses.replace(MOE, title="Müller on Ångström-scale GPT-4o")], seen_at=T0
    )
    assert await database.fulltext.document_counts(["muller", "müller", "4o"]) == {
        "muller": 1,
        "müller": 1,
        "4o": 1,
    }
    assert await database.fulltext.near("angstrom") == [("angstrom", 1)]
    (hit,) = await database.fulltext.marked(Term(("angstrom", "scale")), limit=5)
    assert hit.texts[0] == "Müller on Ångström-scale GPT-4o"


async def test_the_state_token_changes_with_the_indexed_text_or_is_absent(
    database: Database, database_url: str
) -> None:
    """SQLite names each committed state of its index on a reader's connection (remembered
    rankings are keyed by it); PostgreSQL gives no token, so nothing is remembered there."""

    async def state() -> bytes | None:
        async with database.readers.reading() as view:
            return await view.fulltext.state()

    before = await state()
    await database.papers.upsert([MOE], seen_at=T0)
    after = await state()
    assert await database.fulltext.state() is None  # the store's own connection: never
    if database_url.startswith("postgresql"):
        assert before is None
        assert after is None
        return
    assert before is not None
    assert after is not None
    assert after != before
    await database.papers.upsert([dataclasses.replace(MOE, upvotes=MOE.upvotes + 5)], seen_at=T0)
    assert await state() == after  # no text changed: the same state
    retitled = dataclasses.replace(MOE, title="Serving Sparse Models")
    await database.papers.upsert([retitled], seen_at=T0)
    assert await state() not in (before, after)
