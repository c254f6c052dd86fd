"""The subscription matcher: its semantics, and equivalence with the store's FTS5 search."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app import bundled_snapshot
from bot.grammar.query import Query, parse_query
from bot.model.papers import Paper
from bot.search.matcher import Matcher, fold, token_frequencies, tokens
from bot.sources.snapshot import SnapshotSource
from bot.store import Store
from bot.store.migrations import MIGRATIONS
from bot.store.rows import COLUMNS, paper_params, rowid_for

NOW = datetime(2026, 7, 1, 9, tzinfo=UTC)
FTS_IDS = (
    "SELECT p.id FROM papers_fts f JOIN papers p ON p.rowid = f.rowid WHERE papers_fts MATCH ?"
)

PAPERS = (
    Paper(
        "2601.00001",
        "Best-of-N Sampling for Mixture of Experts",
        abstract="We scale test-time compute with sparse autoencoders.",
        authors=("Bernhard Schölkopf", "Neel Nanda"),
        ai_keywords=("best-of-n", "mixture of experts"),
    ),
    Paper(
        "2601.00002",
        "Video Diffusion Models",
        abstract="Experts mixture of diffusion; a survey of video generation.",
        authors=("Ada Lovelace",),
    ),
    Paper(
        "2601.00003",
        "Language Models Are Few-Shot Learners",
        abstract="Large language models, in-context. Mixture",
        authors=("Tom Brown", "Nanda Kumar"),
        ai_keywords=("experts",),
    ),
)


def matched(*queries: str, papers: tuple[Paper, ...] = PAPERS) -> list[list[str]]:
    matcher = Matcher()
    for sub_id, text in enumerate(queries):
        matcher.add(sub_id, parse_query(text, now=NOW))
    found = matcher.match(papers)
    return [found.get(sub_id, []) for sub_id in range(len(queries))]


def test_words_each_anywhere_and_phrases_adjacent() -> None:
    assert matched("mixture experts", '"mixture of experts"', '"experts mixture"') == [
        ["2601.00001", "2601.00002", "2601.00003"],
        ["2601.00001"],
        ["2601.00002"],
    ]


def test_a_phrase_never_spans_two_fields() -> None:
    # Paper 3: title ends "Learners", abstract starts "Large"; authors end "Kumar", then the
    # keywords begin with "experts". Inside a field, phrases run across names and keywords.
    assert matched('"learners large"', '"kumar experts"', '"brown nanda"', "learners large") == [
        [],
        [],
        ["2601.00003"],
        ["2601.00003"],
    ]


def test_or_groups_bind_tighter_than_and() -> None:
    assert matched("video OR learners models", "autoencoders OR survey diffusion") == [
        ["2601.00002", "2601.00003"],
        ["2601.00002"],
    ]


def test_exclusions_of_words_phrases_and_authors() -> None:
    assert matched(
        "mixture -survey", 'mixture -"language models"', "nanda -author:kumar", "mixture -nanda"
    ) == [
        ["2601.00001", "2601.00003"],
        ["2601.00001", "2601.00002"],
        ["2601.00001"],
        ["2601.00002"],
    ]


def test_author_terms_only_match_authors() -> None:
    assert matched("author:nanda", 'author:"neel nanda"', "author:mixture", "author:Lovelace") == [
        ["2601.00001", "2601.00003"],
        ["2601.00001"],
        [],
        ["2601.00002"],
    ]


def test_diacritics_are_ignored_on_both_sides() -> None:
    assert matched("author:scholkopf", "author:Schölkopf", "schölkopf") == [["2601.00001"]] * 3
    assert fold("Ñúñez") == "nunez"
    assert tokens("Mächtle İstanbul") == ["machtle", "istanbul"]


def test_hyphenated_words_are_phrases_of_their_parts() -> None:
    assert matched("best-of-n", "few-shot", '"few shot"', "test-time-compute", "n-best") == [
        ["2601.00001"],
        ["2601.00003"],
        ["2601.00003"],
        ["2601.00001"],
        [],
    ]


def test_a_query_without_words_matches_everything() -> None:
    assert matched("since:7d sort:new") == [["2601.00001", "2601.00002", "2601.00003"]]


def test_shared_queries_replace_and_remove() -> None:
    matcher = Matcher()
    matcher.add(1, parse_query("diffusion video", now=NOW))
    matcher.add(2, parse_query("video diffusion", now=NOW))
    matcher.add(3, parse_query("learners", now=NOW))
    assert (len(matcher), matcher.distinct_queries) == (3, 2)
    matcher.add(3, parse_query("diffusion", now=NOW))
    matcher.remove(1)
    matcher.remove(99)
    assert matcher.match([*PAPERS, PAPERS[1]]) == {2: ["2601.00002"], 3: ["2601.00002"]}
    matcher.remove(2)
    matcher.remove(3)
    assert (len(matcher), matcher.distinct_queries) == (0, 0)
    assert matcher.match(PAPERS) == {}


# -- equivalence with SQLite FTS5 over real papers -------------------------------------------

EQUIVALENCE_QUERIES = (
    "diffusion",
    "reinforcement learning",
    '"reinforcement learning"',
    '"large language models"',
    "llm OR llms",
    '"language model" OR "language models" agent',
    "reasoning -math",
    'reasoning -mathematical -"chain of thought"',
    "video OR image generation",
    "video generation -diffusion",
    "fine-tuning",
    "parameter-efficient fine-tuning",
    "on-policy distillation",
    "self-distillation OR distillation",
    "vision-language-action",
    "state-of-the-art",
    "long-horizon tasks",
    "kv cache",
    '"kv cache" OR "speculative decoding"',
    "grpo -author:wang",
    "world models",
    "3d OR 4d gaussian",
    "multi-agent systems",
    "benchmark -survey -dataset",
    "spatial reasoning",
    "flow matching",
    "author:wang",
    "author:scholkopf",
    'author:"Bernhard Schölkopf"',
    "author:yildirim",
    'author:"Savaş Yıldırım"',
    "author:zhang author:li",
    "author:liu agent",
    "agent -author:zhang",
    "transformer attention",
    '"next token prediction"',
    "moe OR experts routing",
    "robot OR robotics manipulation",
    "text-to-image",
    "code OR coding -agent",
    "münoz OR nunez OR miñoza",
    "verifiable rewards",
    "since:7d sort:new",
)


@pytest.fixture(scope="module")
def real_papers() -> list[Paper]:
    """300 real papers from the bundled snapshot, one version of each id."""
    unique = {p.id: p for _, day in SnapshotSource(bundled_snapshot()).days() for p in day}
    return list(unique.values())[:300]


@cache
def _frequencies(papers: tuple[Paper, ...]) -> Counter[str]:
    return token_frequencies(papers)


def matcher_ids(papers: list[Paper], query: Query) -> set[str]:
    matcher = Matcher(_frequencies(tuple(papers)))
    matcher.add(7, query)
    return set(matcher.match(papers).get(7, []))


async def test_same_papers_as_the_store_fts5_index(
    real_papers: list[Paper], tmp_path: Path
) -> None:
    path = tmp_path / "papers.db"
    async with await Store.open(path) as store:
        await store.papers.upsert(real_papers, seen_at=NOW)
    queries = [parse_query(text, now=NOW) for text in EQUIVALENCE_QUERIES]
    matcher = Matcher(_frequencies(tuple(real_papers)))
    for sub_id, query in enumerate(queries):
        matcher.add(sub_id, query)
    found = matcher.match(real_papers)
    everything = {p.id for p in real_papers}
    with closing(sqlite3.connect(path)) as index:  # the index the store wrote, read directly
        for sub_id, (text, query) in enumerate(zip(EQUIVALENCE_QUERIES, queries, strict=True)):
            expected = everything
            if query.has_text:
                expected = {row[0] for row in index.execute(FTS_IDS, (query.fts_strict(),))}
            assert set(found.get(sub_id, [])) == expected, text
            assert expected or text.startswith("author:"), f"{text} should match something"


class Corpus:
    """The real papers in the store's own schema, in a synchronous in-memory database
    (hypothesis runs examples synchronously); a short repr keeps failure reports readable."""

    def __init__(self, papers: list[Paper]) -> None:
        self.papers = papers
        self.conn = sqlite3.connect(":memory:")
        for script in MIGRATIONS:
            self.conn.executescript(script)
        self.conn.executemany(
            f"INSERT INTO papers (rowid, {COLUMNS}, first_seen, updated_at) "
            f"VALUES (?, {', '.join('?' * 16)}, '', '')",
            [(rowid_for(p.id), *paper_params(p)) for p in papers],
        )

    def __repr__(self) -> str:
        return f"Corpus({len(self.papers)} papers)"


@pytest.fixture(scope="module")
def corpus(real_papers: list[Paper]) -> Iterator[Corpus]:
    built = Corpus(real_papers)
    yield built
    built.conn.close()


_VOCABULARY = (
    "model",
    "models",
    "language",
    "large",
    "agent",
    "agents",
    "reasoning",
    "video",
    "image",
    "diffusion",
    "learning",
    "reinforcement",
    "policy",
    "fine",
    "tuning",
    "state",
    "of",
    "the",
    "art",
    "wang",
    "zhang",
    "li",
    "liu",
    "3d",
    "benchmark",
    "multi",
    "modal",
    "vision",
    "action",
    "world",
    "kv",
    "cache",
    "token",
    "level",
    "test",
    "time",
    "schölkopf",
)
_words = st.lists(st.sampled_from(_VOCABULARY), min_size=1, max_size=3).map(" ".join)
_term = st.one_of(
    _words.map(lambda w: w.split()[0]),
    _words.map(lambda w: f'"{w}"'),
    _words.map(lambda w: w.replace(" ", "-")),
)
_group = st.lists(_term, min_size=1, max_size=3).map(" OR ".join)
_query = st.tuples(
    st.lists(_group, min_size=1, max_size=3),
    st.lists(_term.map(lambda t: "-" + t), max_size=2),
    st.lists(st.sampled_from(_VOCABULARY).map(lambda w: f"author:{w}"), max_size=1),
    st.lists(st.sampled_from(_VOCABULARY).map(lambda w: f"-author:{w}"), max_size=1),
).map(lambda parts: " ".join(part for section in parts for part in section))


@settings(max_examples=100, deadline=None)
@given(text=_query)
def test_random_queries_match_like_fts5(text: str, corpus: Corpus) -> None:
    query = parse_query(text, now=NOW)
    expected = {row[0] for row in corpus.conn.execute(FTS_IDS, (query.fts_strict(),))}
    assert matcher_ids(corpus.papers, query) == expected


_LATIN = st.characters(
    codec="utf-8",
    categories=("L", "M", "N", "P", "Z"),
    max_codepoint=0x1EFF,
).filter(lambda c: ord(c) < 0x370 or ord(c) >= 0x1E00)


def indexed_tokens(text: str) -> list[str]:
    """What SQLite's unicode61 tokenizer (remove_diacritics 2) makes of *text*."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(
            "CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'unicode61 remove_diacritics 2')"
        )
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, 'instance')")
        conn.execute("INSERT INTO t (x) VALUES (?)", (text,))
        return [row[0] for row in conn.execute("SELECT term FROM v ORDER BY offset")]
    finally:
        conn.close()


@given(text=st.text(_LATIN, max_size=30))
def test_tokens_agree_with_the_unicode61_tokenizer_on_latin_text(text: str) -> None:
    assert tokens(text) == indexed_tokens(text)


def test_known_tokenizer_differences_outside_latin() -> None:
    # unicode61 keeps private-use characters inside tokens and folds Greek final sigma.
    assert (tokens("a\ue000b ς"), indexed_tokens("a\ue000b ς")) == (
        ["a", "b", "ς"],
        ["a\ue000b", "σ"],
    )
