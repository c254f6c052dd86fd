"""Full-text reads for search: bounded candidate scans that carry what scoring needs, term
rarity, and the index's vocabulary for near-miss spellings.

Scoring is computed by :mod:`bot.search.scoring` over the bounded candidates only, never by
FTS5's ``bm25()`` (which reads every match of the query to weigh its terms). Each candidate
comes with the text of its indexed fields, read by rowid after the bounded scan, so term
counts and field lengths are the scorer's to take. Work per scan is bounded by its
``LIMIT``: rows are visited newest first, and only the rows returned are read.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from bot.errors import StoreError
from bot.grammar.query import Condition, fts5
from bot.store.records import FIELDS, Marked, Matches
from bot.store.section import Section


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


def _lengths(blob: bytes) -> tuple[int, ...]:
    """A paper's token count per indexed field, from its ``docsize`` record."""
    counts = _varints(bytes(blob))[: len(FIELDS)]
    return (*counts, *(0,) * (len(FIELDS) - len(counts)))


_STRUCTURE = 10  # FTS5's structure record: rewritten by every committed change
RARITY_TERMS = 4096  # document counts remembered per state of the index


class Rarity:
    """Document counts for one state of the index, shared by the store's connections.

    The state is told by FTS5's structure record (``papers_fts_data`` row 10), which every
    transaction that changes the index rewrites (its segments and their write counter):
    any ingest starts the counts afresh, and between ingests the common words of every
    search are counted once. Only committed states are remembered: a read inside an open
    transaction counts afresh and remembers nothing, since a rollback brings back the old
    record and the next change could write the very same bytes.
    """

    def __init__(self) -> None:
        self._state = (b"", 0)
        self._counts: dict[str, int] = {}

    def at(self, structure: bytes, cap: int) -> dict[str, int]:
        """The counts known for the index whose structure record is *structure*, counted
        up to *cap* (the caller adds what it counts)."""
        if (structure, cap) != self._state or len(self._counts) > RARITY_TERMS:
            self._state = (structure, cap)
            self._counts = {}
        return self._counts


class FullText(Section):
    """Read-only full-text scans over ``papers_fts`` (see the module docstring)."""

    _what = "the search index"

    def __init__(
        self,
        conn: aiosqlite.Connection,
        writing: asyncio.Lock,
        rarity: Rarity | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        super().__init__(conn, writing)
        self._rarity = rarity or Rarity()
        self._read_only = read_only  # a pooled reader's connection, which never writes

    async def marked(
        self, condition: Condition, *, limit: int, since: datetime | None = None
    ) -> Matches[Marked]:
        """The newest *limit* papers matching *condition*, with their indexed fields' text
        and lengths (FTS5's own token counts, ``papers_fts_docsize``).

        Two reads: the FTS5 scan for rowids, newest first, then those papers' fields by
        rowid. The scan stops at :data:`~bot.store.section.MATCH_SECONDS` of matching time
        (``cut``); it streams, so it keeps the newest matches found by then. (No
        ``highlight()``: marking
        words beyond the tier's own condition makes FTS5 walk their whole posting lists, 2x
        to 10x the scan at 1M papers.)
        """
        where = "papers_fts MATCH ?"
        params: list[object] = [fts5(condition)]
        if since is not None:
            where += " AND r.featured >= ?"
            params.append(since.timestamp())
        scan = (
            "SELECT f.rowid, r.upvotes, r.comments, r.stars, r.featured FROM papers_fts f "
            f"JOIN paper_rank r ON r.rowid = f.rowid WHERE {where} "
            "ORDER BY f.rowid DESC LIMIT ?"
        )
        try:
            ranks, cut = await self._bounded(scan, [*params, limit], rows=limit)
            texts = {
                int(row["rowid"]): row
                for row in await self._rows_in(
                    f"SELECT p.rowid, {', '.join(f'p.{name}' for name in FIELDS)}, d.sz "
                    "FROM papers p JOIN papers_fts_docsize d ON d.id = p.rowid "
                    "WHERE p.rowid IN ({ids})",
                    [row["rowid"] for row in ranks],
                )
            }
        except sqlite3.OperationalError as exc:
            raise StoreError(f"full-text query failed: {exc}") from exc
        return Matches(
            (
                Marked(
                    rowid=rank["rowid"],
                    upvotes=rank["upvotes"],
                    comments=rank["comments"],
                    stars=rank["stars"],
                    featured=rank["featured"],
                    texts=tuple(row[name] or "" for name in FIELDS),
                    lengths=_lengths(row["sz"]),
                )
                for rank in ranks
                if (row := texts.get(int(rank["rowid"]))) is not None
            ),
            cut=cut,
        )

    async def document_counts(self, terms: Sequence[str], *, cap: int = 2000) -> dict[str, int]:
        """In how many papers each index token occurs, counted up to *cap* (absent: 0).

        Capped because an exact count reads the token's whole posting list (90 ms for
        "model" at 1M papers); above the cap every token is simply "common". Counts are
        remembered for the index's current state (:class:`Rarity`), and the ones not yet
        known are counted in one read.
        """
        state = await self._committed()
        known = {} if state is None else self._rarity.at(state, cap)
        missing = sorted({term for term in terms if term not in known})
        if missing:
            counting = " UNION ALL ".join(
                f"SELECT {i} AS i, count(*) AS n FROM "
                "(SELECT 1 FROM papers_fts WHERE papers_fts MATCH ? LIMIT ?)"
                for i in range(len(missing))
            )
            params: list[object] = []
            for term in missing:
                params += ['"' + term.replace('"', '""') + '"', cap]
            for counted in await self._query(counting, params):
                known[missing[int(counted["i"])]] = int(counted["n"])
        return {term: known.get(term, 0) for term in terms}

    async def state(self) -> bytes | None:
        """FTS5's structure record, which every committed change to the index rewrites, on
        a reader's connection; ``None`` on the store's own connection, which also writes:
        a transaction begun there between this read and the reads that follow would show
        them its uncommitted rows, and a rollback brings the old record back."""
        return await self._committed() if self._read_only else None

    async def _committed(self) -> bytes | None:
        """The structure record, or ``None`` inside an open transaction (whose record a
        rollback may take back, and the next change could then write the same bytes)."""
        row = await self._one(f"SELECT block FROM papers_fts_data WHERE id = {_STRUCTURE}")
        if self._conn.in_transaction:
            return None
        return bytes(row["block"]) if row is not None else b""

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
