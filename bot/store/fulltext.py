"""Full-text reads for search: bounded candidate scans that carry what scoring needs, term
rarity, and the index's vocabulary for near-miss spellings.

Scoring is computed by :mod:`bot.search.scoring` over the bounded candidates only, never by
FTS5's ``bm25()`` (which reads every match of the query to weigh its terms). Each candidate
comes with each field as FTS5 ``highlight()`` renders it for a *marking* expression (the
query's words), so term counts per field are read off the marked spans, and with its field
lengths in tokens from the index's own ``docsize`` table. Work per scan is bounded by its
``LIMIT``: rows are visited newest first and ``highlight()`` runs only on the rows returned.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.errors import StoreError
from bot.store.section import Section

# Marks around highlighted spans: control characters never stored in paper text (the
# model's text cleaning drops them at ingest), so a span boundary cannot be forged.
OPEN, CLOSE = "\x02", "\x03"
# Indexed columns, in papers_fts order (migration 6).
FIELDS = ("title", "abstract", "authors", "keywords", "ai_summary")


@dataclass(frozen=True, slots=True)
class Marked:
    """A candidate with its popularity and, per scored field, the highlighted text and
    the field's length in tokens (``lengths`` follows :data:`FIELDS`)."""

    rowid: int
    upvotes: int
    comments: int
    stars: int | None
    featured: float
    texts: tuple[str, ...]  # every field, marked
    lengths: tuple[int, ...]


def _varints(blob: bytes) -> list[int]:
    """FTS5's ``docsize.sz``: one SQLite varint per column (token counts)."""
    values: list[int] = []
    value = 0
    for byte in blob:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            values.append(value)
            value = 0
    return values


def _highlights() -> str:
    return ", ".join(
        f"highlight(papers_fts, {col}, char(2), char(3)) AS h{col}" for col in range(len(FIELDS))
    )


class FullText(Section):
    """Read-only full-text scans over ``papers_fts`` (see the module docstring)."""

    _what = "the search index"

    async def marked(
        self, match: str, marks: str | None, *, limit: int, since: datetime | None = None
    ) -> list[Marked]:
        """The newest *limit* papers matching *match*, with *marks* highlighted.

        *marks* must not change which rows match (the engine passes ``(match) AND (any
        query word)``, true of every row of a tier); ``None`` marks nothing.
        """
        expr = f"({match}) AND ({marks})" if marks else match
        where = "papers_fts MATCH ?"
        params: list[object] = [expr]
        if since is not None:
            where += " AND r.featured >= ?"
            params.append(since.timestamp())
        sql = (
            "SELECT f.rowid, r.upvotes, r.comments, r.stars, r.featured, d.sz, "
            f"{_highlights()} FROM papers_fts f "
            "JOIN paper_rank r ON r.rowid = f.rowid "
            "JOIN papers_fts_docsize d ON d.id = f.rowid "
            f"WHERE {where} ORDER BY f.rowid DESC LIMIT ?"
        )
        params.append(limit)
        rows = await self._query(sql, params)
        return [
            Marked(
                rowid=row["rowid"],
                upvotes=row["upvotes"],
                comments=row["comments"],
                stars=row["stars"],
                featured=row["featured"],
                texts=tuple(row[f"h{col}"] or "" for col in range(len(FIELDS))),
                lengths=tuple(_varints(row["sz"])),
            )
            for row in rows
        ]

    async def document_counts(self, terms: Sequence[str]) -> dict[str, int]:
        """In how many papers each index token occurs (absent tokens: 0)."""
        counts = dict.fromkeys(terms, 0)
        for term in counts:
            row = await self._one("SELECT doc FROM papers_fts_terms WHERE term = ?", (term,))
            counts[term] = int(row["doc"]) if row is not None else 0
        return counts

    async def size(self) -> tuple[int, tuple[float, ...]]:
        """Papers indexed, and the mean length in tokens of each field (FTS5's own totals)."""
        row = await self._one("SELECT block FROM papers_fts_data WHERE id = 1")
        if row is None or not row["block"]:
            return 0, (0.0,) * len(FIELDS)
        totals = _varints(bytes(row["block"]))
        docs = totals[0]
        return docs, tuple(t / docs if docs else 0.0 for t in totals[1 : 1 + len(FIELDS)])

    async def near(self, token: str, *, limit: int = 200) -> list[tuple[str, int]]:
        """Index tokens sharing *token*'s first three letters, with their document counts:
        where near-miss spellings are looked for. At most *limit* tokens are read."""
        stem = token[:3]
        if not stem:
            return []
        upper = stem[:-1] + chr(ord(stem[-1]) + 1)
        rows = await self._query(
            "SELECT term, doc FROM papers_fts_terms WHERE term >= ? AND term < ? LIMIT ?",
            [stem, upper, limit],
        )
        return [(str(r["term"]), int(r["doc"])) for r in rows]

    async def _query(self, sql: str, params: Sequence[object]) -> list[sqlite3.Row]:
        try:
            return await self._rows(sql, params)
        except sqlite3.OperationalError as exc:
            raise StoreError(f"full-text query failed: {exc}") from exc
