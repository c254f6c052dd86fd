"""Term counting for BM25F: the per-term finder counts exactly what the index's tokens hold,
and field lengths come from the index itself."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import aiosqlite
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.grammar.query import Term, parse_query
from bot.model.papers import Paper
from bot.search import scoring
from bot.search.matcher import tokens
from bot.store import Store, section

WORDS = ("a", "model", "models", "language", "lang", "3d", "x")
SEPARATORS = (" ", "-", "_", ", ", "(", ") ", ".", "/", "  ")


def reference_count(text: str, term: tuple[str, ...]) -> int:
    """Occurrences of *term* in the index tokens of *text*, not overlapping (as the index
    would see a phrase: its tokens side by side)."""
    found, count, i = tokens(text), 0, 0
    while i <= len(found) - len(term):
        if tuple(found[i : i + len(term)]) == term:
            count, i = count + 1, i + len(term)
        else:
            i += 1
    return count


fields = st.lists(
    st.tuples(
        st.sampled_from(WORDS).map(lambda w: w.upper() if len(w) == 5 else w),
        st.sampled_from(SEPARATORS),
    ),
    max_size=30,
).map(lambda parts: "".join(w + s for w, s in parts))
terms = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(tuple)


@settings(max_examples=400, suppress_health_check=list(HealthCheck))
@given(fields, terms, st.sampled_from(("", "é ", "naïve ")))
def test_a_term_is_counted_where_the_index_tokens_hold_it(
    text: str, term: tuple[str, ...], prefix: str
) -> None:
    # ASCII fields take the regex finder, others the tokenized path: both agree with tokens().
    text = prefix + text
    assert scoring.field_counts(text, [Term(term)]) == [reference_count(text, term)]


def test_word_edges_are_respected() -> None:
    def count(term: Term) -> int:
        text = "Models of a model: model-based, remodel, model_2 and 3D-model."
        return scoring.field_counts(text, [term])[0]

    assert count(Term(("model",))) == 4  # not "models", not "remodel"; "model_2" is two tokens
    assert count(Term(("3d", "model"))) == 1
    assert count(Term(("a", "model"))) == 1


async def test_field_lengths_are_the_index_token_counts() -> None:
    store = await Store.open(":memory:")
    try:
        paper = Paper(
            id="2608.00001",
            title="Vision-language models, re-examined",
            abstract="Three words here. And naïve ﬁve more.",
            authors=("Ada Lovelace", "Alan Turing"),
            daily_day=date(2026, 8, 19),
        )
        await store.papers.upsert([paper], seen_at=datetime(2026, 8, 19, tzinfo=UTC))
        query = parse_query("models", now=datetime(2026, 8, 20, tzinfo=UTC))
        strict = query.strict()
        assert strict is not None
        [marked] = await store.fulltext.marked(strict, limit=5)
        assert marked.lengths[:3] == (5, 7, 4)
        assert marked.lengths[0] == len(tokens(paper.title))
    finally:
        await store.close()


async def test_remembered_document_counts_follow_every_change_to_the_index(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "papers.db")
    seen = datetime(2026, 8, 19, tzinfo=UTC)
    base = Paper(id="2608.00001", title="Diffusion models", abstract="", authors=())
    try:
        await store.papers.upsert([base], seen_at=seen)
        assert await store.fulltext.document_counts(["diffusion", "models"]) == {
            "diffusion": 1,
            "models": 1,
        }
        second = Paper(id="2608.00002", title="Diffusion again", abstract="", authors=())
        await store.papers.upsert([second], seen_at=seen)
        async with store.readers.reading() as view:  # another connection, the same memory
            assert await view.fulltext.document_counts(["diffusion", "models"]) == {
                "diffusion": 2,
                "models": 1,
            }
        await store.papers.upsert(
            [dataclasses.replace(second, title="Flow matching")], seen_at=seen
        )
        counts = await store.fulltext.document_counts(["diffusion", "flow", "absent"])
        assert counts == {"diffusion": 1, "flow": 1, "absent": 0}
    finally:
        await store.close()


async def test_math_functions_are_registered_where_sqlite_lacks_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conn = await aiosqlite.connect(":memory:")
    try:
        probe = conn.execute

        def without_math(sql: str, *args: object) -> object:
            if sql.startswith("SELECT pow(1, 1)"):  # the probe, as a build without them answers
                raise sqlite3.OperationalError("no such function: pow")
            return probe(sql, *args)  # type: ignore[arg-type]

        registered: list[str] = []
        create = conn.create_function

        async def recording(name: str, *args: object, **kwargs: object) -> None:
            registered.append(name)
            await create(name, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(conn, "execute", without_math)
        monkeypatch.setattr(conn, "create_function", recording)
        await section.ensure_math(conn)
        monkeypatch.undo()
        assert registered == ["pow", "ln"]
        async with conn.execute("SELECT pow(2, 10), ln(1)") as cur:
            assert tuple(await cur.fetchone()) == (1024.0, 0.0)  # type: ignore[arg-type]
    finally:
        await conn.close()


async def test_counts_read_inside_an_open_transaction_are_not_remembered() -> None:
    store = await Store.open(":memory:")  # reads share the writer's connection
    seen = datetime(2026, 8, 19, tzinfo=UTC)
    try:
        await store.papers.upsert(
            [Paper(id="2608.00001", title="Base", abstract="", authors=())], seen_at=seen
        )
        conn = store._conn  # an ingest in flight on the shared connection, then rolled back
        await conn.execute("BEGIN")
        await conn.execute(
            "INSERT INTO papers SELECT * FROM papers WHERE id = '2608.00001' ON CONFLICT DO NOTHING"
        )  # (a no-op: then a real insert, a copy under another id and title)
        columns = [
            str(r[1])
            for r in await conn.execute_fetchall("PRAGMA table_info(papers)")
            if r[1] not in ("rowid", "id", "title")
        ]
        listed = ", ".join(columns)
        await conn.execute(
            f"INSERT INTO papers (id, title, {listed}) "
            f"SELECT 'x1', 'zebra', {listed} FROM papers WHERE id = '2608.00001'"
        )
        assert await store.fulltext.document_counts(["zebra"]) == {"zebra": 1}
        await conn.execute("ROLLBACK")
        other = Paper(id="2608.00002", title="zebrb", abstract="", authors=())
        await store.papers.upsert([other], seen_at=seen)  # may write the same structure bytes
        assert await store.fulltext.document_counts(["zebra"]) == {"zebra": 0}
    finally:
        await store.close()
