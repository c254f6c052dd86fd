"""The query language: every syntax element, its one-line errors, and FTS5 safety for any text."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.errors import QueryError, UserInputError
from bot.grammar.query import (
    MAX_QUERY_CHARS,
    MAX_TERMS,
    AllOf,
    AnyOf,
    Condition,
    Query,
    Term,
    Without,
    all_but_one,
    parse_query,
)

NOW = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)


def parse(text: str) -> Query:
    return parse_query(text, now=NOW)


def words(query: Query) -> list[list[tuple[str, ...]]]:
    return [[term.tokens for term in group] for group in query.groups]


def test_words_all_must_match() -> None:
    query = parse("Sparse autoencoders")
    assert words(query) == [[("sparse",)], [("autoencoders",)]]
    assert query.fts_strict() == '"sparse" AND "autoencoders"'
    assert [t.match for t in query.tiers()] == [
        '"sparse autoencoders"',
        '"sparse" AND "autoencoders"',
        '("sparse" OR "autoencoders")',
    ]
    assert [t.kind for t in query.tiers()] == ["phrase", "all", "any"]
    excluded = parse("sparse autoencoders -vision").tiers()[1].match
    assert excluded == '("sparse" AND "autoencoders") NOT "vision"'
    assert query.fts_marks() == '"sparse" OR "autoencoders" OR "sparse autoencoders"'
    assert query.sort == "relevance"
    assert query.since is None


def test_three_words_or_more_have_a_most_words_tier() -> None:
    query = parse("vision language hallucination -survey")
    assert [t.kind for t in query.tiers()] == ["phrase", "all", "most", "any"]
    assert query.tiers()[2].match == (
        '((("vision" AND ("language" OR "hallucination")) OR ("language" AND "hallucination")))'
        ' NOT "survey"'
    )
    assert query.units() == ("vision", "language", "hallucination")
    assert parse('llm OR "language model" agents tools').units() == (
        'llm OR "language model"',
        "agents",
        "tools",
    )


def holds(cond: Condition, present: frozenset[Term]) -> bool:
    """Whether *cond* matches a paper holding exactly the terms in *present*."""
    if isinstance(cond, Term):
        return cond in present
    if isinstance(cond, AllOf):
        return all(holds(p, present) for p in cond.parts)
    if isinstance(cond, AnyOf):
        return any(holds(p, present) for p in cond.parts)
    assert isinstance(cond, Without)
    return holds(cond.kept, present) and cond.dropped not in present


def appearances(cond: Condition) -> int:
    if isinstance(cond, Term):
        return 1
    if isinstance(cond, Without):
        return appearances(cond.kept) + 1
    return sum(appearances(p) for p in cond.parts)


@pytest.mark.parametrize("n", range(2, MAX_TERMS + 1))
def test_all_but_one_matches_exactly_the_papers_missing_at_most_one_part(n: int) -> None:
    parts = [Term((f"w{i}",)) for i in range(n)]
    cond = all_but_one(list(parts))
    # every paper holding all parts, all but one, and all but two (the ones that fail)
    for missing in [(), *((i,) for i in range(n)), *((i, j) for i in range(n) for j in range(i))]:
        present = frozenset(p for i, p in enumerate(parts) if i not in missing)
        assert holds(cond, present) is (len(missing) <= 1), missing
    # each part appears about 2 log2(n) times, not n - 1 (FTS5 walks each appearance)
    assert appearances(cond) <= 2 * n * max(1, (n - 1).bit_length())
    assert appearances(cond) < n * (n - 1) or n <= 3


# up to 8 groups of 1 or 2 words: 16 terms at most
@given(st.lists(st.booleans(), min_size=3, max_size=8), st.lists(st.integers(1, 2), min_size=8))
def test_most_words_tier_of_or_groups_is_all_groups_but_one(
    held: list[bool], alternatives: list[int]
) -> None:
    groups = [" OR ".join(f"g{i}a{j}" for j in range(k)) for i, k in enumerate(alternatives)]
    query = parse(" ".join(groups[: len(held)]))
    [most] = [t for t in query.tiers() if t.kind == "most"]
    present = frozenset(group[0] for group, has in zip(query.groups, held, strict=True) if has)
    assert holds(most.condition, present) is (held.count(False) <= 1)


def test_one_word_has_no_looser_tiers() -> None:
    query = parse("diffusion")
    assert query.fts_strict() == '"diffusion"'
    assert [t.match for t in query.tiers()] == ['"diffusion"']


def test_exact_phrase() -> None:
    query = parse('"Mixture of Experts"')
    assert words(query) == [[("mixture", "of", "experts")]]
    assert query.fts_strict() == '"mixture of experts"'


def test_punctuation_splits_words_into_tokens_like_the_index() -> None:
    query = parse("GPT-4o C++ re:Invent")
    assert words(query) == [[("gpt", "4o")], [("c",)], [("re", "invent")]]


def test_unicode_words_are_kept_and_lowered() -> None:
    assert words(parse("ÉCOLE naïve 深度学习")) == [[("école",)], [("naïve",)], [("深度学习",)]]


def test_exclude_word_and_phrase() -> None:
    query = parse('diffusion -video -"image editing"')
    assert [t.tokens for t in query.excluded] == [("video",), ("image", "editing")]
    assert query.fts_strict() == '(("diffusion") NOT "video") NOT "image editing"'


def test_or_binds_tighter_than_and() -> None:
    query = parse('llm OR "language model" agents')
    assert words(query) == [[("llm",), ("language", "model")], [("agents",)]]
    assert query.fts_strict() == '("llm" OR "language model") AND "agents"'
    # an OR group cannot be one phrase: strict, then any word
    assert [t.match for t in query.tiers()] == [
        '("llm" OR "language model") AND "agents"',
        '("llm" OR "language model" OR "agents")',
    ]


def test_lower_case_or_is_a_word() -> None:
    assert words(parse("this or that")) == [[("this",)], [("or",)], [("that",)]]


def test_author_filter() -> None:
    query = parse('sae author:"Neel Nanda"')
    assert query.authors == (Term(("neel", "nanda"), "authors"),)
    assert query.fts_strict() == '"sae" AND authors : "neel nanda"'
    only_author = parse("author:Nanda")
    assert only_author.has_text
    assert only_author.fts_strict() == 'authors : "nanda"'


def test_excluded_author() -> None:
    query = parse("sae -author:Nanda")
    assert query.authors == ()
    assert query.excluded == (Term(("nanda",), "authors"),)
    assert query.fts_strict() == '("sae") NOT authors : "nanda"'


@pytest.mark.parametrize(
    ("text", "since"),
    [
        ("since:2026-01-01", datetime(2026, 1, 1, tzinfo=UTC)),
        ("since:7d", datetime(2026, 8, 12, 15, 0, tzinfo=UTC)),
        ("since:2w", datetime(2026, 8, 5, 15, 0, tzinfo=UTC)),
        ("since:1m", datetime(2026, 7, 20, 15, 0, tzinfo=UTC)),
        ("since:1y", datetime(2025, 8, 19, 15, 0, tzinfo=UTC)),
        ("SINCE:30D", datetime(2026, 7, 20, 15, 0, tzinfo=UTC)),
        ('since:"7d"', datetime(2026, 8, 12, 15, 0, tzinfo=UTC)),
    ],
)
def test_since(text: str, since: datetime) -> None:
    query = parse(f"agents {text}")
    assert query.since == since
    assert words(query) == [[("agents",)]]


@pytest.mark.parametrize("order", ["relevance", "trending", "new", "NEW", "Trending"])
def test_sort(order: str) -> None:
    assert parse(f"agents sort:{order}").sort == order.lower()


@pytest.mark.parametrize("text", ["sort:new", "since:7d", "sort:trending since:2026-08-01"])
def test_filters_alone_list_papers(text: str) -> None:
    query = parse(text)
    assert not query.has_text
    assert query.fts_strict() == ""
    assert query.tiers() == []


def test_everything_together() -> None:
    query = parse(
        'sparse autoencoders OR sae -vision -"image editing" author:Nanda '
        "-author:Smith since:30d sort:new"
    )
    assert words(query) == [[("sparse",)], [("autoencoders",), ("sae",)]]
    assert [t.tokens for t in query.excluded] == [("vision",), ("image", "editing"), ("smith",)]
    assert query.authors == (Term(("nanda",), "authors"),)
    assert query.since == datetime(2026, 7, 20, 15, 0, tzinfo=UTC)
    assert query.sort == "new"


def test_a_word_with_a_colon_that_is_not_a_filter_is_searched() -> None:
    assert words(parse("Llama:3")) == [[("llama", "3")]]


def test_empty_phrase_is_ignored_beside_words() -> None:
    assert words(parse('agents ""')) == [[("agents",)]]


@pytest.mark.parametrize(
    ("text", "says", "hint"),
    [
        ('"sparse autoencoders', "quote is not closed", '`"sparse autoencoders"`'),
        ('agents author:"Neel', "quote is not closed", '`"Neel"`'),
        ("OR", "`OR` needs a word on each side", "`llm OR transformer`"),
        ("llm OR", "`OR` needs a word on each side", "`llm OR transformer`"),
        ("OR llm", "`OR` needs a word on each side", "`llm OR transformer`"),
        ("llm OR OR agents", "`OR` needs a word on each side", "`llm OR transformer`"),
        ("-video", "at least one word", "`diffusion -video`"),
        ('-video -"image editing"', "at least one word", "`diffusion -video`"),
        ("-author:Nanda", "at least one word", "`diffusion -video`"),
        ("since:7d -video", "at least one word", "`diffusion -video`"),
        ("title:diffusion", "Unknown filter `title:`", "`author:`, `since:` and `sort:`"),
        ('abstract:"x y"', "Unknown filter `abstract:`", "`author:`, `since:` and `sort:`"),
        ("by:Nanda", "Unknown filter `by:`", "`author:`, `since:` and `sort:`"),
        ("x" * (MAX_QUERY_CHARS + 1), "251 characters", f"under {MAX_QUERY_CHARS}"),
        (" ".join(f"w{i}" for i in range(MAX_TERMS + 1)), "too many terms", f"at most {MAX_TERMS}"),
        ("agents since:yesterday", "`since:yesterday` is not a date", "`since:7d`"),
        ("agents since:2026-13-01", "is not a date", "`since:2026-01-31`"),
        ("agents since:100y", "too far back", "`since:1y`"),
        ("agents sort:best", "`sort:best` is unknown", "sort:new"),
        ("agents sort:", "`sort:` needs a value", "e.g. `diffusion"),
        ("agents since:", "`since:` needs a value", "e.g. `diffusion"),
        ("agents author:", "`author:` needs a value", "e.g. `diffusion"),
        ('agents author:""', "`author:` needs a value", "e.g. `diffusion"),
        ('author:"!!"', "has no name in it", "e.g. `diffusion"),
        ("", "Nothing to search for", "e.g. `diffusion"),
        ("!!! ???", "Nothing to search for", "e.g. `diffusion"),
    ],
)
def test_errors_are_one_line_with_a_hint(text: str, says: str, hint: str) -> None:
    with pytest.raises(QueryError) as info:
        parse(text)
    message = str(info.value)
    assert isinstance(info.value, UserInputError)
    assert says in message
    assert hint in message
    assert "\n" not in message
    assert len(message) < 200
    assert "Traceback" not in message


@pytest.mark.parametrize(
    "text",
    ['"sparse\nautoencoders', 'agents since:"7\nx"', 'agents sort:"new\nest"', 'author:"!\n!"'],
)
def test_error_messages_stay_one_line_whatever_was_typed(text: str) -> None:
    with pytest.raises(QueryError) as info:
        parse(text)
    assert "\n" not in str(info.value)


def test_limits_are_inclusive() -> None:
    longest = "sparse autoencoders " + "x" * (MAX_QUERY_CHARS - 20)
    assert len(longest) == MAX_QUERY_CHARS
    assert len(parse(longest).groups) == 3
    most_terms = " ".join(f"w{i}" for i in range(MAX_TERMS - 2)) + " -x author:y"
    query = parse(most_terms)
    assert len(query.groups) + len(query.excluded) + len(query.authors) == MAX_TERMS


# -- FTS5 safety: any text either parses into expressions FTS5 accepts, or is a QueryError ----


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    """An FTS5 table with the app's columns and tokenizer (bot/store/migrations.py)."""
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5 (title, abstract, authors, keywords, "
        "tokenize = 'unicode61 remove_diacritics 2')"
    )
    conn.execute(
        "INSERT INTO t VALUES ('Sparse autoencoders find features', 'We study \"SAE\" models.', "
        "'Neel Nanda\nArthur Conmy', 'interpretability')"
    )
    yield conn
    conn.close()


def assert_fts_accepts(conn: sqlite3.Connection, query: Query) -> None:
    exprs = [query.fts_strict()]
    exprs += [tier.match for tier in query.tiers()] + [query.fts_marks() or ""]
    for expr in exprs:
        if expr:
            conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (expr,)).fetchall()


QUERYISH = st.lists(
    st.sampled_from(
        [
            '"',
            "'",
            ":",
            "-",
            "(",
            ")",
            "*",
            "^",
            "+",
            "OR",
            "AND",
            "NOT",
            "NEAR",
            " ",
            "\x00",
            "author:",
            "since:",
            "sort:",
            "title:",
            "-author:",
            "7d",
            "new",
            "é",
            "ß",
            "İ",
            "ǅ",
            "\u0301",
            "\u200b",
            "𝔘",
            "２",
            "_",
            "a",
            "b",
            "col",
            "{",
            "}",
            ".",
            "\\",
            "\n",
            "\t",
        ]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.text(max_size=300), QUERYISH))
@example(text='a AND b OR c NOT d NEAR(e f) "g h"* ^i {title}: j')
@example(text="title : x")
@example(text='"x" : y')
@example(text="\x00")
@example(text='-"" x')
@example(text="İstanbul ǅemal")
@example(text="a OR -b")
def test_any_text_parses_to_valid_fts5_or_a_query_error(fts: sqlite3.Connection, text: str) -> None:
    try:
        query = parse(text)
    except QueryError as exc:
        message = str(exc)
    else:
        assert query.has_text or query.since is not None or query.sort != "relevance"
        assert_fts_accepts(fts, query)
        return
    assert message


def test_every_term_is_quoted_so_fts_operators_are_just_words(fts: sqlite3.Connection) -> None:
    query = parse("NEAR AND NOT title")
    assert words(query) == [[("near",)], [("and",)], [("not",)], [("title",)]]
    assert_fts_accepts(fts, query)
    found = fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (parse("Nanda sae").fts_strict(),))
    assert found.fetchall() == [(1,)]
