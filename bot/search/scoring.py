"""Relevance inside a tier: BM25F over the bounded candidate set.

Each candidate arrives with the text of its fields and their lengths in index tokens, as
the index counted them (:class:`bot.store.records.Marked`). Each query term's frequency per
field is counted here where the index's tokenizer would find it (:func:`_finder`: a regex
per term that skips ahead to the term's first word, so a field is never tokenized whole);
the index's totals give the mean lengths, and a capped count of matches the document
frequencies. So the score of a candidate costs the same whatever the size of the store,
unlike FTS5's ``bm25()``, which reads every match.

    tf~(t)  = sum over fields f of  weight_f * tf(t, f) / (1 - b + b * len_f / meanlen_f)
    score   = sum over terms t of   idf(t) * tf~(t) * (k1 + 1) / (k1 + tf~(t))

A term is a query word or a quoted phrase (a phrase counts where its words stand side by
side, its rarity is that of its rarest word). A field that a paper lacks (many papers have
no AI summary) contributes nothing: having a field is never worth anything by itself.
What was tried and measured is in ``bench/quality_log.md``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.grammar.query import Term
from bot.search.matcher import tokens
from bot.store.records import FIELDS, Marked


@dataclass(frozen=True, slots=True)
class Weights:
    """Field weights (in :data:`bot.store.fulltext.FIELDS` order), BM25's ``k1`` and ``b``."""

    fields: tuple[float, ...] = (1.0, 1.0, 0.0, 1.0, 3.0)
    k1: float = 1.2
    b: float = 0.75
    phrase: float = 2.0  # the whole query as one phrase, relative to a word


DEFAULT = Weights()
# Non-ASCII fields whose tokens are remembered (about 4 kB each with the text).
SPACED_CACHE = 1024


@dataclass(frozen=True, slots=True)
class Stats:
    """What scoring needs from the whole index: its size, mean field lengths and the
    document frequency of each query token."""

    papers: int
    mean_lengths: tuple[float, ...]
    frequencies: Mapping[str, int]

    def idf(self, term: Term) -> float:
        """BM25's (non-negative) inverse document frequency; a phrase takes its rarest word's."""
        df = min((self.frequencies.get(tok, 0) for tok in term.tokens), default=0)
        return math.log(1 + (self.papers - df + 0.5) / (df + 0.5))


@functools.lru_cache(maxsize=SPACED_CACHE)
def _spaced(text: str) -> str:
    """A field that is not plain ASCII as its index tokens (folded as the index folds them),
    each between two spaces of its own, so ``str.count(" w ")`` counts every occurrence,
    phrases included. Remembered for the most recent fields."""
    return " " + "  ".join(tokens(text)) + " "


@functools.lru_cache(maxsize=1024)
def _finder(term: tuple[str, ...]) -> Callable[[str], list[str]]:
    """Finds *term* in lower-cased ASCII text: each token whole, the tokens of a phrase
    side by side with only separators between them, as FTS5's tokenizer splits text.

    The pattern starts with the first token as a literal (with a fixed-width look-behind
    for its left edge), so the regex engine skips ahead to it: counting a term this way is
    several times cheaper than tokenizing the whole field."""
    first = re.escape(term[0])
    rest = "".join(f"[^a-z0-9]+{re.escape(token)}" for token in term[1:])
    return re.compile(f"{first}(?<![a-z0-9]{first}){rest}(?![a-z0-9])").findall


def _counter(text: str) -> Callable[[Term], int]:
    """How often a term occurs in one field's *text*."""
    if text.isascii():
        lowered = text.lower()
        return lambda term: len(_finder(term.tokens)(lowered))
    spaced = _spaced(text)
    return lambda term: spaced.count(" " + "  ".join(term.tokens) + " ")


@dataclass(frozen=True, slots=True)
class Scored:
    """A candidate's score, which query terms it contains, and whether its title holds
    every term it contains."""

    score: float
    found: frozenset[Term]
    title_holds: bool


def score(
    candidate: Marked,
    terms: Sequence[Term],
    stats: Stats,
    whole: Term | None = None,
    weights: Weights = DEFAULT,
) -> Scored:
    """BM25F of one candidate for *terms*, plus *whole* (all the words side by side) as a
    term of its own weighted by ``weights.phrase`` (see the module docstring)."""
    fields = [
        (f, _counter(text), length)
        for f, (text, length) in enumerate(zip(candidate.texts, candidate.lengths, strict=True))
        if text and length
    ]
    total = 0.0
    found: set[Term] = set()
    in_title: set[Term] = set()
    for term in (*terms, whole) if whole else terms:
        tf = 0.0
        for f, count_in, length in fields:
            count = count_in(term)
            if not count:
                continue
            if term is not whole:
                found.add(term)
            if f == 0 and term is not whole:
                in_title.add(term)
            mean = stats.mean_lengths[f] or 1.0
            norm = 1 - weights.b + weights.b * length / mean
            tf += weights.fields[f] * count / norm
        if tf:
            boost = weights.phrase if term is whole else 1.0
            total += boost * stats.idf(term) * tf * (weights.k1 + 1) / (weights.k1 + tf)
    return Scored(total, frozenset(found), bool(found) and in_title == found)


__all__ = ["DEFAULT", "FIELDS", "Scored", "Stats", "Weights", "score"]
