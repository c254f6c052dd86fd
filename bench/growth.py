"""Database growth per month of Daily Papers, from the recorded archive.

    .venv/bin/python bench/growth.py [--refresh-months 6]

Replays the archive (``../shared/data/hf_daily_archive.jsonl.gz``: 520 weekdays, 2024-05-27
.. 2026-06-30, 8,826 items) into a fresh SQLite store the way ``papersbot run`` would have
stored it, one day at a time, and measures the file (after a WAL checkpoint) at every
month's end:

- **ingest only**: each day stored once (papers, FTS5 index, one popularity snapshot each),
  as ``papersbot ingest`` or a backfill stores it;
- **with hourly refreshes**: the same, plus the popularity snapshots the hourly refresh adds
  while a paper's counts still move. The archive holds each day's counts once (fetched at
  about 07:45 UTC), so the model is: upvotes and comments climb linearly to the recorded
  counts over the first 48 hourly refreshes, then stay flat; a snapshot is written only when
  the counts change (as ``Papers.upsert`` does), so a paper gets at most 48. This is an upper
  bound for papers that keep gaining, and it is run over the newest ``--refresh-months``
  months only (the replay is one upsert per paper-day per hour).

The delivery ledger is not here: finished rows are pruned after 90 days, so it is bounded by
targets x 90 (``bench/resources.py`` measures the bytes per delivery). Prints a Markdown
report and writes ``bench/growth_results.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.model.papers import Paper  # noqa: E402
from bot.sources.snapshot import SnapshotSource  # noqa: E402
from bot.store import Store  # noqa: E402

ARCHIVE = ROOT.parent / "shared" / "data" / "hf_daily_archive.jsonl.gz"
RESULTS = ROOT / "bench" / "growth_results.md"
CLIMB = 48  # hourly refreshes over which counts reach the recorded values


def file_bytes(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def months_of(days: list[tuple[date, list[Paper]]]) -> dict[str, list[tuple[date, list[Paper]]]]:
    by_month: dict[str, list[tuple[date, list[Paper]]]] = defaultdict(list)
    for day, papers in days:
        by_month[day.strftime("%Y-%m")].append((day, papers))
    return dict(by_month)


def climbing(papers: list[Paper], hour: int) -> list[Paper]:
    share = min(1.0, (hour + 1) / CLIMB)
    return [
        replace(p, upvotes=round(p.upvotes * share), comments=round(p.comments * share))
        for p in papers
    ]


async def replay(
    path: Path, months: dict[str, list[tuple[date, list[Paper]]]], *, refreshes: bool
) -> list[tuple[str, int, int, int]]:
    """(month, papers stored that month, snapshots, file bytes at its end) per month."""
    store = await Store.open(path)
    rows: list[tuple[str, int, int, int]] = []
    try:
        for month, days in months.items():
            new = 0
            for day, papers in days:
                morning = datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
                if refreshes:
                    for hour in range(CLIMB):
                        batch = climbing(papers, hour)
                        result = await store.papers.upsert(
                            batch, seen_at=morning + timedelta(hours=hour)
                        )
                        new += result.new
                else:
                    new += (await store.papers.upsert(papers, seen_at=morning)).new
            with closing(sqlite3.connect(path)) as conn:
                snapshots = conn.execute("SELECT COUNT(*) FROM paper_stats").fetchone()[0]
            rows.append((month, new, snapshots, file_bytes(path)))
    finally:
        await store.close()
    return rows


def growth(rows: list[tuple[str, int, int, int]]) -> list[tuple[str, int, int, int]]:
    """(month, papers, snapshots added, bytes added) for every month after the first."""
    return [
        (month, papers, snaps - rows[i - 1][2], size - rows[i - 1][3])
        for i, (month, papers, snaps, size) in enumerate(rows)
        if i > 0
    ]


def summary(label: str, grown: list[tuple[str, int, int, int]]) -> list[str]:
    mb = [b / 1e6 for *_, b in grown]
    papers = [p for _, p, _, _ in grown]
    per_paper = sum(b for *_, b in grown) / max(1, sum(papers))
    return [
        f"| {label} | {len(grown)} | {statistics.mean(papers):.0f} | "
        f"{statistics.median(mb):.2f} MB (max {max(mb):.2f}) | {per_paper / 1e3:.1f} kB | "
        f"{12 * statistics.mean(mb):.0f} MB |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refresh-months", type=int, default=6)
    args = parser.parse_args()
    days = [(d, p) for d, p in SnapshotSource(ARCHIVE).days() if d is not None]
    months = months_of(days)
    recent = dict(list(months.items())[-(args.refresh_months + 1) :])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        once = asyncio.run(replay(Path(tmp) / "once.db", months, refreshes=False))
        t1 = time.perf_counter()
        hourly = asyncio.run(replay(Path(tmp) / "hourly.db", recent, refreshes=True))
        t2 = time.perf_counter()
    grown_once, grown_hourly = growth(once), growth(hourly)
    lines = [
        "# Database growth per month (bench/growth.py)",
        "",
        f"`.venv/bin/python bench/growth.py`, {date.today().isoformat()}: the recorded archive "
        f"({len(days)} weekdays, {days[0][0]} .. {days[-1][0]}) replayed day by day into a "
        "fresh SQLite store; the file measured after a WAL checkpoint at each month's end "
        "(the first month, which holds the empty schema, is left out). "
        f"Replays took {t1 - t0:.0f} s and {t2 - t1:.0f} s.",
        "",
        "| replay | months | papers per month (mean) | growth per month (median) "
        "| per paper | a year at the mean |",
        "|---|---|---|---|---|---|",
        *summary("ingest only (each day stored once)", grown_once),
        *summary(
            f"ingest only, the newest {args.refresh_months} months",
            grown_once[-args.refresh_months :],
        ),
        *summary(f"with hourly refreshes (counts climb over {CLIMB} h)", grown_hourly),
        "",
        f"Whole archive stored once: {once[-1][3] / 1e6:.1f} MB for "
        f"{sum(p for _, p, _, _ in once):,} papers. The recorded responses were fetched "
        "with the API's default limit of 50 items a day, so a month with more papers grows "
        "in proportion (about 5 kB per paper).",
        "",
        "| month | papers | snapshots added (hourly model) | MB added (once) | "
        "MB added (hourly model) |",
        "|---|---|---|---|---|",
    ]
    hourly_by_month = {m: (s, b) for m, _, s, b in grown_hourly}
    for month, papers, _, size in grown_once[-args.refresh_months :]:
        snaps, hb = hourly_by_month.get(month, (0, 0))
        lines.append(f"| {month} | {papers} | {snaps:,} | {size / 1e6:.2f} | {hb / 1e6:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
