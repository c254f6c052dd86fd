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


def field_counts(text: str, terms: Sequence[Term]) -> list[int]:
    """How often each of *terms* occurs in one field's *text*, as the index tokenizes it:
    plain ASCII by :func:`_finder`, anything else by its folded tokens."""
    if text.isascii():
        lowered = text.lower()
        return [len(_finder(term.tokens)(lowered)) for term in terms]
    spaced = _spaced(text)
    return [spaced.count(" " + "  ".join(term.tokens) + " ") for term in terms]


@dataclass(frozen=True, slots=True)
class Scored:
    """A candidate's score, which query terms it contains, and whether its title holds
    every term it contains."""

    score: float
    found: frozenset[Term]
    title_holds: bool


class Scorer:
    """BM25F for one query, prepared once per search: each term's finder, rarity and
    boost, and each field's length normalisation (see the module docstring). *whole* (all
    the words side by side) is a term of its own, weighted by ``weights.phrase``."""

    def __init__(
        self,
        terms: Sequence[Term],
        stats: Stats,
        whole: Term | None = None,
        weights: Weights = DEFAULT,
    ) -> None:
        self._terms = (*terms, whole) if whole else tuple(terms)
        self._words = len(terms)  # the query's own terms come first; then *whole*, if any
        self._weights = [
            (weights.phrase if i >= self._words else 1.0) * stats.idf(term)
            for i, term in enumerate(self._terms)
        ]
        self._fields = weights.fields
        self._k1 = weights.k1
        self._slope = [weights.b / (mean or 1.0) for mean in stats.mean_lengths]
        self._base = 1 - weights.b

    def score(self, candidate: Marked) -> Scored:
        """BM25F of one candidate."""
        tfs = [0.0] * len(self._terms)
        found: set[int] = set()
        in_title: set[int] = set()
        for f, (text, length) in enumerate(zip(candidate.texts, candidate.lengths, strict=True)):
            if not text or not length:
                continue
            counts = field_counts(text, self._terms)
            scale = self._fields[f] / (self._base + self._slope[f] * length)
            for i, count in enumerate(counts):
                if count:
                    tfs[i] += scale * count
                    if i < self._words:
                        found.add(i)
                        if f == 0:
                            in_title.add(i)
        k1 = self._k1
        total = sum(
            w * tf * (k1 + 1) / (k1 + tf) for w, tf in zip(self._weights, tfs, strict=True) if tf
        )
        return Scored(
            total,
            frozenset(self._terms[i] for i in found),
            bool(found) and in_title == found,
        )


def score(
    candidate: Marked,
    terms: Sequence[Term],
    stats: Stats,
    whole: Term | None = None,
    weights: Weights = DEFAULT,
) -> Scored:
    """BM25F of one candidate for *terms* (and *whole*): :class:`Scorer` for one use."""
    return Scorer(terms, stats, whole, weights).score(candidate)


__all__ = ["DEFAULT", "FIELDS", "Scored", "Scorer", "Stats", "Weights", "score"]
