"""Match a batch of new papers against every subscription at once, without SQL.

A subscription's :class:`~bot.grammar.query.Query` means here exactly what its strict search tier
(:meth:`Query.fts_strict`) means to the store's FTS5 index: every OR-group needs one term
that occurs as a contiguous phrase in the paper (title, abstract, authors, AI keywords,
AI summary; ``author:`` terms only in the authors), and no excluded term may occur. ``since`` and
``sort`` only shape a search's results, so the matcher ignores them; a query with no
words at all (only ``since:``/``sort:``) matches every paper.

Scale comes from anchoring, not from looping over subscriptions. Each distinct query is
compiled once into a :class:`_Rule` and filed under the *anchors* of its cheapest required
group: per term, the word itself, or for a phrase its rarest adjacent word pair. Any paper
the rule matches contains one of those anchors, so a paper only verifies the rules filed
under the words and pairs it contains, and identical queries (common among subscribers) are
verified once. Words and two-word phrases are checked by set lookup, longer phrases by a
substring search of the paper's space-joined tokens.

Tokens follow SQLite's ``unicode61 remove_diacritics 2`` tokenizer as closely as the
standard library allows: runs of letters and digits, lower-cased, with combining marks
on Latin letters removed (``Schölkopf`` = ``scholkopf``). The tokenizer's Unicode tables
are older than Python's, so a few rare characters (private-use code points, symbols and
letters added to Unicode after 6.1, Greek final sigma) split or fold differently.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from bot.grammar.query import Query, Term
from bot.model.papers import Paper

__all__ = ["Matcher", "PaperText", "fold", "token_frequencies", "tokens"]

_TOKEN = re.compile(r"[^\W_]+")
# The combining marks unicode61 drops wherever they stand (not only after a Latin letter).
_DROPPED_MARKS = dict.fromkeys(
    [
        *range(0x300, 0x305),
        *range(0x306, 0x30D),
        *(0x30F, 0x311, 0x31B),
        *range(0x323, 0x329),
        *(0x32D, 0x32E, 0x330, 0x331),
    ]
)
# Where unicode61's own tables differ from Unicode's decompositions.
_FOLDS = str.maketrans({"µ": "μ", "ſ": "s", "ẛ": "s"})
_UNTOUCHED = frozenset("ǡǣǽǿ")
# Between columns in PaperText.text: never part of a token, so no phrase spans two columns.
_COLUMN_GAP = " | "


def _latin(char: str) -> bool:
    code = ord(char)
    return code < 0x250 or 0x1E00 <= code < 0x1F00


def fold(token: str) -> str:
    """One token as the index stores it: lower-case, diacritics of Latin letters removed."""
    token = token.lower()
    if token.isascii():
        return token
    token = token.translate(_FOLDS)
    kept: list[str] = []
    dropped = False
    for char in token:
        for part in char if char in _UNTOUCHED else unicodedata.normalize("NFD", char):
            if unicodedata.combining(part) and kept and _latin(kept[-1]):
                dropped = True
            else:
                kept.append(part)
    return unicodedata.normalize("NFC", "".join(kept)) if dropped else token


def tokens(text: str) -> list[str]:
    """The index tokens of *text*, in order."""
    if not text.isascii():
        text = text.translate(_DROPPED_MARKS)
    return [fold(t) for t in _TOKEN.findall(text)]


def _pairs(column: list[str]) -> list[str]:
    return [f"{a} {b}" for a, b in pairwise(column)]


@dataclass(frozen=True, slots=True)
class PaperText:
    """A paper's tokens in the two shapes verification needs: a set of its words and of
    its adjacent word pairs (``"a b"``, never across two fields), and a space-joined
    string (fields kept apart) for longer phrases."""

    words: frozenset[str]
    text: str
    author_words: frozenset[str]
    author_text: str

    @classmethod
    def of(cls, paper: Paper) -> PaperText:
        columns = [
            tokens(paper.title),
            tokens(paper.abstract),
            tokens("\n".join(paper.authors)),
            tokens("\n".join(paper.ai_keywords)),
            tokens(paper.ai_summary or ""),
        ]
        authors = columns[2]
        return cls(
            words=frozenset(
                [t for column in columns for t in column]
                + [pair for column in columns for pair in _pairs(column)]
            ),
            text=" " + _COLUMN_GAP.join(" ".join(column) for column in columns) + " ",
            author_words=frozenset(authors + _pairs(authors)),
            author_text=" " + " ".join(authors) + " ",
        )


@dataclass(frozen=True, slots=True)
class _Group:
    """Terms of which one must occur: words and two-word phrases (``"a b"``) as a set,
    longer phrases as ``" a b c "``."""

    authors: bool
    words: frozenset[str]
    phrases: tuple[str, ...]

    def hit(self, paper: PaperText) -> bool:
        words, text = (
            (paper.author_words, paper.author_text) if self.authors else (paper.words, paper.text)
        )
        if not self.words.isdisjoint(words):
            return True
        return bool(self.phrases) and any(p in text for p in self.phrases)


def _group(terms: Iterable[Term]) -> _Group:
    authors: bool | None = None
    words: set[str] = set()
    phrases: set[str] = set()
    for term in terms:
        if term.column not in (None, "authors"):
            raise ValueError(f"cannot match the column {term.column!r}")
        on_authors = term.column == "authors"
        if authors is not None and authors != on_authors:
            raise ValueError("an OR-group mixes author and text terms")
        authors = on_authors
        folded = tuple(fold(t) for t in term.tokens)
        if len(folded) <= 2:
            words.add(" ".join(folded))
        else:
            phrases.add(" " + " ".join(folded) + " ")
    return _Group(bool(authors), frozenset(words), tuple(sorted(phrases)))


_Key = tuple[frozenset[_Group], frozenset[_Group]]


class _Rule:
    """One distinct compiled query and the subscriptions that share it."""

    __slots__ = ("anchors", "excluded", "key", "required", "subs")

    def __init__(
        self, key: _Key, required: tuple[_Group, ...], excluded: tuple[_Group, ...]
    ) -> None:
        self.key = key
        self.required = required
        self.excluded = excluded
        self.anchors: tuple[tuple[bool, str], ...] = ()
        self.subs: set[int] = set()

    def hit(self, paper: PaperText) -> bool:
        return all(g.hit(paper) for g in self.required) and not any(
            g.hit(paper) for g in self.excluded
        )


def _compile(query: Query) -> tuple[_Key, tuple[_Group, ...], tuple[_Group, ...]]:
    """The rule's key (order-free, so ``a b`` and ``b a`` share a rule) and its groups."""
    required = [_group(g) for g in query.groups if g] + [_group([a]) for a in query.authors]
    excluded = [_group([t]) for t in query.excluded]
    key = (frozenset(required), frozenset(excluded))
    return key, tuple(dict.fromkeys(required)), tuple(dict.fromkeys(excluded))


def token_frequencies(papers: Iterable[Paper]) -> Counter[str]:
    """In how many of *papers* each token occurs: the rarity a :class:`Matcher` anchors by."""
    counts: Counter[str] = Counter()
    for paper in papers:
        counts.update(key for key in PaperText.of(paper).words if " " not in key)
    return counts


class Matcher:
    """Every subscription's query, indexed so a batch of papers is matched in one pass.

    *frequencies* (token -> document count, see :func:`token_frequencies`) picks the rarest
    anchors; without it longer tokens are assumed rarer. Not safe for concurrent mutation.
    """

    def __init__(self, frequencies: Mapping[str, int] | None = None) -> None:
        self._frequencies = frequencies
        self._rules: dict[_Key, _Rule] = {}
        self._rule_of: dict[int, _Rule] = {}
        self._by_word: dict[str, set[_Rule]] = {}
        self._by_author: dict[str, set[_Rule]] = {}
        self._everything: set[_Rule] = set()

    def __len__(self) -> int:
        return len(self._rule_of)

    @property
    def distinct_queries(self) -> int:
        return len(self._rules)

    def add(self, sub_id: int, query: Query) -> None:
        """Subscribe *sub_id* to *query*, replacing what it had."""
        self.remove(sub_id)
        key, required, excluded = _compile(query)
        rule = self._rules.get(key)
        if rule is None:
            rule = self._rules[key] = _Rule(key, required, excluded)
            self._file(rule)
        rule.subs.add(sub_id)
        self._rule_of[sub_id] = rule

    def remove(self, sub_id: int) -> None:
        """Forget *sub_id*; unknown ids are ignored."""
        rule = self._rule_of.pop(sub_id, None)
        if rule is None:
            return
        rule.subs.discard(sub_id)
        if rule.subs:
            return
        del self._rules[rule.key]
        self._everything.discard(rule)
        for on_authors, token in rule.anchors:
            index = self._by_author if on_authors else self._by_word
            filed = index[token]
            filed.discard(rule)
            if not filed:
                del index[token]

    def match(self, papers: Sequence[Paper]) -> dict[int, list[str]]:
        """Subscription id -> ids of the *papers* it matches, in input order (each once)."""
        found: dict[int, list[str]] = {}
        seen: set[str] = set()
        for paper in papers:
            if paper.id in seen:
                continue
            seen.add(paper.id)
            text = PaperText.of(paper)
            for rule in self._candidates(text):
                if rule.hit(text):
                    for sub_id in rule.subs:
                        found.setdefault(sub_id, []).append(paper.id)
        return found

    def _candidates(self, text: PaperText) -> set[_Rule]:
        candidates = set(self._everything)
        by_word, by_author = self._by_word, self._by_author
        for token in text.words:
            if (filed := by_word.get(token)) is not None:
                candidates |= filed
        for token in text.author_words:
            if (filed := by_author.get(token)) is not None:
                candidates |= filed
        return candidates

    def _cost(self, key: str) -> float:
        """How many papers *key* (a word or a word pair) is expected in; a pair is taken to
        be as common as its rarer word, an upper bound."""
        if " " in key:
            return min(self._cost(word) for word in key.split())
        if self._frequencies is not None:
            return float(self._frequencies.get(key, 0))
        return 1.0 / len(key)

    def _file(self, rule: _Rule) -> None:
        """File *rule* under the anchors of its cheapest required group: per term, the term
        itself when it is a word or a pair, else its rarest adjacent pair."""
        best: tuple[float, tuple[tuple[bool, str], ...]] | None = None
        for group in rule.required:
            terms = [[w] for w in group.words] + [_pairs(p.split()) for p in group.phrases]
            anchors = tuple(
                (group.authors, min(term, key=lambda k: (self._cost(k), k))) for term in terms
            )
            cost = sum(self._cost(token) for _, token in anchors)
            if best is None or cost < best[0]:
                best = (cost, anchors)
        if best is None:
            self._everything.add(rule)
            return
        rule.anchors = tuple(dict.fromkeys(best[1]))
        for on_authors, token in rule.anchors:
            index = self._by_author if on_authors else self._by_word
            index.setdefault(token, set()).add(rule)
