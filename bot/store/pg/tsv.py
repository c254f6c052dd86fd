"""Full-text on PostgreSQL with SQLite's tokens: each paper's ``tsvector`` and each search's
``tsquery`` are written here, in Python, never by ``to_tsvector`` or from user text.

PostgreSQL's own parsers stem, drop stop words and split words differently from FTS5's
``unicode61 remove_diacritics 2``, and a search must find the same papers on both stores.
So both sides use one folding (:func:`fold`: NFKD, combining marks dropped, lower case) and
one tokenizer (runs of letters and digits, as :mod:`bot.grammar.query` splits words), and
PostgreSQL receives literals it stores and compares as they are.

Each field's tokens take positions of their own, with a gap between fields so that a phrase
(``<->``) never spans two of them. Each pair of adjacent tokens is a lexeme too (``'world
models'``, at the first token's position), and a phrase is the chain of its pairs: GIN keeps
no positions, so a phrase of single words would be rechecked on every paper holding the
words (PostgreSQL also estimates it as their AND, 100x too many, and walks the newest papers
filtering each one: 400-800 ms at 100k papers), while its pairs are as selective as the
phrase itself. Pairs hold a space, so they never mix with the vocabulary's single tokens.
Every position carries a weight that names the field (title A, abstract B,
keywords and AI summary C, authors D), so ``author:`` matches authors only. PostgreSQL
clamps positions at 16383; the abstract, the only field that can grow long, is laid out
last so that only the tail of a very long abstract shares the last position.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.grammar.query import AllOf, AnyOf, Condition, Term
from bot.store.records import FIELDS

_TOKEN = re.compile(r"[^\W_]+")
MAX_POSITION = 16383  # PostgreSQL's WordEntryPos limit
FIELD_GAP = 2  # unused positions between two fields: a phrase never spans them
MAX_LEXEME_BYTES = 2046  # longer lexemes are refused by PostgreSQL

WEIGHTS = {"title": "A", "abstract": "B", "keywords": "C", "ai_summary": "C", "authors": "D"}
# Position order (not FIELDS order): the long abstract last, see the module docstring.
_LAYOUT = ("title", "authors", "keywords", "ai_summary", "abstract")


def fold(text: str) -> str:
    """*text* lower-cased, compatibility-decomposed and without combining marks."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def tokens(text: str) -> list[str]:
    """The index tokens of *text*, in order (FTS5 ``unicode61 remove_diacritics 2``)."""
    return [tok for tok in _TOKEN.findall(fold(text)) if len(tok.encode()) <= MAX_LEXEME_BYTES]


def quote(lexeme: str) -> str:
    """*lexeme* as a quoted tsvector/tsquery lexeme."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class Document:
    """One paper's index entry: the ``tsvector`` literal, each field's token count (in
    :data:`FIELDS` order) and the distinct tokens (for the vocabulary's counts; the pairs
    are not counted)."""

    vector: str
    lengths: tuple[int, ...]
    lexemes: frozenset[str]


def document(texts: Sequence[str]) -> Document:
    """The index entry of a paper whose fields (in :data:`FIELDS` order) hold *texts*."""
    by_field = dict(zip(FIELDS, texts, strict=True))
    positions: dict[str, list[str]] = {}
    lengths: dict[str, int] = {}
    start = 0
    for field in _LAYOUT:
        toks = tokens(by_field[field])
        lengths[field] = len(toks)
        weight = WEIGHTS[field]
        for offset, tok in enumerate(toks, start=1):
            pos = f"{min(start + offset, MAX_POSITION)}{weight}"
            positions.setdefault(tok, []).append(pos)
            pair = f"{tok} {toks[offset]}" if offset < len(toks) else ""
            if pair and len(pair.encode()) <= MAX_LEXEME_BYTES:
                positions.setdefault(pair, []).append(pos)
        start += len(toks) + FIELD_GAP
    vector = " ".join(f"{quote(tok)}:{','.join(pos)}" for tok, pos in positions.items())
    words = frozenset(lexeme for lexeme in positions if " " not in lexeme)
    return Document(vector, tuple(lengths[f] for f in FIELDS), words)


def _tokens(term: Term) -> list[str]:
    return [tok for word in term.tokens for tok in tokens(word)] or list(term.tokens)


def _term(term: Term, chain: str = " <-> ") -> str:
    toks = _tokens(term)
    weight = f":{WEIGHTS[term.column]}" if term.column else ""
    if len(toks) == 1:
        return f"{quote(toks[0])}{weight}"
    pairs = (f"{a} {b}" for a, b in itertools.pairwise(toks))
    return "( " + chain.join(f"{quote(pair)}{weight}" for pair in pairs) + " )"


def tsquery(cond: Condition) -> str:
    """*cond* as a ``tsquery`` literal: phrases as chains of token pairs (``<->``),
    ``author:`` by weight D.

    Built from the parsed query's tokens only (never from raw user text), each lexeme
    folded as the index's are and quoted."""
    if isinstance(cond, Term):
        return _term(cond)
    if isinstance(cond, AnyOf):
        return "( " + " | ".join(tsquery(p) for p in cond.parts) + " )"
    if isinstance(cond, AllOf):
        return "( " + " & ".join(tsquery(p) for p in cond.parts) + " )"
    return f"( {tsquery(cond.kept)} & !{_term(cond.dropped)} )"


def loose(cond: Condition) -> str | None:
    """A ``tsquery`` that every match of *cond* matches, and that GIN answers without
    reading the rows' tsvectors (``author:`` terms aside: GIN keeps no weights): each phrase
    of three words or more as the AND of its pairs (GIN keeps no positions, so a chain of
    pairs makes PostgreSQL read and test every candidate's tsvector), an exclusion left
    out. ``None`` when *cond* has no such phrase."""

    def chained(c: Condition) -> bool:
        if isinstance(c, Term):
            return len(_tokens(c)) > 2
        if isinstance(c, AllOf | AnyOf):
            return any(chained(p) for p in c.parts)
        return chained(c.kept)

    def render(c: Condition) -> str:
        if isinstance(c, Term):
            return _term(c, " & ")
        if isinstance(c, AnyOf):
            return "( " + " | ".join(render(p) for p in c.parts) + " )"
        if isinstance(c, AllOf):
            return "( " + " & ".join(render(p) for p in c.parts) + " )"
        return render(c.kept)

    return render(cond) if chained(cond) else None


def words(cond: Condition) -> set[str]:
    """The single tokens *cond* asks for (the vocabulary counts these, not the pairs)."""
    if isinstance(cond, Term):
        return set(_tokens(cond))
    if isinstance(cond, AllOf | AnyOf):
        return set().union(*(words(p) for p in cond.parts))
    return words(cond.kept)


def most_matches(cond: Condition, docs: Mapping[str, int]) -> int:
    """At most how many papers match *cond*, from each token's document count in *docs*
    (a token missing from it is in none): a phrase or an AND matches at most as many as
    its rarest part, an OR at most all of its parts', an exclusion at most what it keeps."""
    if isinstance(cond, Term):
        return min(docs.get(tok, 0) for tok in _tokens(cond))
    if isinstance(cond, AllOf):
        return min(most_matches(p, docs) for p in cond.parts)
    if isinstance(cond, AnyOf):
        return sum(most_matches(p, docs) for p in cond.parts)
    return most_matches(cond.kept, docs)
