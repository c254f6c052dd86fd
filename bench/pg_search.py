"""PostgreSQL search beside SQLite: ranking quality on search_dev.json and search latency on
the synthetic corpus of bench/search.py, both stores side by side, written to
bench/pg_search_results.md.

    .venv/bin/python bench/pg_search.py [--sizes 100000,1000000] [--runs 3]

Quality is bench/quality.py's measure (P@5 and nDCG@10 on the topical queries, success@1/@3
on the known-item ones) of the real engine over the archive without AI keywords, on each
store; PostgreSQL must come within 0.02 of SQLite. Latency times parse + search (first page
of 5) of bench/search.py's queries (the dev set's and its common ones): one warm-up pass, then
``--runs`` timed passes. The SQLite store of a size is bench/search.py's cached one (built by
its child when missing); the PostgreSQL one is built here from the same generator on a
throwaway server (tests/pg.py: fsync off, default shared_buffers).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import quantiles
from typing import Any

import corpus
import quality
import search as sqlite_bench

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.grammar.query import parse_query  # noqa: E402
from bot.search.engine import search  # noqa: E402
from bot.store import Database, open_database  # noqa: E402
from tests.pg import PostgresServer, pg_binaries  # noqa: E402

DATA = sqlite_bench.DATA
NOW = sqlite_bench.NOW
RESULTS = ROOT / "bench" / "pg_search_results.md"
TOLERANCE = 0.02
log = logging.getLogger("bench")


async def fill_archive(url: str) -> None:
    """The archive without AI keywords, as bench/search.py's quality child indexes it."""
    store = await open_database(url)
    try:
        for day, batch in corpus.archive_days(DATA / "hf_daily_archive.jsonl.gz"):
            await store.papers.upsert(corpus.without_keywords(batch), seen_at=corpus.seen_at(day))
    finally:
        await store.close()


async def score(url: str, dev: dict[str, Any]) -> dict[str, float]:
    store = await open_database(url)
    try:
        return await quality.score(quality.tiered(store, NOW), dev)  # type: ignore[arg-type]
    finally:
        await store.close()


async def build(url: str, size: int) -> float:
    """The synthetic corpus of *size* papers in the store at *url*; seconds taken."""
    days = corpus.archive_days(DATA / "hf_daily_archive.jsonl.gz")
    store = await open_database(url)
    start = time.perf_counter()
    done = 0
    try:
        for batch in corpus.synthetic_batches(days, size):
            last = max(p.daily_day or NOW.date() for p in batch)
            await store.papers.upsert(batch, seen_at=corpus.seen_at(last))
            done += len(batch)
            if done // 100_000 != (done - len(batch)) // 100_000:
                log.info("  built %d / %d (%.0f s)", done, size, time.perf_counter() - start)
    finally:
        await store.close()
    seconds = time.perf_counter() - start
    await analyze(url)  # what autovacuum does for a live store: the planner's statistics
    return seconds


async def analyze(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE papers")
    finally:
        await conn.close()


async def timed(url: str, kinds: dict[str, str], runs: int) -> dict[str, Any]:
    """Per query kind, the search times in ms; and each query's first page (ids)."""
    store: Database = await open_database(url)
    times: dict[str, list[float]] = {}
    pages: dict[str, list[str]] = {}
    each: dict[str, list[float]] = {}
    try:
        for attempt in range(runs + 1):
            for text, kind in kinds.items():
                t0 = time.perf_counter()
                page = await search(store, parse_query(text, now=NOW), now=NOW)  # type: ignore[arg-type]
                elapsed = (time.perf_counter() - t0) * 1000
                pages[text] = [hit.stored.paper.id for hit in page.hits]
                if attempt:
                    each.setdefault(text, []).append(elapsed)
                    times.setdefault(kind, []).append(elapsed)
                    times.setdefault("all", []).append(elapsed)
    finally:
        await store.close()
    slowest = sorted(each, key=lambda q: -max(each[q]))[:5]
    return {"times": times, "pages": pages, "slowest": {q: max(each[q]) for q in slowest}}


def p50_p99(values: list[float]) -> str:
    cuts = quantiles(values, n=100, method="inclusive")
    return f"{cuts[49]:.1f} / {cuts[98]:.1f}"


def render(results: dict[str, Any]) -> str:
    lines = [
        "# PostgreSQL search beside SQLite (bench/pg_search.py)",
        "",
        f"Run {results['date']} on a **shared** machine (other engineers' tests and builds ran at "
        "the same time on its 2 cores, so latencies are noisy upper bounds): "
        + ", ".join(f"{k} {v}" for k, v in results["machine"].items())
        + f"; PostgreSQL {results['pg_version']} on a local Unix socket (tests/pg.py server: "
        "fsync off, default shared_buffers 128 MB).",
        "",
        "## Ranking quality (search_dev.json, archive without AI keywords)",
        "",
        "| store | P@5 | nDCG@10 | success@1 | success@3 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, q in results["quality"].items():
        lines.append(
            f"| {name} | {q['p5']:.3f} | {q['ndcg10']:.3f} | {q['s1']:.2f} | {q['s3']:.2f} |"
        )
    lines += ["", results["quality_verdict"], "", "## Search latency, ms (p50 / p99)", ""]
    lines += [
        "| papers | store | build | all queries | topical | known-item | common | "
        "first pages equal |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for entry in results["latency"]:
        for store in ("SQLite", "PostgreSQL"):
            t = entry[store]["times"]
            cells = [p50_p99(t[k]) for k in ("all", "topical", "known-item", "common")]
            built = entry[store]["build"]
            lines.append(
                f"| {entry['size']:,} | {store} | {built} | "
                + " | ".join(cells)
                + f" | {entry['equal']} |"
            )
    for entry in results["latency"]:
        for store in ("SQLite", "PostgreSQL"):
            slow = entry[store]["slowest"]
            shown = ", ".join(f"`{q}` {ms:.0f}" for q, ms in slow.items())
            lines.append(f"- slowest at {entry['size']:,} on {store} (max ms): {shown}")
        for text in entry["differ"]:
            pages = " vs ".join(
                f"{store} [{', '.join(entry[store]['pages'][text][:5])}]"
                for store in ("SQLite", "PostgreSQL")
            )
            lines.append(f"- first page differs at {entry['size']:,}: `{text}`: {pages}")
    lines += ["", *results["notes"], ""]
    return "\n".join(lines)


async def pg_version(url: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def quality_part(server: PostgresServer, dev: dict[str, Any], results: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"SQLite": str(Path(tmp) / "quality.db"), "PostgreSQL": server.create_database()}
        for name, url in urls.items():
            log.info("quality on %s ...", name)
            asyncio.run(fill_archive(url))
            results["quality"][name] = asyncio.run(score(url, dev))
        server.drop_database(urls["PostgreSQL"])
    lite, pg = results["quality"]["SQLite"], results["quality"]["PostgreSQL"]
    gaps = {k: abs(lite[k] - pg[k]) for k in ("p5", "ndcg10")}
    ok = all(gap <= TOLERANCE for gap in gaps.values())
    results["quality_verdict"] = (
        f"{'Within' if ok else 'NOT within'} {TOLERANCE} of SQLite: P@5 differs by "
        f"{gaps['p5']:.3f}, nDCG@10 by {gaps['ndcg10']:.3f}."
    )


def latency_part(
    server: PostgresServer, size: int, kinds: dict[str, str], runs: int, results: dict[str, Any]
) -> None:
    db = sqlite_bench.store_path(size)
    if db.exists():
        lite_build = "cached"
    else:
        log.info("building the SQLite store of %d papers (bench/search.py) ...", size)
        meta = sqlite_bench.spawn("build", size, 1)
        lite_build = f"{meta['build_seconds']:.0f} s"
    url = server.create_database()
    log.info("building the PostgreSQL store of %d papers ...", size)
    pg_build = f"{asyncio.run(build(url, size)):.0f} s"
    log.info("timing searches at %d papers ...", size)
    lite = asyncio.run(timed(str(db), kinds, runs))
    pg = asyncio.run(timed(url, kinds, runs))
    differ = [q for q in kinds if lite["pages"][q] != pg["pages"][q]]
    same = len(kinds) - len(differ)
    results["latency"].append(
        {
            "size": size,
            "SQLite": {**lite, "build": lite_build},
            "PostgreSQL": {**pg, "build": pg_build},
            "equal": f"{same} / {len(kinds)}",
            "differ": differ,
        }
    )
    server.drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000", help="synthetic corpus sizes")
    parser.add_argument("--runs", type=int, default=3, help="timed passes per query")
    parser.add_argument("--note", action="append", default=[], help="a line for the notes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    binaries = pg_binaries()
    if binaries is None:
        sys.exit("PostgreSQL server binaries (initdb, pg_ctl) not found")
    dev = quality.load_dev(DATA / "search_dev.json")
    kinds = {**quality.query_kinds(dev), **dict.fromkeys(sqlite_bench.COMMON, "common")}
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": sqlite_bench.machine(),
        "quality": {},
        "latency": [],
        "notes": [f"- {note}" for note in args.note],
    }
    sqlite_bench.CACHE.mkdir(parents=True, exist_ok=True)
    with PostgresServer(binaries) as server:
        results["pg_version"] = asyncio.run(pg_version(server.dsn()))
        quality_part(server, dev, results)
        for size in (int(s) for s in args.sizes.split(",")):
            latency_part(server, size, kinds, args.runs, results)
    text = render(results)
    print(text)
    RESULTS.write_text(text)
    log.info("written to %s", RESULTS.relative_to(ROOT))


if __name__ == "__main__":
    main()
