"""Relevance inside a tier: BM25F over the bounded candidate set.

Each candidate arrives with its fields highlighted for the query's words
(:class:`bot.store.fulltext.Marked`); the marked spans give each query term's frequency per
field, the index's ``docsize`` gives the field lengths, FTS5's own totals the mean lengths,
and the vocabulary the document frequencies. So the score of a candidate costs the same
whatever the size of the store, unlike FTS5's ``bm25()``, which reads every match.

    tf~(t)  = sum over fields f of  weight_f * tf(t, f) / (1 - b + b * len_f / meanlen_f)
    score   = sum over terms t of   idf(t) * tf~(t) * (k1 + 1) / (k1 + tf~(t))

A term is a query word or a quoted phrase (a phrase counts where its words stand side by
side, its rarity is that of its rarest word). A field that a paper lacks (many papers have
no AI summary) contributes nothing: having a field is never worth anything by itself.
What was tried and measured is in ``bench/quality_log.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.grammar.query import Term
from bot.search.matcher import tokens
from bot.store.fulltext import CLOSE, FIELDS, OPEN, Marked

_SPAN = re.compile(f"{OPEN}([^{CLOSE}]*){CLOSE}")


@dataclass(frozen=True, slots=True)
class Weights:
    """Field weights (in :data:`bot.store.fulltext.FIELDS` order), BM25's ``k1`` and ``b``."""

    fields: tuple[float, ...] = (1.0, 1.0, 0.0, 1.0, 3.0)
    k1: float = 1.2
    b: float = 0.75
    phrase: float = 2.0  # the whole query as one phrase, relative to a word


DEFAULT = Weights()


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


def marked_tokens(candidate: Marked) -> list[list[list[str]]]:
    """Per field, the token lists of its highlighted spans."""
    return [[tokens(span) for span in _SPAN.findall(text)] for text in candidate.texts]


def _count(spans: Sequence[list[str]], term: Term) -> int:
    want = list(term.tokens)
    n = len(want)
    if n == 1:
        return sum(span.count(want[0]) for span in spans)
    return sum(1 for span in spans for i in range(len(span) - n + 1) if span[i : i + n] == want)


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
    fields = marked_tokens(candidate)
    total = 0.0
    found: set[Term] = set()
    in_title: set[Term] = set()
    for term in (*terms, whole) if whole else terms:
        tf = 0.0
        for f, spans in enumerate(fields):
            if not spans:
                continue
            count = _count(spans, term)
            if not count:
                continue
            if term is not whole:
                found.add(term)
            if f == 0 and term is not whole:
                in_title.add(term)
            mean = stats.mean_lengths[f] or 1.0
            length = candidate.lengths[f] if f < len(candidate.lengths) else mean
            norm = 1 - weights.b + weights.b * length / mean
            tf += weights.fields[f] * count / norm
        if tf:
            boost = weights.phrase if term is whole else 1.0
            total += boost * stats.idf(term) * tf * (weights.k1 + 1) / (weights.k1 + tf)
    return Scored(total, frozenset(found), bool(found) and in_title == found)


__all__ = ["DEFAULT", "FIELDS", "Scored", "Stats", "Weights", "marked_tokens", "score"]
