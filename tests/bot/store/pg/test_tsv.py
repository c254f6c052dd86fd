"""The PostgreSQL index's tokens, vectors and queries (bot.store.pg.tsv): FTS5's tokens,
checked against SQLite's own tokenizer, and literals a real PostgreSQL server reads and
matches as the grammar means them."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.grammar.query import AllOf, AnyOf, Term, Without
from bot.store.pg.tsv import (
    MAX_POSITION,
    document,
    fold,
    loose,
    most_matches,
    quote,
    tokens,
    tsquery,
    words,
)

SAMPLES = [
    "Sparse Autoencoders for GPT-4o: a Mixture-of-Experts study",
    "Jürgen Müller, Ångström-scale naïve café résumé",
    "x_y snake_case don't 3.14 v2.0 α-β γ-ray ΣΙΓΜΑ",
    "北京大学 and 東京 tokens, Кириллица ТЕКСТ",
    "emoji 🚀 rockets; dashes — and ‘quotes’ «guillemets»",
]


def fts5_tokens(text: str) -> list[str]:
    """The tokens SQLite FTS5 makes of *text* with the store's tokenizer, in order."""
    with sqlite3.connect(":memory:") as conn:
        conn.execute(
            "CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'unicode61 remove_diacritics 2')"
        )
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, 'instance')")
        conn.execute("INSERT INTO t (x) VALUES (?)", (text,))
        rows = conn.execute("SELECT term, offset FROM v ORDER BY offset").fetchall()
    return [str(term) for term, _ in rows]


@pytest.mark.parametrize("text", SAMPLES)
def test_tokens_are_fts5s(text: str) -> None:
    assert tokens(text) == fts5_tokens(text)


def test_folding() -> None:
    assert fold("Müller ÅNGSTRÖM") == "muller angstrom"
    assert tokens("GPT-4o's") == ["gpt", "4o", "s"]


def test_a_document_lays_fields_out_apart_with_their_weights() -> None:
    doc = document(["Sparse Models", "Experts route. Models", "Ada Lovelace", "moe", ""])
    assert doc.lengths == (2, 3, 2, 1, 0)
    assert doc.lexemes == {"sparse", "models", "experts", "route", "ada", "lovelace", "moe"}
    # title 1-2, authors 5-6, keywords 9, an empty summary (a gap still), abstract 14-16
    assert doc.vector == (
        "'sparse':1A 'sparse models':1A 'models':2A,16B 'ada':5D 'ada lovelace':5D "
        "'lovelace':6D 'moe':9C 'experts':14B 'experts route':14B 'route':15B "
        "'route models':15B"
    )


def test_most_matches_bounds_a_condition_by_its_rarest_parts() -> None:
    docs = {"mixture": 40, "of": 900, "experts": 70, "moe": 15, "survey": 300}
    phrase = Term(("mixture", "of", "experts"))
    assert words(phrase) == {"mixture", "of", "experts"}
    assert most_matches(phrase, docs) == 40  # a phrase: at most its rarest word's papers
    assert most_matches(Term(("Mixture-of-Experts",)), docs) == 40  # folded as the index
    assert most_matches(Term(("mixture", "unseen")), docs) == 0  # a word in no paper
    either = AnyOf((phrase, Term(("moe",))))
    assert most_matches(either, docs) == 55  # an OR: at most all of its parts'
    both = AllOf((either, Term(("experts",))))
    assert most_matches(both, docs) == 55  # an AND: at most its rarest part's
    assert most_matches(Without(both, Term(("survey",))), docs) == 55
    assert words(Without(both, Term(("survey",)))) == {"mixture", "of", "experts", "moe"}


def test_loose_reads_a_long_phrase_as_the_and_of_its_pairs() -> None:
    moe = Term(("mixture", "of", "experts"))
    assert loose(moe) == "( 'mixture of' & 'of experts' )"
    assert tsquery(moe) == "( 'mixture of' <-> 'of experts' )"
    assert loose(Term(("language", "models"))) is None  # one pair: exact in GIN already
    assert loose(Term(("diffusion",))) is None
    either = AnyOf((moe, Term(("moe",))))
    assert loose(either) == "( ( 'mixture of' & 'of experts' ) | 'moe' )"
    # an exclusion is left out (its loose form would exclude true matches): the exact
    # condition is tested on every row the loose one reads
    assert loose(Without(either, Term(("survey",)))) == loose(either)
    assert loose(Without(Term(("diffusion",)), moe)) is None


def test_queries_are_rendered_from_tokens() -> None:
    phrase = Term(("neel", "nanda"), "authors")
    assert tsquery(phrase) == "( 'neel nanda':D )"
    assert tsquery(Term(("a", "b", "a", "b"))) == "( 'a b' <-> 'b a' <-> 'a b' )"
    cond = Without(AllOf((AnyOf((Term(("llm",)), Term(("müller",)))), phrase)), Term(("a", "b")))
    assert tsquery(cond) == ("( ( ( 'llm' | 'muller' ) & ( 'neel nanda':D ) ) & !( 'a b' ) )")
    assert tsquery(Term(("it's",))) == "( 'it s' )"  # re-tokenized, never raw text
    assert quote("it's\\") == "'it''s\\\\'"


@pytest.fixture
async def conn(pg_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(pg_dsn)
    try:
        yield connection
    finally:
        await connection.close()


async def matches(conn: asyncpg.Connection, texts: list[str], cond: object) -> bool:
    found = await conn.fetchval(
        "SELECT $1::tsvector @@ $2::tsquery",
        document(texts).vector,
        tsquery(cond),  # type: ignore[arg-type]
    )
    return bool(found)


async def test_postgresql_reads_and_matches_the_literals(conn: asyncpg.Connection) -> None:
    paper = ["Müller's GPT-4o", "We evaluate it.", "Neel Nanda\nAda Lovelace", "", "Lovelace"]
    assert await matches(conn, paper, Term(("gpt", "4o")))
    assert await matches(conn, paper, Term(("muller", "s", "gpt")))
    assert await matches(conn, paper, Term(("muller", "s", "gpt", "4o")))
    assert not await matches(conn, paper, Term(("muller", "gpt")))
    assert not await matches(conn, paper, Term(("gpt", "4o", "muller", "s")))
    assert await matches(conn, paper, Term(("nanda", "ada"), "authors"))  # names run on
    assert not await matches(conn, paper, Term(("4o", "neel")))  # across fields: never
    assert not await matches(conn, paper, Term(("evaluate",), "authors"))
    assert await matches(conn, paper, Without(Term(("evaluate",)), Term(("it", "we"))))
    assert not await matches(conn, paper, Without(Term(("evaluate",)), Term(("lovelace",))))
    quoted = ["it's a back\\slash", "", "", "", ""]
    assert await matches(conn, quoted, Term(("it", "s")))
    odd = await conn.fetchval("SELECT tsvector_to_array($1::tsvector)", quote("it's\\") + ":1")
    assert odd == ["it's\\"]


async def test_a_huge_abstract_keeps_the_short_fields_phrases(conn: asyncpg.Connection) -> None:
    abstract = " ".join(f"w{n} filler" for n in range(MAX_POSITION))
    paper = ["Title words here", abstract, "Neel Nanda", "kw", "summary text"]
    assert await matches(conn, paper, Term(("title", "words")))
    assert await matches(conn, paper, Term(("summary", "text")))
    assert await matches(conn, paper, Term(("w1", "filler")))
    assert await matches(conn, paper, Term(("neel", "nanda"), "authors"))
