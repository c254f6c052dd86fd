"""Rankings of recent relevance searches, so a repeated search or its next page costs a page
read instead of matching and scoring again.

A ranking is remembered for one state of the index (:meth:`FullTextStore.state`: on SQLite,
FTS5's structure record, which every committed change to the indexed text rewrites, read on
a reader's connection), so new or changed papers are seen at once. What the index does not
hold is read fresh on every page: the papers shown, with their current upvotes and
comments. Only the last tie-break between candidates of equal score (popularity) can be up
to :data:`TTL` seconds old. Not remembered: a query with ``since:`` (it filters on the
date a paper was featured, which changes without its text; and a relative span names a new
instant on every request), rankings whose matching was cut at the store's budget (the next
search may reach further), and any on a store that gives no state (PostgreSQL, or a search
on the SQLite store's own connection, which also writes).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from bot.grammar.query import Query, TierKind

ENTRIES = 128  # rankings remembered; each holds at most a few hundred rowids
TTL = 300.0  # seconds a ranking is used for


@dataclass(frozen=True, slots=True)
class Ranked:
    """A query's candidates ranked, as far as its tiers were read.

    ``order`` is every candidate read, best first (tier first, so the candidates of the
    first *n* tiers are a prefix); ``sizes[n]`` is how many candidates tiers ``0..n`` hold;
    ``planned`` is how many tiers the query has; ``found[rowid]`` is the candidate's tier,
    its tier's kind and the query's words it lacks.
    """

    order: tuple[int, ...]
    sizes: tuple[int, ...]
    planned: int
    found: dict[int, tuple[int, TierKind | None, tuple[str, ...]]]
    cut: bool = False

    def tiers_for(self, end: int) -> int | None:
        """How many tiers a search for the page ending at *end* reads (each tier is read
        while the tiers before it hold no more than *end* candidates), or ``None`` when
        that is more than this ranking read."""
        for read, size in enumerate(self.sizes, 1):
            if size > end:
                return read
        return len(self.sizes) if len(self.sizes) == self.planned else None


class Rankings:
    """The last :data:`ENTRIES` rankings for the index's current state, least recently used
    forgotten first; a new state forgets them all."""

    def __init__(
        self, entries: int = ENTRIES, ttl: float = TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries, self._ttl, self._clock = entries, ttl, clock
        self._state = b""
        self._ranked: OrderedDict[Query, tuple[float, Ranked]] = OrderedDict()

    def get(self, state: bytes | None, query: Query) -> Ranked | None:
        if state is None or state != self._state:
            return None
        entry = self._ranked.get(query)
        if entry is None:
            return None
        at, ranked = entry
        if self._clock() - at > self._ttl:
            del self._ranked[query]
            return None
        self._ranked.move_to_end(query)
        return ranked

    def put(self, state: bytes | None, query: Query, ranked: Ranked) -> None:
        if state is None or ranked.cut:
            return
        if state != self._state:
            self._state = state
            self._ranked.clear()
        self._ranked[query] = (self._clock(), ranked)
        self._ranked.move_to_end(query)
        while len(self._ranked) > self._entries:
            self._ranked.popitem(last=False)

    def __len__(self) -> int:
        return len(self._ranked)
