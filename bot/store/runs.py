"""Ingest runs: every fetch of a source, good or bad, for freshness and ``status``."""

from __future__ import annotations

from bot.store.records import (
    IngestRun,
    latest_runs,
)
from bot.store.rows import ts
from bot.store.section import Section


class Runs(Section):
    """The ``ingest_runs`` table."""

    _what = "ingest run"

    async def record(self, run: IngestRun) -> None:
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

    async def last(self) -> dict[str, tuple[IngestRun | None, IngestRun | None]]:
        """Per source: its latest run, and its latest successful run."""
        sql = (
            "SELECT source, day, started_at, finished_at, ok, papers, error FROM ingest_runs "
            "WHERE id IN (SELECT MAX(id) FROM ingest_runs GROUP BY source "
            "UNION SELECT MAX(id) FROM ingest_runs WHERE ok = 1 GROUP BY source) ORDER BY id"
        )
        return latest_runs(await self._rows(sql))
