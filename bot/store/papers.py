"""Papers: upserts with popularity snapshots, look-ups, and the bounded full-text scans that
search and matching build on.

The interface is deliberately narrow (papers in, papers and candidate rowids out) so that a
PostgreSQL implementation can follow for multi-process deployments.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from bot.errors import StoreError
from bot.grammar.query import Condition, fts5
from bot.model.papers import Paper, StoredPaper
from bot.store.records import (
    Candidate,
    Matches,
    OrderedPage,
    Ordering,
    UpsertResult,
    with_history,
)
from bot.store.rows import COLUMNS, paper_params, rowid_for, ts
from bot.store.section import Section

_UPSERT = f"""
INSERT INTO papers (rowid, {COLUMNS}, first_seen, updated_at)
VALUES (?, {", ".join("?" * 16)}, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    title = excluded.title,
    abstract = CASE WHEN excluded.abstract != '' THEN excluded.abstract ELSE abstract END,
    authors = CASE WHEN excluded.authors != '' THEN excluded.authors ELSE authors END,
    keywords = CASE WHEN excluded.keywords != '' THEN excluded.keywords ELSE keywords END,
    published = COALESCE(excluded.published, published),
    daily_day = COALESCE(daily_day, excluded.daily_day),
    upvotes = MAX(upvotes, excluded.upvotes),
    comments = MAX(comments, excluded.comments),
    ai_summary = COALESCE(excluded.ai_summary, ai_summary),
    github_repo = COALESCE(excluded.github_repo, github_repo),
    github_stars = COALESCE(MAX(github_stars, excluded.github_stars), excluded.github_stars,
                            github_stars),
    project_page = COALESCE(excluded.project_page, project_page),
    organization = COALESCE(excluded.organization, organization),
    thumbnail = COALESCE(excluded.thumbnail, thumbnail),
    source = CASE WHEN source = 'hf' THEN source ELSE excluded.source END,
    updated_at = excluded.updated_at
"""

# A popularity snapshot of the paper's stored (never decreasing) counts, written only when
# they differ from its latest snapshot and only going forward in time, so replaying older
# recorded data can neither add a dip to the history nor fake velocity.
_SNAPSHOT = """
INSERT OR IGNORE INTO paper_stats (paper_rowid, seen_at, upvotes, comments, stars)
SELECT p.rowid, :seen_at, p.upvotes, p.comments, p.github_stars FROM papers p
WHERE p.id = :id AND NOT EXISTS (
    SELECT 1 FROM paper_stats s
    WHERE s.paper_rowid = p.rowid AND (
        s.seen_at >= :seen_at
        OR (s.upvotes = p.upvotes AND s.comments = p.comments AND s.stars IS p.github_stars
            AND s.seen_at = (SELECT MAX(seen_at) FROM paper_stats WHERE paper_rowid = p.rowid))
    )
)
"""


_CANDIDATE_COLUMNS = "upvotes, comments, stars, featured"
# Each ordering as an SQL expression over paper_rank, best highest; its parameters come
# from _order_params, in order. Trending is bot.search.ranking.score with the same libm
# calls (ln, pow), so exact ties stay ties and fall to the newer rowid. SQLite's math
# functions are built in here, registered from Python where a build lacks them
# (bot.store.section.ensure_math).
_ORDER_SQL = {
    "new": "featured",
    "trending": (
        "(upvotes + ? * comments + ? * (ln(1 + coalesce(stars, 0)) / ln(2)))"
        " / pow(1 + max(0.0, (? - featured) / 86400.0), ?)"
    ),
    "popular": "min(1.0, ln(1 + upvotes) / ?)",
}


def _order_params(ordering: Ordering) -> list[object]:
    if ordering.kind == "trending":
        return [ordering.comment_weight, ordering.star_weight, ordering.now, ordering.gravity]
    if ordering.kind == "popular":
        return [ordering.popular_at]
    return []


class Papers(Section):
    """The ``papers`` table, its popularity history (``paper_stats``) and FTS5 index."""

    _what = "papers"

    async def upsert(self, papers: Iterable[Paper], *, seen_at: datetime) -> UpsertResult:
        """Insert or refresh papers (idempotent) and record a popularity snapshot for each.

        Counts only grow (``MAX``) so replaying older recorded data never lowers them; text
        fields are replaced only by non-empty values.
        """
        unique = {p.id: p for p in papers}
        if not unique:
            return UpsertResult(0, 0)
        seen = ts(seen_at)
        async with self._transaction(f"could not store {len(unique)} papers") as conn:
            existing = await self._existing_ids(list(unique))
            await self._upsert_many(list(unique.values()), seen)
            await conn.executemany(
                _SNAPSHOT,
                [{"id": p.id, "seen_at": seen} for p in unique.values() if p.source == "hf"],
            )
        new = len(unique) - len(existing)
        return UpsertResult(new=new, updated=len(existing))

    async def _upsert_many(self, papers: Sequence[Paper], seen: str) -> None:
        rows = [(rowid_for(p.id), *paper_params(p), seen, seen) for p in papers]
        await self._conn.execute("SAVEPOINT batch")
        try:
            await self._conn.executemany(_UPSERT, rows)
        except sqlite3.IntegrityError:
            # A derived rowid collided (possible for old-style ids only): redo the batch
            # row by row and let SQLite pick the rowid of the colliding ones.
            await self._conn.execute("ROLLBACK TO batch")
            for row in rows:
                try:
                    await self._conn.execute(_UPSERT, row)
                except sqlite3.IntegrityError:
                    await self._conn.execute(_UPSERT, (None, *row[1:]))
        await self._conn.execute("RELEASE batch")

    async def _existing_ids(self, ids: Sequence[str]) -> set[str]:
        rows = await self._rows_in("SELECT id FROM papers WHERE id IN ({ids})", ids)
        return {str(row["id"]) for row in rows}

    async def get(self, paper_id: str) -> StoredPaper | None:
        """One paper with its popularity history, or ``None``."""
        found = await self._stored(
            f"SELECT rowid, {COLUMNS}, first_seen FROM papers WHERE id = ?", (paper_id,)
        )
        return found[0] if found else None

    async def by_rowid(self, rowids: Sequence[int]) -> dict[int, StoredPaper]:
        """Papers for the given rowids (missing ones are absent), with history."""
        sql = f"SELECT rowid, {COLUMNS}, first_seen FROM papers WHERE rowid IN ({{ids}})"
        rows = await self._rows_in(sql, rowids)
        stored = await self._with_history(rows)
        return dict(zip((int(r["rowid"]) for r in rows), stored, strict=True))

    async def latest_day(self) -> date | None:
        """The most recent Daily Papers day in the store."""
        row = await self._one("SELECT MAX(daily_day) AS day FROM papers")
        return date.fromisoformat(row["day"]) if row is not None and row["day"] else None

    async def for_day(self, day: date) -> list[StoredPaper]:
        """Every paper featured on Daily Papers on *day*, most upvoted first."""
        return await self._stored(
            f"SELECT rowid, {COLUMNS}, first_seen FROM papers WHERE daily_day = ? "
            "ORDER BY upvotes DESC, rowid DESC",
            (day.isoformat(),),
        )

    async def seen_since(self, since: datetime, *, limit: int = 2000) -> list[StoredPaper]:
        """Papers first stored after *since*, newest first (what DM subscriptions match)."""
        return await self._stored(
            f"SELECT rowid, {COLUMNS}, first_seen FROM papers WHERE first_seen > ? "
            "ORDER BY first_seen DESC, rowid DESC LIMIT ?",
            (ts(since), limit),
        )

    async def by_id(self, paper_ids: Sequence[str]) -> list[StoredPaper]:
        """The stored papers among *paper_ids*, in the order given."""
        sql = f"SELECT rowid, {COLUMNS}, first_seen FROM papers WHERE id IN ({{ids}})"
        stored = await self._with_history(await self._rows_in(sql, paper_ids))
        found = {sp.paper.id: sp for sp in stored}
        return [found[pid] for pid in paper_ids if pid in found]

    async def exists(self) -> bool:
        """Whether the store holds any paper at all (cheap at any size, unlike a count)."""
        return await self._one("SELECT 1 FROM papers LIMIT 1") is not None

    async def count(self) -> int:
        row = await self._one("SELECT COUNT(*) AS n FROM papers")
        return int(row["n"]) if row is not None else 0

    async def fts_candidates(
        self, condition: Condition | None, *, limit: int, since: datetime | None = None
    ) -> Matches[Candidate]:
        """The newest *limit* papers matching *condition* (all papers when ``None``).

        The work is bounded: rows are visited in descending rowid order (newest papers
        first, see :func:`bot.model.ids.chronological_key`) and the scan stops after *limit*.
        FTS5's ``bm25()`` is deliberately not used: it counts every document containing
        each query term to weigh it, which costs ~50-80 ms for common words at 1M papers
        whatever the LIMIT (measured in bench/search.py). Matching stops at
        :data:`~bot.store.section.MATCH_SECONDS` of matching time (``cut``), keeping what it found.
        """
        rows, cut = await self._scan(
            f"rowid, {_CANDIDATE_COLUMNS}", condition, limit=limit, since=since
        )
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
        *ordering* by SQLite: Python sees the candidates' rowids and the page, never their
        rows (2,000 candidates cost 15 to 20 ms in Python, 2 to 4 ms here). The scan is
        :meth:`fts_candidates`'s, with its budget; the ordering is one indexed read."""
        rows, cut = await self._scan("rowid", condition, limit=cap, since=since)
        if not rows:
            return OrderedPage((), 0, cut)
        key, params = _ORDER_SQL[ordering.kind], _order_params(ordering)
        page = await self._rows(
            "SELECT rowid FROM paper_rank WHERE rowid IN (SELECT value FROM json_each(?)) "
            f"ORDER BY {key} DESC, rowid DESC LIMIT ? OFFSET ?",
            [json.dumps([row[0] for row in rows]), *params, limit, offset],
        )
        return OrderedPage(tuple(int(row[0]) for row in page), len(rows), cut)

    async def _scan(
        self, columns: str, condition: Condition | None, *, limit: int, since: datetime | None
    ) -> tuple[list[sqlite3.Row], bool]:
        """*columns* (of ``paper_rank r``) of the newest *limit* papers matching
        *condition*, within the matching budget, and whether it was cut."""
        match = fts5(condition) if condition is not None else None
        where: list[str] = []
        params: list[object] = []
        if match is not None:
            where.append("papers_fts MATCH ?")
            params.append(match)
        if since is not None:
            where.append("r.featured >= ?")
            params.append(since.timestamp())
        selected = ", ".join(f"r.{column.strip()}" for column in columns.split(","))
        if match is not None:
            sql = (
                f"SELECT {selected} FROM papers_fts f JOIN paper_rank r ON r.rowid = f.rowid "
                f"WHERE {' AND '.join(where)} ORDER BY f.rowid DESC LIMIT ?"
            )
        else:
            sql = (
                f"SELECT {selected} FROM paper_rank r "
                f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY r.rowid DESC LIMIT ?"
            )
        params.append(limit)
        try:
            return await self._bounded(sql, params, rows=limit)
        except sqlite3.OperationalError as exc:
            raise StoreError(f"full-text query failed: {exc}") from exc

    async def _stored(self, sql: str, params: Sequence[object]) -> list[StoredPaper]:
        return await self._with_history(await self._rows(sql, params))

    async def _with_history(self, rows: Sequence[sqlite3.Row]) -> list[StoredPaper]:
        """Rows selected as ``rowid, COLUMNS, first_seen``, with their popularity history."""
        if not rows:
            return []
        sql = (
            "SELECT paper_rowid, seen_at, upvotes, comments, stars FROM paper_stats "
            "WHERE paper_rowid IN ({ids}) ORDER BY paper_rowid, seen_at"
        )
        return with_history(rows, await self._rows_in(sql, [r["rowid"] for r in rows]))
