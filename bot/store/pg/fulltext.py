"""Full-text reads for search on PostgreSQL: the bounded candidate scans, term rarity, the
index's totals and vocabulary, with the same answers as SQLite's (:mod:`bot.store.fulltext`).

The index is the ``tsvector`` each paper carries (:mod:`bot.store.pg.tsv`); the totals and
the vocabulary are kept exact by the upsert (:mod:`bot.store.pg.papers`), so the mean field
lengths, a term's document count and the near-miss spellings are each one indexed read,
never a scan of the papers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.grammar.query import Condition
from bot.store.pg.papers import candidates_sql, scan_of
from bot.store.pg.section import PgSection
from bot.store.pg.tsv import fold
from bot.store.records import FIELDS, Marked, Matches

_MARKED = (
    "SELECT rowid, upvotes, comments, github_stars AS stars, featured, "
    f"{', '.join(FIELDS)}, fts_lengths FROM papers"
)


class PgFullText(PgSection):
    """Read-only full-text scans over ``papers.fts`` (see the module docstring)."""

    _what = "the search index"

    async def marked(
        self, condition: Condition, *, limit: int, since: datetime | None = None
    ) -> Matches[Marked]:
        """The newest *limit* papers matching *condition*, with their indexed fields' text
        and token counts (in :data:`FIELDS` order): one bounded read, newest rowid first.
        The scan is cancelled after
        :data:`~bot.store.pg.section.MATCH_TIMEOUT_MS` (``cut``, and empty)."""
        sql, args = candidates_sql(_MARKED, condition, limit, since)
        rows, cut = await self._bounded(sql, *args, scan=scan_of(_MARKED, condition, limit, since))
        return Matches(
            (
                Marked(
                    rowid=row["rowid"],
                    upvotes=row["upvotes"],
                    comments=row["comments"],
                    stars=row["stars"],
                    featured=row["featured"],
                    texts=tuple(row[name] or "" for name in FIELDS),
                    lengths=tuple(row["fts_lengths"]),
                )
                for row in rows
            ),
            cut=cut,
        )

    async def document_counts(self, terms: Sequence[str], *, cap: int = 2000) -> dict[str, int]:
        """In how many papers each index token occurs, counted up to *cap* (absent: 0).

        Read from the vocabulary (``fts_terms``), which holds every token's exact count:
        one indexed read whatever the token, where counting matches would read its whole
        posting list (a GIN bitmap scan is not stopped by a ``LIMIT``)."""
        counts = dict.fromkeys(terms, 0)
        folded = {term: fold(term) for term in counts}
        rows = await self._rows(
            "SELECT term, docs FROM fts_terms WHERE term = ANY($1::text[])",
            sorted(set(folded.values())),
        )
        docs = {str(r["term"]): int(r["docs"]) for r in rows}
        return {term: min(docs.get(folded[term], 0), cap) for term in counts}

    async def size(self) -> tuple[int, tuple[float, ...]]:
        """Papers indexed, and the mean length in tokens of each field."""
        row = await self._one("SELECT papers, lengths FROM fts_totals")
        papers = int(row["papers"]) if row is not None else 0
        if row is None or not papers:
            return 0, (0.0,) * len(FIELDS)
        return papers, tuple(int(total) / papers for total in row["lengths"])

    async def state(self) -> None:
        """No token: nothing here tells every change to the indexed text apart cheaply, so
        rankings are not remembered on PostgreSQL."""

    async def near(self, token: str, *, limit: int = 200) -> list[tuple[str, int]]:
        """Index tokens sharing *token*'s first three letters, with their document counts:
        where near-miss spellings are looked for. At most *limit* tokens are read."""
        stem = token[:3]
        if not stem:
            return []
        upper = stem[:-1] + chr(ord(stem[-1]) + 1)
        rows = await self._rows(
            "SELECT term, docs FROM fts_terms WHERE term >= $1 AND term < $2 "
            "ORDER BY term LIMIT $3",
            stem,
            upper,
            limit,
        )
        return [(str(r["term"]), int(r["docs"])) for r in rows]
