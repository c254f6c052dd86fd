"""What to tell someone whose search found nothing: which words no paper contains (with the
index's near-miss spellings of them) and which filters to drop."""

from __future__ import annotations

from bot.grammar.query import Query
from bot.store.contract import Reads

MAX_SUGGESTIONS = 3
_MAX_EDITS = 2


def edit_distance(a: str, b: str, bound: int = _MAX_EDITS) -> int:
    """Levenshtein distance of *a* and *b*, or ``bound + 1`` once it must exceed *bound*."""
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > bound:
            return bound + 1
        previous = current
    return previous[-1]


async def near_misses(store: Reads, token: str) -> list[str]:
    """Index tokens within two edits of *token* (sharing its first three letters), the
    most common first."""
    found = [
        (edit_distance(token, term), -docs, term)
        for term, docs in await store.fulltext.near(token)
        if term != token
    ]
    return [term for distance, _, term in sorted(found) if distance <= _MAX_EDITS][:MAX_SUGGESTIONS]


def _quoted(words: list[str]) -> str:
    return ", ".join(f"“{w}”" for w in words)


async def no_match_hints(store: Reads, query: Query) -> tuple[str, ...]:
    """Short notes for an empty result: unknown words with spellings the index has, then
    the filters and exclusions that may be hiding matches."""
    words = sorted({tok for group in query.groups for term in group for tok in term.tokens})
    counts = await store.fulltext.document_counts(words)
    notes: list[str] = []
    for word in (w for w in words if counts[w] == 0):
        near = await near_misses(store, word)
        tail = f"; the index has {_quoted(near)}" if near else ""
        notes.append(f"No paper contains “{word}”{tail}.")
    drop = [
        label
        for label, present in (
            ("`since:`", query.since is not None),
            ("`author:`", bool(query.authors)),
            ("the `-` exclusions", bool(query.excluded)),
        )
        if present
    ]
    if drop:
        notes.append(f"Try without {' or '.join(drop)}.")
    elif not notes and len(query.groups) > 1:
        notes.append("Try fewer words, or an `OR` between them.")
    return tuple(notes)
