"""Search benchmark: ingest speed, search latency and memory from 8.8k to 1M papers, and
ranking quality on search_dev.json. Prints a Markdown report and writes bench/results.md.

    .venv/bin/python bench/search.py [--sizes 100000,1000000] [--quick]

Every measurement runs in a subprocess of its own (this script with ``--child``) so that
each peak RSS is independent. Synthetic stores are cached in bench/.cache/ by size and
generator/schema version; delete that folder to rebuild them.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import corpus
import quality
import report

from bot.grammar.query import parse_query
from bot.search.engine import search
from bot.sources.snapshot import SnapshotSource
from bot.store import Store
from bot.store.migrations import MIGRATIONS
from bot.store.rows import rowid_for

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / "bench" / ".cache"
RESULTS = ROOT / "bench" / "results.md"
NOW = datetime(2026, 7, 1, 9, tzinfo=UTC)  # the morning after the archive's last day
RUNS, QUICK_RUNS = 5, 1

# Queries people type all the time: broad words match a large share of the corpus.
COMMON = (
    "language models",
    "large language models",
    "diffusion",
    "diffusion -video",
    "reinforcement learning",
    "agent",
    "reasoning",
    "benchmark",
    "multimodal",
    "transformer",
    "image generation",
    "3d gaussian splatting",
    "robot manipulation",
    '"mixture of experts"',
    "llm OR transformer -vision",
    "rag OR retrieval",
    "author:zhang",
    "author:wang since:90d",
    "reasoning since:7d",
    "since:30d sort:new",
    "sort:trending",
    "sort:new",
    "video generation sort:trending",
    "model",
)

log = logging.getLogger("bench")


def running_clock() -> Callable[[], datetime]:
    """A clock that starts at :data:`NOW` and runs in real time, as the bot's does: a
    ``since:7d`` resolves to a new instant on every request, as in production."""
    start = time.monotonic()
    return lambda: NOW + timedelta(seconds=time.monotonic() - start)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _db_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20


def _unlink(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def store_path(size: int) -> Path:
    """The cached store for *size*; a new generator, schema or rowid scheme gets a new name."""
    rowids = [rowid_for(pid) for pid in ("2405.00001", "2606.30616", "hep-th/9901001")]
    facts = f"{corpus.VERSION}\n{''.join(MIGRATIONS)}\n{rowids}"
    return CACHE / f"synthetic-{size}-{hashlib.sha256(facts.encode()).hexdigest()[:10]}.db"


# -- children: each prints nothing and writes one JSON object ---------------------------------


async def child_ingest(db: Path) -> dict[str, Any]:
    """Parse the archive and upsert it day by day, as the real ingest does."""
    _unlink(db)
    store = await Store.open(db)
    papers = days = 0
    upsert = 0.0
    start = time.perf_counter()
    for day, batch in SnapshotSource(DATA / "hf_daily_archive.jsonl.gz").days():
        if day is None:
            continue
        t0 = time.perf_counter()
        await store.papers.upsert(batch, seen_at=corpus.seen_at(day))
        upsert += time.perf_counter() - t0
        papers, days = papers + len(batch), days + 1
    total = time.perf_counter() - start
    stored = await store.papers.count()
    await store.close()
    return {
        "papers": papers,
        "days": days,
        "stored": stored,
        "seconds": total,
        "upsert_seconds": upsert,
        "rss_mb": _rss_mb(),
        "db_mb": _db_mb(db),
    }


async def child_build(size: int, db: Path) -> dict[str, Any]:
    """Build the synthetic store of *size* papers, in batches of corpus.BATCH."""
    tmp = db.with_name(db.name + ".tmp")
    _unlink(tmp)
    days = corpus.archive_days(DATA / "hf_daily_archive.jsonl.gz")
    start = time.perf_counter()
    store = await Store.open(tmp)
    done = 0
    for batch in corpus.synthetic_batches(days, size):
        last = max(p.daily_day or NOW.date() for p in batch)
        await store.papers.upsert(batch, seen_at=corpus.seen_at(last))
        done += len(batch)
        if done // 100_000 != (done - len(batch)) // 100_000:
            log.info("  built %d / %d papers (%.0f s)", done, size, time.perf_counter() - start)
    stored = await store.papers.count()
    await store.close()
    seconds = time.perf_counter() - start
    tmp.rename(db)
    meta = {
        "size": size,
        "stored": stored,
        "build_seconds": seconds,
        "build_rss_mb": _rss_mb(),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    db.with_suffix(".json").write_text(json.dumps(meta))
    return meta


async def child_search(db: Path, runs: int, kinds: dict[str, str]) -> dict[str, Any]:
    """Time parse + search (first page of 5) for every query: one warm-up pass, then *runs*."""
    store = await Store.open(db)
    papers = await store.papers.count()
    times: dict[str, list[float]] = {q: [] for q in kinds}
    totals: dict[str, int] = {}
    for attempt in range(runs + 1):
        for text in kinds:
            t0 = time.perf_counter()
            page = await search(store, parse_query(text, now=NOW), now=NOW)
            elapsed = (time.perf_counter() - t0) * 1000
            totals[text] = page.total
            if attempt:
                times[text].append(elapsed)
    await store.close()
    return {
        "papers": papers,
        "times": times,
        "totals": totals,
        "kinds": kinds,
        "rss_mb": _rss_mb(),
    }


async def child_quality(db: Path, dev: dict[str, Any]) -> dict[str, Any]:
    """Score tiered search and BM25 baselines on an archive index without ai_keywords."""
    store = await Store.open(db)
    try:
        for day, batch in corpus.archive_days(DATA / "hf_daily_archive.jsonl.gz"):
            await store.papers.upsert(corpus.without_keywords(batch), seen_at=corpus.seen_at(day))
        rankers = {
            "tiered search (bot.search.engine)": quality.tiered(store, NOW),
            "BM25 over all words, plain": quality.bm25(store, NOW),
            "BM25 over all words, title weighted 2/1/1/2": quality.bm25(
                store, NOW, (2.0, 1.0, 1.0, 2.0)
            ),
        }
        return {name: await quality.score(rank, dev) for name, rank in rankers.items()}
    finally:
        await store.close()


async def _keywordless_archive(db: Path) -> None:
    """The archive without AI keywords, as the quality child indexes it, for the peer."""
    store = await Store.open(db)
    try:
        for day, batch in corpus.archive_days(DATA / "hf_daily_archive.jsonl.gz"):
            await store.papers.upsert(corpus.without_keywords(batch), seen_at=corpus.seen_at(day))
    finally:
        await store.close()


def run_child(args: argparse.Namespace) -> None:
    task, value = args.child
    dev = quality.load_dev(DATA / "search_dev.json")
    if task == "ingest":
        result = asyncio.run(child_ingest(Path(value)))
    elif task == "build":
        result = asyncio.run(child_build(int(value), store_path(int(value))))
    elif task == "search":
        kinds = {**quality.query_kinds(dev), **dict.fromkeys(COMMON, "common")}
        db = Path(value)
        result = {**asyncio.run(child_search(db, args.runs, kinds)), "db_mb": _db_mb(db)}
    elif task.startswith("peer"):
        import peer  # bm25s: installed by `make bench` (the `bench` extra), not by `make test`

        kinds = {**quality.query_kinds(dev), **dict.fromkeys(COMMON, "common")}
        texts = [q for q in kinds if ":" not in q]  # the peer has no filters or sorting
        db = Path(value)
        result = peer.run(db, texts, args.runs, dev if task == "peer-quality" else None)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = asyncio.run(child_quality(Path(tmp) / "quality.db", dev))
    Path(args.out).write_text(json.dumps(result))


# -- parent ---------------------------------------------------------------------------------


def spawn(task: str, value: object, runs: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        path = Path(out.name)
    try:
        cmd = [sys.executable, __file__, "--child", task, str(value), "--out", str(path)]
        subprocess.run([*cmd, "--runs", str(runs)], check=True)
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    finally:
        path.unlink(missing_ok=True)


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        mem_kb = int(info.readline().split()[1])
    return {
        "CPU": cpu,
        "cores": f"{len(os.sched_getaffinity(0))} usable of {os.cpu_count()}",
        "RAM": f"{mem_kb / 2**20:.1f} GiB",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", help="synthetic corpus sizes (default 100000,1000000)")
    parser.add_argument("--quick", action="store_true", help="one timed pass; 20k corpus")
    parser.add_argument("--child", nargs=2, metavar=("TASK", "ARG"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=RUNS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.child:
        run_child(args)
        return
    runs = QUICK_RUNS if args.quick else RUNS
    sizes = [
        int(s) for s in (args.sizes or ("20000" if args.quick else "100000,1000000")).split(",")
    ]
    CACHE.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "runs": runs, "corpora": []}
    log.info("ingesting the archive ...")
    results["ingest"] = spawn("ingest", CACHE / "archive.db", runs)
    log.info("timing searches on the archive ...")
    results["corpora"].append({"name": "archive", **spawn("search", CACHE / "archive.db", runs)})
    for size in sizes:
        db = store_path(size)
        if db.exists():
            meta, cached = json.loads(db.with_suffix(".json").read_text()), True
        else:
            log.info("building a synthetic store of %d papers ...", size)
            meta, cached = spawn("build", size, runs), False
        log.info("timing searches on %d papers ...", size)
        entry = spawn("search", db, runs)
        results["corpora"].append(
            {"name": f"{size:,}", "size": size, **meta, **entry, "cached": cached}
        )
    log.info("scoring ranking quality ...")
    results["quality"] = spawn("quality", "-", runs)
    log.info("the peer (bm25s) on the archive and 100,000 papers ...")
    with tempfile.TemporaryDirectory() as tmp:
        quality_db = Path(tmp) / "peer.db"
        asyncio.run(_keywordless_archive(quality_db))
        results["peer"] = {"archive": spawn("peer-quality", quality_db, runs)}
    for size in (s for s in sizes if s <= 100_000):
        results["peer"][f"{size:,}"] = spawn("peer", store_path(size), runs)
    (CACHE / "last-run.json").write_text(json.dumps(results))
    text = report.render(results)
    print(text)
    if args.quick:
        log.info("(--quick: %s left unchanged)", RESULTS.relative_to(ROOT))
    else:
        RESULTS.write_text(text)
        log.info("written to %s", RESULTS.relative_to(ROOT))


if __name__ == "__main__":
    main()
