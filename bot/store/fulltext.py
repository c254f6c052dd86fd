"""Full-text reads for search: bounded candidate scans that carry what scoring needs, term
rarity, and the index's vocabulary for near-miss spellings.

Scoring is computed by :mod:`bot.search.scoring` over the bounded candidates only, never by
FTS5's ``bm25()`` (which reads every match of the query to weigh its terms). Each candidate
comes with the text of its indexed fields, read by rowid after the bounded scan, so term
counts and field lengths are the scorer's to take. Work per scan is bounded by its
``LIMIT``: rows are visited newest first, and only the rows returned are read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from bot.errors import StoreError
from bot.grammar.query import Condition, fts5
from bot.store.records import (
    FIELDS,
    Marked,
)
from bot.store.section import Section

# Indexed columns, in papers_fts order (migration 7).


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


class FullText(Section):
    """Read-only full-text scans over ``papers_fts`` (see the module docstring)."""

    _what = "the search index"

    async def marked(
        self, condition: Condition, *, limit: int, since: datetime | None = None
    ) -> list[Marked]:
        """The newest *limit* papers matching *condition*, with their indexed fields' text.

        Two reads: the bounded FTS5 scan for rowids, then the rows themselves by rowid. (No
        ``highlight()``: marking words beyond the tier's own condition makes FTS5 walk their
        whole posting lists, 2x to 10x the scan at 1M papers.)
        """
        where = "papers_fts MATCH ?"
        params: list[object] = [fts5(condition)]
        if since is not None:
            where += " AND r.featured >= ?"
            params.append(since.timestamp())
        sql = (
            "SELECT f.rowid, r.upvotes, r.comments, r.stars, r.featured FROM papers_fts f "
            f"JOIN paper_rank r ON r.rowid = f.rowid WHERE {where} "
            "ORDER BY f.rowid DESC LIMIT ?"
        )
        ranks = await self._query(sql, [*params, limit])
        texts = {
            int(row["rowid"]): tuple(row[name] or "" for name in FIELDS)
            for row in await self._rows_in(
                f"SELECT rowid, {', '.join(FIELDS)} FROM papers WHERE rowid IN ({{ids}})",
                [row["rowid"] for row in ranks],
            )
        }
        return [
            Marked(
                rowid=row["rowid"],
                upvotes=row["upvotes"],
                comments=row["comments"],
                stars=row["stars"],
                featured=row["featured"],
                texts=texts.get(int(row["rowid"]), ("",) * len(FIELDS)),
            )
            for row in ranks
        ]

    async def document_counts(self, terms: Sequence[str], *, cap: int = 2000) -> dict[str, int]:
        """In how many papers each index token occurs, counted up to *cap* (absent: 0).

        Capped because an exact count reads the token's whole posting list (90 ms for
        "model" at 1M papers); above the cap every token is simply "common".
        """
        sql = (
            "SELECT count(*) AS n FROM (SELECT 1 FROM papers_fts WHERE papers_fts MATCH ? LIMIT ?)"
        )
        counts = dict.fromkeys(terms, 0)
        for term in counts:
            row = await self._one(sql, ('"' + term.replace('"', '""') + '"', cap))
            counts[term] = int(row["n"]) if row is not None else 0
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
