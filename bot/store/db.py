"""The store: one aiosqlite connection to a WAL-mode SQLite file.

The interface is deliberately narrow (papers in, papers and candidate rowids out) so that a
PostgreSQL implementation can follow for multi-process deployments. All timestamps are
stored as ISO-8601 strings in UTC.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import TracebackType

import aiosqlite

from bot.errors import StoreError
from bot.model.papers import Paper, Snapshot, StoredPaper
from bot.store.ledger import Ledger
from bot.store.migrations import MIGRATIONS
from bot.store.rows import COLUMNS, paper_params, row_to_paper, rowid_for, ts
from bot.store.schedules import Schedules

log = logging.getLogger(__name__)

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


@dataclass(frozen=True, slots=True)
class UpsertResult:
    new: int
    updated: int


@dataclass(frozen=True, slots=True)
class Candidate:
    """A search candidate: just what ranking needs, before the full paper is loaded."""

    rowid: int
    upvotes: int
    comments: int
    stars: int | None
    featured: float  # Unix time, as bot.search.ranking.featured_at


_CANDIDATE_COLUMNS = "r.upvotes, r.comments, r.stars, r.featured"


@dataclass(frozen=True, slots=True)
class IngestRun:
    source: str
    day: date | None
    started_at: datetime
    finished_at: datetime
    ok: bool
    papers: int
    error: str | None


class Store:
    """Papers, their popularity history and the full-text index. Open with :meth:`open`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        # One connection serves every task: a write transaction must not interleave with
        # another task's writes or commits (an ingest and a `show` lookup, say).
        self._writing = asyncio.Lock()
        self.ledger = Ledger(conn, self._writing)
        self.schedules = Schedules(conn, self._writing)

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        """Open (creating if needed) the database at *path* and apply pending migrations."""
        try:
            conn = await aiosqlite.connect(str(path))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        store = cls(conn)
        try:
            await store._configure()
            await store.migrate()
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StoreError(f"cannot use database {path}: {exc}") from exc
        except BaseException:
            await conn.close()
            raise
        return store

    async def _configure(self) -> None:
        for pragma in (
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA foreign_keys = ON",
            "PRAGMA busy_timeout = 5000",
        ):
            await self._conn.execute(pragma)

    async def migrate(self) -> int:
        """Apply every migration newer than the database's ``user_version``; return the version."""
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise StoreError(
                f"database schema {version} is newer than this papersbot ({len(MIGRATIONS)})"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            log.debug("applying migration %d", number)
            await self._conn.executescript(
                f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
            )
        return len(MIGRATIONS)

    async def close(self) -> None:
        await self._conn.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- papers ---------------------------------------------------------------------------

    async def upsert_papers(self, papers: Iterable[Paper], *, seen_at: datetime) -> UpsertResult:
        """Insert or refresh papers (idempotent) and record a popularity snapshot for each.

        Counts only grow (``MAX``) so replaying older recorded data never lowers them; text
        fields are replaced only by non-empty values.
        """
        unique = {p.id: p for p in papers}
        if not unique:
            return UpsertResult(0, 0)
        seen = ts(seen_at)
        async with self._writing:
            existing = await self._existing_ids(list(unique))
            try:
                await self._conn.execute("BEGIN")
                await self._upsert_many(list(unique.values()), seen)
                await self._conn.executemany(
                    _SNAPSHOT,
                    [{"id": p.id, "seen_at": seen} for p in unique.values() if p.source == "hf"],
                )
                await self._conn.commit()
            except sqlite3.Error as exc:
                await self._conn.rollback()
                raise StoreError(f"could not store {len(unique)} papers: {exc}") from exc
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
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            async with self._conn.execute(
                f"SELECT id FROM papers WHERE id IN ({marks})", chunk
            ) as cur:
                found.update([row[0] async for row in cur])
        return found

    async def get_paper(self, paper_id: str) -> StoredPaper | None:
        """One paper with its popularity history, or ``None``."""
        found = await self._stored(
            f"SELECT rowid, {COLUMNS}, first_seen FROM papers WHERE id = ?", (paper_id,)
        )
        return found[0] if found else None

    async def papers_by_rowid(self, rowids: Sequence[int]) -> dict[int, StoredPaper]:
        """Papers for the given rowids (missing ones are absent), with history."""
        result: dict[int, StoredPaper] = {}
        for start in range(0, len(rowids), 500):
            chunk = list(rowids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT rowid, {COLUMNS}, first_seen FROM papers WHERE rowid IN ({marks})"
            rows = await self._rows(sql, chunk)
            stored = await self._with_history(rows)
            result.update(zip((r[0] for r in rows), stored, strict=True))
        return result

    async def latest_day(self) -> date | None:
        """The most recent Daily Papers day in the store."""
        rows = await self._rows("SELECT MAX(daily_day) FROM papers", ())
        return date.fromisoformat(rows[0][0]) if rows and rows[0][0] else None

    async def papers_for_day(self, day: date) -> list[StoredPaper]:
        """Every paper featured on Daily Papers on *day*, most upvoted first."""
        return await self._stored(
            f"SELECT rowid, {COLUMNS}, first_seen FROM papers WHERE daily_day = ? "
            "ORDER BY upvotes DESC, rowid DESC",
            (day.isoformat(),),
        )

    async def papers_seen_since(self, since: datetime, *, limit: int = 2000) -> list[StoredPaper]:
        """Papers first stored after *since*, newest first (what DM subscriptions match)."""
        return await self._stored(
            f"SELECT rowid, {COLUMNS}, first_seen FROM papers WHERE first_seen > ? "
            "ORDER BY first_seen DESC, rowid DESC LIMIT ?",
            (ts(since), limit),
        )

    async def papers_by_id(self, paper_ids: Sequence[str]) -> list[StoredPaper]:
        """The stored papers among *paper_ids*, in the order given."""
        found: dict[str, StoredPaper] = {}
        for start in range(0, len(paper_ids), 500):
            chunk = list(paper_ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT rowid, {COLUMNS}, first_seen FROM papers WHERE id IN ({marks})"
            found.update((sp.paper.id, sp) for sp in await self._stored(sql, chunk))
        return [found[pid] for pid in paper_ids if pid in found]

    async def count_papers(self) -> int:
        rows = await self._rows("SELECT COUNT(*) FROM papers", ())
        return int(rows[0][0])

    async def fts_candidates(
        self, match: str | None, *, limit: int, since: datetime | None = None
    ) -> list[Candidate]:
        """The newest *limit* papers matching an FTS5 expression (all papers when ``None``).

        The work is bounded: rows are visited in descending rowid order (newest papers
        first, see :func:`bot.model.ids.chronological_key`) and the scan stops after *limit*.
        FTS5's ``bm25()`` is deliberately not used: it counts every document containing
        each query term to weigh it, which costs ~50-80 ms for common words at 1M papers
        whatever the LIMIT (measured in bench/search.py).
        """
        where: list[str] = []
        params: list[object] = []
        if match is not None:
            where.append("papers_fts MATCH ?")
            params.append(match)
        if since is not None:
            where.append("r.featured >= ?")
            params.append(since.timestamp())
        if match is not None:
            sql = (
                f"SELECT f.rowid, {_CANDIDATE_COLUMNS} FROM papers_fts f "
                "JOIN paper_rank r ON r.rowid = f.rowid "
                f"WHERE {' AND '.join(where)} ORDER BY f.rowid DESC LIMIT ?"
            )
        else:
            sql = (
                f"SELECT r.rowid, {_CANDIDATE_COLUMNS} FROM paper_rank r "
                f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY r.rowid DESC LIMIT ?"
            )
        params.append(limit)
        rows = await self._fts_rows(sql, params)
        return [Candidate(*row) for row in rows]

    async def fts_rowids(self, match: str, *, min_rowid: int, limit: int) -> set[int]:
        """Rowids at or above *min_rowid* matching *match* (bounded like the candidates)."""
        sql = (
            "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? AND rowid >= ? "
            "ORDER BY rowid DESC LIMIT ?"
        )
        return {int(r[0]) for r in await self._fts_rows(sql, [match, min_rowid, limit])}

    async def _fts_rows(self, sql: str, params: Sequence[object]) -> list[sqlite3.Row]:
        try:
            return await self._rows(sql, params)
        except sqlite3.OperationalError as exc:
            raise StoreError(f"full-text query failed: {exc}") from exc

    async def _rows(self, sql: str, params: Sequence[object]) -> list[sqlite3.Row]:
        async with self._conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def _stored(self, sql: str, params: Sequence[object]) -> list[StoredPaper]:
        return await self._with_history(await self._rows(sql, params))

    async def _with_history(self, rows: Sequence[Sequence[object]]) -> list[StoredPaper]:
        if not rows:
            return []
        history: dict[int, list[Snapshot]] = {}
        rowids = [r[0] for r in rows]
        marks = ", ".join("?" * len(rowids))
        sql = (
            "SELECT paper_rowid, seen_at, upvotes, comments, stars FROM paper_stats "
            f"WHERE paper_rowid IN ({marks}) ORDER BY paper_rowid, seen_at"
        )
        for rowid, seen_at, upvotes, comments, stars in await self._rows(sql, rowids):
            history.setdefault(rowid, []).append(
                Snapshot(datetime.fromisoformat(seen_at), upvotes, comments, stars)
            )
        return [
            StoredPaper(
                paper=row_to_paper(row[1:-1]),
                first_seen=datetime.fromisoformat(str(row[-1])),
                history=tuple(history.get(int(str(row[0])), ())),
            )
            for row in rows
        ]

    # -- ingest runs ----------------------------------------------------------------------

    async def record_run(self, run: IngestRun) -> None:
        """Remember one fetch of a source (for freshness and staleness reports)."""
        await self._write(
            "INSERT INTO ingest_runs (source, day, started_at, finished_at, ok, papers, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                run.source,
                run.day.isoformat() if run.day else None,
                ts(run.started_at),
                ts(run.finished_at),
                int(run.ok),
                run.papers,
                run.error,
            ),
        )

    async def _write(self, sql: str, params: Sequence[object]) -> None:
        """One statement in its own transaction, serialised with every other write."""
        async with self._writing:
            try:
                await self._conn.execute(sql, params)
                await self._conn.commit()
            except sqlite3.Error as exc:
                await self._conn.rollback()
                raise StoreError(f"write failed: {exc}") from exc

    async def last_runs(self) -> dict[str, tuple[IngestRun | None, IngestRun | None]]:
        """Per source: its latest run, and its latest successful run."""
        sql = (
            "SELECT source, day, started_at, finished_at, ok, papers, error FROM ingest_runs "
            "WHERE id IN (SELECT MAX(id) FROM ingest_runs GROUP BY source "
            "UNION SELECT MAX(id) FROM ingest_runs WHERE ok = 1 GROUP BY source) ORDER BY id"
        )
        result: dict[str, tuple[IngestRun | None, IngestRun | None]] = {}
        for row in await self._rows(sql, ()):
            run = IngestRun(
                source=row[0],
                day=date.fromisoformat(row[1]) if row[1] else None,
                started_at=datetime.fromisoformat(row[2]),
                finished_at=datetime.fromisoformat(row[3]),
                ok=bool(row[4]),
                papers=row[5],
                error=row[6],
            )
            _, last_ok = result.get(run.source, (None, None))
            result[run.source] = (run, run if run.ok else last_ok)
        return result

    # -- search pagination ----------------------------------------------------------------

    async def save_search(self, query: str, *, now: datetime) -> str:
        """A short stable token for *query*, so a "More" button can name it in 100 chars."""
        token = hashlib.sha256(query.encode()).hexdigest()[:16]
        await self._write(
            "INSERT INTO search_pages (token, query, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (token) DO UPDATE SET created_at = excluded.created_at",
            (token, query, ts(now)),
        )
        return token

    async def load_search(self, token: str) -> str | None:
        """The query saved under *token*, or ``None`` if unknown."""
        rows = await self._rows("SELECT query FROM search_pages WHERE token = ?", (token,))
        return str(rows[0][0]) if rows else None
