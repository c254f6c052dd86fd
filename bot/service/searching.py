"""What a search answer says besides its cards: how each result matched, where the
all-word matches end, and why nothing was found (an empty store, unknown words, filters)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.grammar.query import Query
from bot.model.replies import Card, Reply
from bot.search import ranking
from bot.search.cards import card_for
from bot.search.engine import SearchPage
from bot.search.hints import no_match_hints
from bot.store.contract import Reads

CUT_NOTE = (
    "The search stopped early: these words are too common to check every paper. "
    "Add a rarer word, or `since:` to search a shorter span."
)
EMPTY_STORE = (
    "The store is empty: no papers to search yet. An operator fills it with "
    "`papersbot ingest` (recent Daily Papers days), or `make demo` for the bundled days."
)


def cards(page: SearchPage, now: datetime) -> tuple[Card, ...]:
    """The page's cards; a result that lacks some of the query's words says so first in its
    "why" line (``matches 3 of 4 words: no “hallucination” · ▲ 38 ...``)."""
    made = []
    for hit in page.hits:
        card = card_for(hit.stored, ranking.trend(hit.stored, now))
        if hit.label:
            card = replace(card, why=f"{hit.label} · {card.why}")
        made.append(card)
    return tuple(made)


def match_note(page: SearchPage) -> str | None:
    """Where the matches with every word end, when this page reaches past them."""
    partial = [i for i, hit in enumerate(page.hits) if hit.missing]
    if not partial:
        return None
    words = page.hits[partial[0]].words
    if partial[0] == 0:
        if page.offset == 0:
            return f"No paper has all {words} words; these have most or some of them."
        return f"These have only some of the {words} words."
    last_full = page.offset + partial[0]
    return f"Results after {last_full} have only some of the {words} words."


async def nothing_found(
    store: Reads, query: Query, text: str, offset: int, *, cut: bool = False
) -> Reply:
    """The answer to a search with no results on this page (*cut*: matching stopped at its
    budget before it found any, which is not the same as no paper matching)."""
    if cut:
        return Reply(text=f"No results found yet for “{text}”.", notes=(CUT_NOTE,))
    if offset:
        return Reply(text=f"No more results for “{text}”.")
    if not await store.papers.exists():
        return Reply(text=EMPTY_STORE)
    notes = await no_match_hints(store, query)
    return Reply(text=f"No papers match “{text}”.", notes=notes)
