"""Papers on PostgreSQL: the SQLite part's merge rules and snapshots (:mod:`bot.store.papers`),
with the full-text index kept by the store itself in the upsert's transaction.

SQLite's triggers keep FTS5 and ``paper_rank`` in step with ``papers``; here the upsert does
that work: it merges the rows in one statement, reads back the merged text and the previous
index entry (the upsert leaves ``fts`` as it was), and writes the new ``tsvector``
(:mod:`bot.store.pg.tsv`), the field lengths, ``featured``, and the deltas to ``fts_totals``
and ``fts_terms``. The merge locks the rows it touches, so two processes upserting the same
paper take turns and the deltas stay exact; rows and terms are written in sorted order so
that they never wait on each other in a cycle.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

import asyncpg

from bot.errors import StoreError
from bot.grammar.query import Condition
from bot.model.papers import Paper, StoredPaper
from bot.store.pg.section import Conn, PgSection, Scan
from bot.store.pg.tsv import document, loose, tsquery
from bot.store.records import (
    FIELDS,
    Candidate,
    Matches,
    OrderedPage,
    Ordering,
    UpsertResult,
    with_history,
)
from bot.store.rows import COLUMNS, paper_params, rowid_for, ts

# The batch as arrays: rowid, COLUMNS, then the index entry made from the incoming text
# (what a new row holds; an updated row is re-indexed from its merged text afterwards).
_TYPES = (
    *("bigint", "text", "text", "text", "text", "text", "text", "text", "int", "int", "text"),
    *("text", "int", "text", "text", "text", "text"),
    *("text", "int", "int", "int", "int", "int", "float8"),
)
_NAMES = f"rowid, {COLUMNS}, fts, l0, l1, l2, l3, l4, featured"
_UNNEST = ", ".join(f"${i}::{t}[]" for i, t in enumerate(_TYPES, start=1))
_SEEN = len(_TYPES) + 1

_UPSERT = f"""
INSERT INTO papers AS p (rowid, {COLUMNS}, first_seen, updated_at, fts, fts_lengths, featured)
SELECT u.rowid, {", ".join(f"u.{c}" for c in COLUMNS.split(", "))}, ${_SEEN}, ${_SEEN},
       u.fts::tsvector, ARRAY[u.l0, u.l1, u.l2, u.l3, u.l4], u.featured
FROM unnest({_UNNEST}) AS u({_NAMES})
ON CONFLICT (id) DO UPDATE SET
    title = excluded.title,
    abstract = CASE WHEN excluded.abstract <> '' THEN excluded.abstract ELSE p.abstract END,
    authors = CASE WHEN excluded.authors <> '' THEN excluded.authors ELSE p.authors END,
    keywords = CASE WHEN excluded.keywords <> '' THEN excluded.keywords ELSE p.keywords END,
    published = COALESCE(excluded.published, p.published),
    daily_day = COALESCE(p.daily_day, excluded.daily_day),
    upvotes = GREATEST(p.upvotes, excluded.upvotes),
    comments = GREATEST(p.comments, excluded.comments),
    ai_summary = COALESCE(excluded.ai_summary, p.ai_summary),
    github_repo = COALESCE(excluded.github_repo, p.github_repo),
    github_stars = GREATEST(p.github_stars, excluded.github_stars),
    project_page = COALESCE(excluded.project_page, p.project_page),
    organization = COALESCE(excluded.organization, p.organization),
    thumbnail = COALESCE(excluded.thumbnail, p.thumbnail),
    source = CASE WHEN p.source = 'hf' THEN p.source ELSE excluded.source END,
    updated_at = excluded.updated_at
RETURNING p.rowid, p.id, (p.xmax = 0) AS inserted, {", ".join(f"p.{f}" for f in FIELDS)},
    p.daily_day, p.published, p.first_seen, p.fts_lengths,
    ARRAY(SELECT l FROM unnest(tsvector_to_array(p.fts)) AS l WHERE strpos(l, ' ') = 0)
        AS lexemes
"""
# GREATEST ignores NULLs: SQLite's COALESCE(MAX(a, b), b, a) for the stars.

_REINDEX = """
UPDATE papers AS p
SET fts = v.fts::tsvector, fts_lengths = ARRAY[v.l0, v.l1, v.l2, v.l3, v.l4],
    featured = v.featured
FROM unnest($1::bigint[], $2::text[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[],
            $8::float8[]) AS v(rowid, fts, l0, l1, l2, l3, l4, featured)
WHERE p.rowid = v.rowid
"""

TERMS = """
INSERT INTO fts_terms AS t (term, docs)
SELECT * FROM unnest($1::text[], $2::int[]) ORDER BY 1
ON CONFLICT (term) DO UPDATE SET docs = t.docs + excluded.docs
"""

TOTALS = """
UPDATE fts_totals SET papers = papers + $1,
    lengths = ARRAY(SELECT l + d FROM unnest(lengths, $2::bigint[]) AS x(l, d))
"""

# SQLite's _SNAPSHOT, for every paper of the batch at once.
_SNAPSHOT = """
INSERT INTO paper_stats (paper_rowid, seen_at, upvotes, comments, stars)
SELECT p.rowid, $2, p.upvotes, p.comments, p.github_stars FROM papers p
WHERE p.id = ANY($1::text[]) AND NOT EXISTS (
    SELECT 1 FROM paper_stats s
    WHERE s.paper_rowid = p.rowid AND (
        s.seen_at >= $2
        OR (s.upvotes = p.upvotes AND s.comments = p.comments
            AND s.stars IS NOT DISTINCT FROM p.github_stars
            AND s.seen_at = (SELECT MAX(seen_at) FROM paper_stats WHERE paper_rowid = p.rowid))
    )
)
ON CONFLICT DO NOTHING
"""

_SELECT = f"SELECT rowid, {COLUMNS}, first_seen FROM papers"
_CANDIDATE = "SELECT rowid, upvotes, comments, github_stars AS stars, featured FROM papers"
_ATTEMPTS = 3  # a rowid taken by another process between our check and our insert


def _entry(paper: Paper, seen: str) -> tuple[object, ...]:
    """A new row's index entry: tsvector literal, field lengths, featured."""
    params = paper_params(paper)
    doc = document([*params[1:5], paper.ai_summary or ""])
    return (doc.vector, *doc.lengths, featured_at(params[6], params[5], seen))


def featured_at(daily_day: str | None, published: str | None, first_seen: str) -> float:
    """Unix time of the Daily Papers day, else publication, else first sight, in whole
    seconds as SQLite's ``paper_rank`` triggers compute it (``strftime('%s')``); naive
    values are UTC. :class:`ValueError` when none of them is an instant."""
    value = datetime.fromisoformat(daily_day or published or first_seen)
    return float(math.floor((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()))


class PgPapers(PgSection):
    """The ``papers`` table, its popularity history and its full-text index."""

    _what = "papers"

    async def upsert(self, papers: Iterable[Paper], *, seen_at: datetime) -> UpsertResult:
        """Insert or refresh papers (idempotent) and record a popularity snapshot for each.

        Counts only grow (``GREATEST``) so replaying older recorded data never lowers them;
        text fields are replaced only by non-empty values.
        """
        unique = {p.id: p for p in papers}
        if not unique:
            return UpsertResult(0, 0)
        batch = [unique[key] for key in sorted(unique)]
        seen = ts(seen_at)
        for attempt in range(_ATTEMPTS):
            try:
                async with self._transaction(f"could not store {len(batch)} papers") as conn:
                    new = await self._upsert(conn, batch, seen)
                return UpsertResult(new=new, updated=len(batch) - new)
            except StoreError as exc:
                if not isinstance(exc.__cause__, asyncpg.UniqueViolationError):
                    raise
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def _upsert(self, conn: Conn, batch: Sequence[Paper], seen: str) -> int:
        rowids = await self._rowids(conn, batch)
        rows = [(*paper_params(p), *_entry(p, seen)) for p in batch]
        columns = list(zip(*rows, strict=True))
        merged = await conn.fetch(_UPSERT, rowids, *columns, seen)
        await self._reindex(conn, merged)
        hf = [p.id for p in batch if p.source == "hf"]
        if hf:
            await conn.execute(_SNAPSHOT, hf, seen)
        return sum(1 for row in merged if row["inserted"])

    async def _rowids(self, conn: Conn, batch: Sequence[Paper]) -> list[int]:
        """Each paper's rowid: the chronological key of its id, unless another paper holds
        it (or it has none): then the next of the fallback sequence, kept above every
        rowid so that such papers count as the newest, as SQLite's own choice does."""
        wanted = [rowid_for(p.id) for p in batch]
        rows = await conn.fetch(
            "SELECT rowid, id FROM papers WHERE rowid = ANY($1::bigint[]) OR id = ANY($2)",
            [w for w in wanted if w is not None],
            [p.id for p in batch],
        )
        holder = {int(r["rowid"]): str(r["id"]) for r in rows}
        current = {str(r["id"]): int(r["rowid"]) for r in rows}
        chosen: list[int | None] = []
        for paper, want in zip(batch, wanted, strict=True):
            if paper.id in current:
                chosen.append(current[paper.id])
            elif want is not None and want not in holder and want not in chosen:
                chosen.append(want)
            else:
                chosen.append(None)
        floor = max((c for c in chosen if c is not None), default=0)
        return [c if c is not None else await self._fallback(conn, floor) for c in chosen]

    async def _fallback(self, conn: Conn, floor: int) -> int:
        """The next fallback rowid above *floor* and every stored rowid."""
        value = await conn.fetchval(
            "SELECT setval('papers_rowid_fallback', GREATEST($1, "
            "(SELECT COALESCE(MAX(rowid), 0) FROM papers), "
            "(SELECT last_value FROM papers_rowid_fallback)) + 1)",
            floor,
        )
        return int(value)

    async def _reindex(self, conn: Conn, merged: Sequence[asyncpg.Record]) -> None:
        """Re-index the updated rows from their merged text (new rows were indexed as they
        were inserted) and write the totals' and vocabulary's deltas."""
        updated = [row for row in merged if not row["inserted"]]
        docs = [document([row[f] or "" for f in FIELDS]) for row in updated]
        if updated:
            await conn.execute(
                _REINDEX,
                [row["rowid"] for row in updated],
                [doc.vector for doc in docs],
                *([doc.lengths[i] for doc in docs] for i in range(len(FIELDS))),
                [featured_at(r["daily_day"], r["published"], r["first_seen"]) for r in updated],
            )
        terms: Counter[str] = Counter()
        lengths = [0] * len(FIELDS)
        for row in merged:
            if not row["inserted"]:
                continue
            terms.update(row["lexemes"])  # new rows: what was inserted
            lengths = [a + b for a, b in zip(lengths, row["fts_lengths"], strict=True)]
        for row, doc in zip(updated, docs, strict=True):
            terms.subtract(row["lexemes"])  # updated rows: replace the old entry by the new
            terms.update(doc.lexemes)
            lengths = [
                a - b + c for a, b, c in zip(lengths, row["fts_lengths"], doc.lengths, strict=True)
            ]
        changed = sorted(term for term, delta in terms.items() if delta)
        if changed:
            await conn.execute(TERMS, changed, [terms[t] for t in changed])
            await conn.execute(
                "DELETE FROM fts_terms WHERE term = ANY($1::text[]) AND docs <= 0", changed
            )
        inserted = len(merged) - len(updated)
        await conn.execute(TOTALS, inserted, lengths)

    async def get(self, paper_id: str) -> StoredPaper | None:
        """One paper with its popularity history, or ``None``."""
        found = await self._stored(f"{_SELECT} WHERE id = $1", paper_id)
        return found[0] if found else None

    async def by_rowid(self, rowids: Sequence[int]) -> dict[int, StoredPaper]:
        """Papers for the given rowids (missing ones are absent), with history."""
        rows = await self._rows(f"{_SELECT} WHERE rowid = ANY($1::bigint[])", list(rowids))
        stored = await self._with_history(rows)
        return dict(zip((int(r["rowid"]) for r in rows), stored, strict=True))

    async def latest_day(self) -> date | None:
        """The most recent Daily Papers day in the store."""
        day = await self._value("SELECT MAX(daily_day) FROM papers")
        return date.fromisoformat(day) if day else None

    async def for_day(self, day: date) -> list[StoredPaper]:
        """Every paper featured on Daily Papers on *day*, most upvoted first."""
        return await self._stored(
            f"{_SELECT} WHERE daily_day = $1 ORDER BY upvotes DESC, rowid DESC", day.isoformat()
        )

    async def seen_since(self, since: datetime, *, limit: int = 2000) -> list[StoredPaper]:
        """Papers first stored after *since*, newest first (what DM subscriptions match)."""
        return await self._stored(
            f"{_SELECT} WHERE first_seen > $1 ORDER BY first_seen DESC, rowid DESC LIMIT $2",
            ts(since),
            limit,
        )

    async def by_id(self, paper_ids: Sequence[str]) -> list[StoredPaper]:
        """The stored papers among *paper_ids*, in the order given."""
        rows = await self._rows(f"{_SELECT} WHERE id = ANY($1::text[])", list(paper_ids))
        found = {sp.paper.id: sp for sp in await self._with_history(rows)}
        return [found[pid] for pid in paper_ids if pid in found]

    async def exists(self) -> bool:
        """Whether the store holds any paper at all (cheap at any size, unlike a count)."""
        return await self._one("SELECT 1 FROM papers LIMIT 1") is not None

    async def count(self) -> int:
        return int(await self._value("SELECT COUNT(*) FROM papers"))

    async def fts_candidates(
        self, condition: Condition | None, *, limit: int, since: datetime | None = None
    ) -> Matches[Candidate]:
        """The newest *limit* papers matching *condition* (all papers when ``None``), in
        descending rowid order (newest first); the scan stops at *limit*, or is cancelled
        after :data:`~bot.store.pg.section.MATCH_TIMEOUT_MS` (``cut``, and empty)."""
        sql, args = candidates_sql(_CANDIDATE, condition, limit, since)
        scan = scan_of(_CANDIDATE, condition, limit, since)
        rows, cut = await self._bounded(sql, *args, scan=scan)
        return Matches(
            (
                Candidate(
                    row["rowid"], row["upvotes"], row["comments"], row["stars"], row["featured"]
                )
                for row in rows
            ),
            cut=cut,
        )

    async def ordered(
        self,
        condition: Condition | None,
        ordering: Ordering,
        *,
        cap: int,
        offset: int,
        limit: int,
        since: datetime | None = None,
    ) -> OrderedPage:
        """The page at *offset* of the newest *cap* papers matching *condition*, put in
        *ordering* by PostgreSQL: one read, the candidates never leave the server (cut
        after :data:`~bot.store.pg.section.MATCH_TIMEOUT_MS`, as the scans are)."""

        def paged(scan: str, args: list[object]) -> tuple[str, list[object]]:
            key, extra = _pg_order(ordering, len(args))
            args = [*args, *extra, limit, offset]
            return (
                f"WITH c AS ({scan}) SELECT (SELECT count(*) FROM c) AS total, "
                f"array(SELECT rowid FROM c ORDER BY {key} DESC, rowid DESC "
                f"LIMIT ${len(args) - 1} OFFSET ${len(args)}) AS page",
                args,
            )

        sql, args = paged(*candidates_sql(_CANDIDATE, condition, cap, since))
        scan = scan_of(_CANDIDATE, condition, cap, since)
        if scan is not None and scan.lazy is not None:
            scan = dataclasses.replace(scan, lazy=paged(*scan.lazy))
        rows, cut = await self._bounded(sql, *args, scan=scan)
        if cut or not rows:
            return OrderedPage((), 0, cut)
        return OrderedPage(tuple(int(r) for r in rows[0]["page"]), int(rows[0]["total"]))

    async def _stored(self, sql: str, *args: object) -> list[StoredPaper]:
        return await self._with_history(await self._rows(sql, *args))

    async def _with_history(self, rows: Sequence[asyncpg.Record]) -> list[StoredPaper]:
        """Rows selected as ``rowid, COLUMNS, first_seen``, with their popularity history."""
        if not rows:
            return []
        snaps = await self._rows(
            "SELECT paper_rowid, seen_at, upvotes, comments, stars FROM paper_stats "
            "WHERE paper_rowid = ANY($1::bigint[]) ORDER BY paper_rowid, seen_at",
            [r["rowid"] for r in rows],
        )
        return with_history(rows, snaps)


def _pg_order(ordering: Ordering, taken: int) -> tuple[str, list[object]]:
    """*ordering* as an SQL expression over the candidates (best highest), numbering its
    parameters after the *taken* ones; the same formulas as SQLite's (bot.store.papers)."""
    if ordering.kind == "trending":
        n = taken
        return (
            f"(upvotes + ${n + 1}::float8 * comments"
            f" + ${n + 2}::float8 * (ln(1 + coalesce(stars, 0)) / ln(2)))"
            f" / power(1 + greatest(0.0, (${n + 3}::float8 - featured) / 86400.0),"
            f" ${n + 4}::float8)",
            [ordering.comment_weight, ordering.star_weight, ordering.now, ordering.gravity],
        )
    if ordering.kind == "popular":
        return f"least(1.0, ln(1 + upvotes) / ${taken + 1}::float8)", [ordering.popular_at]
    if ordering.kind == "new":
        return "featured", []
    raise ValueError(f"unknown ordering {ordering.kind!r}")


def candidates_sql(
    select: str, condition: Condition | None, limit: int, since: datetime | None
) -> tuple[str, list[object]]:
    """*select* restricted to *condition* and *since*, newest *limit* rows first: the SQL
    and its arguments (shared with :mod:`bot.store.pg.fulltext`)."""
    where: list[str] = []
    args: list[object] = []
    if condition is not None:
        args.append(tsquery(condition))
        where.append(f"fts @@ ${len(args)}::tsquery")
    if since is not None:
        args.append(since.timestamp())
        where.append(f"featured >= ${len(args)}")
    args.append(limit)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"{select}{clause} ORDER BY rowid DESC LIMIT ${len(args)}", args


def scan_of(
    select: str, condition: Condition | None, limit: int, since: datetime | None
) -> Scan | None:
    """What :meth:`PgSection._bounded` needs to pick the way *condition*'s scan reads its
    matches, with the SQL for a phrase of three words or more: its loose matches
    (:func:`~bot.store.pg.tsv.loose`, exact in GIN) newest first, each then tested for the
    phrase until *limit* pass, so only about *limit* tsvectors are read, not every
    candidate's (`"mixture of experts"` at 100k papers: 40 → 6 ms)."""
    if condition is None:
        return None
    rough = loose(condition)
    if rough is None:
        return Scan(condition, limit, None)
    args: list[object] = [tsquery(condition), rough]
    inner = "fts @@ $2::tsquery"
    if since is not None:
        args.append(since.timestamp())
        inner += f" AND featured >= ${len(args)}"
    args.append(limit)
    sql = (
        f"SELECT p.* FROM (SELECT rowid FROM papers WHERE {inner} "
        "ORDER BY rowid DESC OFFSET 0) m "  # OFFSET 0: kept a subquery, read in its order
        f"CROSS JOIN LATERAL ({select} AS p WHERE p.rowid = m.rowid AND p.fts @@ $1::tsquery "
        "OFFSET 0) p "  # OFFSET 0: not flattened into a join, so tested row by row
        f"ORDER BY m.rowid DESC LIMIT ${len(args)}"
    )
    return Scan(condition, limit, (sql, args))
