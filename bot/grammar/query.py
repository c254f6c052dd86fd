"""The search query language, parsed into a :class:`Query` and rebuilt as FTS5 syntax.

    words            all must match            sparse autoencoders
    "exact phrase"   adjacent, in order        "mixture of experts"
    -word, -"a b"    must not match            diffusion -video
    a OR b           either (binds tighter than the implicit AND)   llm OR "language model"
    author:name      an author (quote full names)                   author:"Neel Nanda"
    since:WHEN       published on/after a date or within a span     since:2026-01-01, since:7d
    sort:ORDER       relevance (default), trending or new           sort:new

User text never reaches SQL or FTS5 as written: every word is split into the same tokens
the index uses (letters and digits) and re-quoted, so any input either yields a valid FTS5
expression or a :class:`QueryError` whose message explains the problem with an example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from bot.errors import QueryError, shown

MAX_QUERY_CHARS = 250
MAX_TERMS = 16
SORTS = ("relevance", "trending", "new")
Sort = Literal["relevance", "trending", "new"]

_TOKEN = re.compile(r"[^\W_]+")
_LEX = re.compile(r'\s*(?:(-?)([a-zA-Z]+):)?(-?)(?:"([^"]*)("?)|(\S+))')
_SPAN = re.compile(r"([0-9]{1,4})\s*([dwmy])", re.IGNORECASE)
_SPAN_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
_FILTERS = ("author", "since", "sort")
# Names people try as filters; these get an error instead of being searched as words.
_LOOKS_LIKE_FILTER = frozenset(
    {"title", "abstract", "by", "from", "before", "until", "after", "year", "in", "cat", "tag"}
)
EXAMPLE = 'e.g. `diffusion "video generation" -survey author:Nanda since:30d sort:new`'


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a quoted phrase, as index tokens (lower-case letters and digits)."""

    tokens: tuple[str, ...]
    column: str | None = None

    def fts(self) -> str:
        phrase = '"' + " ".join(self.tokens) + '"'
        return f"{self.column} : {phrase}" if self.column else phrase

    def shown(self) -> str:
        """The term as people read it: a word, or a phrase in quotes."""
        text = " ".join(self.tokens)
        return f'"{text}"' if len(self.tokens) > 1 else text


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every part must match."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one part must match."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Without:
    """*kept* must match and *dropped* must not."""

    kept: Condition
    dropped: Term


# What a search asks of the index, built from the parsed query (never from user text):
# each store renders it in its own syntax (FTS5 here, ``tsquery`` for PostgreSQL).
Condition = Term | AllOf | AnyOf | Without


def _all(parts: list[Condition]) -> Condition:
    flat = [q for p in parts for q in (p.parts if isinstance(p, AllOf) else (p,))]
    return flat[0] if len(flat) == 1 else AllOf(tuple(flat))


def all_but_one(parts: list[Condition]) -> Condition:
    """Every one of *parts* (two or more) but at most one, as a balanced tree.

    Split in halves: either the whole left half and all of the right half but one, or the
    other way round. Each part then appears about twice per level, ``2 log2 n`` times in
    all, where the plain OR of each part's absence repeats it ``n - 1`` times; FTS5 walks a
    part's posting lists at every appearance (``a-rag interfaces retrieval-augmented``
    at 100,000 papers: 9.1 → 6.4 ms).
    """
    if len(parts) == 2:
        return AnyOf(tuple(parts))
    left, right = parts[: len(parts) // 2], parts[len(parts) // 2 :]
    spare_left = [all_but_one(left)] if len(left) > 1 else []  # one part: may be missing
    return AnyOf((_all([*left, all_but_one(right)]), _all([*spare_left, *right])))


def fts5(cond: Condition) -> str:
    """*cond* as an SQLite FTS5 expression (every term quoted)."""
    if isinstance(cond, Term):
        return cond.fts()
    if isinstance(cond, AnyOf):
        inner = (f"({fts5(p)})" if isinstance(p, AllOf) else fts5(p) for p in cond.parts)
        return "(" + " OR ".join(inner) + ")"
    if isinstance(cond, AllOf):
        return " AND ".join(fts5(p) for p in cond.parts)
    return f"({fts5(cond.kept)}) NOT {cond.dropped.fts()}"


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: an AND of OR-groups, exclusions and filters."""

    groups: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()
    authors: tuple[Term, ...] = ()
    since: datetime | None = None
    sort: Sort = "relevance"

    @property
    def has_text(self) -> bool:
        return bool(self.groups or self.authors)

    def _finish(self, positive: list[Condition]) -> Condition:
        cond: Condition = _all([*positive, *self.authors])
        for term in self.excluded:
            cond = Without(cond, term)
        return cond

    def _words(self) -> list[Term]:
        return [term for group in self.groups for term in group]

    def _strict_parts(self) -> list[Condition]:
        return [group[0] if len(group) == 1 else AnyOf(group) for group in self.groups]

    def _phrase_parts(self) -> list[Condition] | None:
        whole = self.whole_phrase()
        return [whole] if whole else None

    def _most_parts(self) -> list[Condition] | None:
        """Every group but one, in any combination (three groups or more)."""
        if len(self.groups) < 3:
            return None
        return [all_but_one(self._strict_parts())]

    def _any_parts(self) -> list[Condition] | None:
        if len(self.groups) < 2:
            return None
        return [AnyOf(tuple(self._words()))]

    def strict(self) -> Condition | None:
        """Every group must match (the query's meaning); ``None`` if there is no text."""
        return self._finish(self._strict_parts()) if self.has_text else None

    def fts_strict(self) -> str:
        """:meth:`strict` as an FTS5 expression; ``""`` if there is no text."""
        strict = self.strict()
        return fts5(strict) if strict is not None else ""

    def fts_marks(self) -> str | None:
        """Any of the query's words (not ``author:`` names): what a tier's candidates have
        highlighted for scoring. ``None`` for a query of authors only."""
        words = self._words()
        whole = self.whole_phrase()
        marks = [t.fts() for t in words] + ([whole.fts()] if whole else [])
        return " OR ".join(marks) if marks else None

    def whole_phrase(self) -> Term | None:
        """All the words side by side, for a query of two words or more without ``OR``: the
        phrase tier's condition, and a term of its own in scoring (proximity)."""
        if any(len(g) > 1 for g in self.groups) or len(self.groups) < 2:
            return None
        return Term(tuple(tok for term in self._words() for tok in term.tokens))

    def units(self) -> tuple[str, ...]:
        """The required groups as people read them: ``hallucination``, ``"mixture of
        experts"``, ``llm OR transformer`` (for "matches 3 of 4 words: no ...")."""
        return tuple(" OR ".join(t.shown() for t in group) for group in self.groups)

    def tiers(self) -> list[Tier]:
        """The relevance tiers, best first: exact phrase, all words, all words but one
        (three words or more), any word."""
        if not self.has_text:
            return []
        found = []
        kinds: tuple[TierKind, ...] = ("phrase", "all", "most", "any")
        parts_of = (self._phrase_parts, self._strict_parts, self._most_parts, self._any_parts)
        for kind, parts in zip(kinds, parts_of, strict=True):
            made = parts()
            if made is not None:
                found.append(Tier(kind, self._finish(made)))
        return found


TierKind = Literal["phrase", "all", "most", "any"]


@dataclass(frozen=True, slots=True)
class Tier:
    """One relevance tier: its kind and its condition (exclusions and ``author:`` filters
    included), which each store renders in its own index's syntax."""

    kind: TierKind
    condition: Condition

    @property
    def match(self) -> str:
        """The condition as an FTS5 expression."""
        return fts5(self.condition)


def _term(text: str, column: str | None = None) -> Term | None:
    tokens = tuple(t.lower() for t in _TOKEN.findall(text))
    return Term(tokens, column) if tokens else None


def parse_since(value: str, now: datetime) -> datetime:
    """``2026-01-01`` or a span like ``7d``/``2w``/``3m``/``1y`` before *now*."""
    if m := _SPAN.fullmatch(value.strip()):
        days = int(m.group(1)) * _SPAN_DAYS[m.group(2).lower()]
        if days > 365 * 50:
            raise QueryError(f"`since:{shown(value)}` is too far back; try `since:1y`.")
        return now - timedelta(days=days)
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise QueryError(
            f"`since:{shown(value)}` is not a date or span; use `since:2026-01-31` or `since:7d`."
        ) from None
    return datetime.combine(day, time(), UTC)


def parse_query(text: str, *, now: datetime) -> Query:
    """Parse user text into a :class:`Query`, or raise :class:`QueryError` with a hint."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"That query is {len(text)} characters; keep it under {MAX_QUERY_CHARS}.")
    parser = _Parser(now)
    text = text.strip()
    pos = 0
    while pos < len(text):
        m = _LEX.match(text, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        parser.token(*m.groups())
    return parser.finish()


_SORT_BY_NAME: dict[str, Sort] = {"relevance": "relevance", "trending": "trending", "new": "new"}


class _Parser:
    """The state of one :func:`parse_query`: terms so far, filters, a pending ``OR``."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.groups: list[list[Term]] = []
        self.excluded: list[Term] = []
        self.authors: list[Term] = []
        self.since: datetime | None = None
        self.sort: Sort = "relevance"
        self.join_next = False

    def token(
        self,
        neg_key: str | None,
        key: str | None,
        neg: str | None,
        quoted: str | None,
        closed: str | None,
        bare: str | None,
    ) -> None:
        """One lexed token: ``-key:value``, ``-"phrase"``, ``word`` or ``OR``."""
        if quoted is not None and not closed:
            raise QueryError(f'A quote is not closed; write phrases like `"{shown(quoted)}"`.')
        value = quoted if quoted is not None else bare or ""
        if key is not None:
            key = key.lower()
            if key in _FILTERS:
                self._filter(key, value, negated=bool(neg_key))
                return
            if quoted is not None or bare is None or key in _LOOKS_LIKE_FILTER:
                raise QueryError(
                    f"Unknown filter `{key}:`; filters are `author:`, `since:` and `sort:`."
                )
            value = f"{key}:{value}"  # not a filter after all ("Llama:" or "re:Invent")
        self._word(value, quoted=quoted is not None, negated=bool(neg or neg_key))

    def _filter(self, key: str, value: str, *, negated: bool) -> None:
        if not value:
            raise QueryError(f"`{key}:` needs a value, {EXAMPLE}.")
        if key == "since":
            self.since = parse_since(value, self.now)
        elif key == "sort":
            sort = _SORT_BY_NAME.get(value.lower())
            if sort is None:
                raise QueryError(
                    f"`sort:{shown(value)}` is unknown; use sort:relevance, sort:trending "
                    "or sort:new."
                )
            self.sort = sort
        else:
            term = _term(value, "authors")
            if term is None:
                raise QueryError(f"`author:{shown(value)}` has no name in it, {EXAMPLE}.")
            (self.excluded if negated else self.authors).append(term)

    def _word(self, value: str, *, quoted: bool, negated: bool) -> None:
        if not quoted and value.lower().rstrip(":") in _FILTERS and value.endswith(":"):
            raise QueryError(f"`{shown(value)}` needs a value, {EXAMPLE}.")
        if not quoted and value == "OR":
            if not self.groups or self.join_next:
                raise QueryError("`OR` needs a word on each side, like `llm OR transformer`.")
            self.join_next = True
            return
        term = _term(value)
        if term is None:
            self.join_next = False
            return
        if negated:
            self.excluded.append(term)
        elif self.join_next:
            self.groups[-1].append(term)
        else:
            self.groups.append([term])
        self.join_next = False

    def finish(self) -> Query:
        groups, excluded, authors = self.groups, self.excluded, self.authors
        if self.join_next:
            raise QueryError("`OR` needs a word on each side, like `llm OR transformer`.")
        if sum(len(g) for g in groups) + len(excluded) + len(authors) > MAX_TERMS:
            raise QueryError(f"That query has too many terms; use at most {MAX_TERMS}.")
        if excluded and not (groups or authors):
            raise QueryError("Add at least one word to look for, like `diffusion -video`.")
        if not (groups or authors or self.since or self.sort != "relevance"):
            raise QueryError(f"Nothing to search for; {EXAMPLE}.")
        return Query(
            groups=tuple(tuple(g) for g in groups),
            excluded=tuple(excluded),
            authors=tuple(authors),
            since=self.since,
            sort=self.sort,
        )
