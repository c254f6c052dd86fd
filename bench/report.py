"""The benchmark's Markdown report, rendered from the JSON its subprocesses return."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from statistics import median
from typing import Any

INGEST_TARGET_S = 5.0
P99_TARGET_MS = {100_000: 20.0, 1_000_000: 100.0}
RSS_TARGET_MB = {1_000_000: 300.0}


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _mark(value: float, target: float | None) -> str:
    if target is None:
        return ""
    return " ✓" if value < target else " ✗"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _samples(entry: dict[str, Any], kind: str | None = None) -> list[float]:
    return [
        t
        for query, times in entry["times"].items()
        if kind is None or entry["kinds"][query] == kind
        for t in times
    ]


def _summary(results: dict[str, Any]) -> list[str]:
    ingest, corpora = results["ingest"], results["corpora"]
    names = [f"{c['papers']:,} papers" + ("" if "size" in c else " (archive)") for c in corpora]
    rate = ingest["papers"] / ingest["seconds"]
    blank = ["—"] * (len(corpora) - 1)
    rows = [
        [
            "ingest: parse + upsert, one call per day",
            f"{ingest['seconds']:.2f} s{_mark(ingest['seconds'], INGEST_TARGET_S)}"
            f" ({ingest['papers']:,} items in {ingest['days']} calls, {rate:,.0f}/s;"
            f" upsert alone {ingest['upsert_seconds']:.2f} s)",
            *blank,
            f"archive < {INGEST_TARGET_S:.0f} s",
        ],
        [
            "build: 5,000 papers per upsert",
            "—",
            *[
                f"{c['build_seconds']:.0f} s ({c['stored'] / c['build_seconds']:,.0f} papers/s)"
                + (" (cached)" if c["cached"] else "")
                for c in corpora[1:]
            ],
            "",
        ],
        ["database on disk", *[f"{c['db_mb']:,.0f} MB" for c in corpora], ""],
    ]
    for label, p in (("search p50", 50), ("search p99", 99)):
        cells = []
        for c in corpora:
            value = percentile(_samples(c), p)
            target = P99_TARGET_MS.get(c.get("size", 0)) if p == 99 else None
            cells.append(f"{value:.1f} ms{_mark(value, target)}")
        goal = ", ".join(f"< {t:.0f} ms at {s:,}" for s, t in P99_TARGET_MS.items())
        rows.append([label, *cells, goal if p == 99 else ""])
    rows.append(["search max", *[f"{max(_samples(c)):.1f} ms" for c in corpora], ""])
    rss = [
        f"{c['rss_mb']:.0f} MB{_mark(c['rss_mb'], RSS_TARGET_MB.get(c.get('size', 0)))}"
        for c in corpora
    ]
    goal = ", ".join(f"< {t:.0f} MB at {s:,}" for s, t in RSS_TARGET_MB.items())
    rows.append(["peak RSS, search process", *rss, goal])
    rows.append(
        [
            "peak RSS, ingest/build process",
            f"{ingest['rss_mb']:.0f} MB",
            *[f"{c['build_rss_mb']:.0f} MB" for c in corpora[1:]],
            "",
        ]
    )
    return _table(["measure", *names, "target"], rows)


def _by_kind(corpora: list[dict[str, Any]]) -> list[str]:
    rows = []
    for kind in ("topical", "known-item", "common"):
        cells = []
        for c in corpora:
            samples = _samples(c, kind)
            cells.append(f"{percentile(samples, 50):.1f} / {percentile(samples, 99):.1f}")
        count = sum(1 for k in corpora[0]["kinds"].values() if k == kind)
        rows.append([f"{kind} ({count})", *cells])
    return _table(["queries", *[f"{c['papers']:,}" for c in corpora]], rows)


def _slowest(corpora: list[dict[str, Any]]) -> list[str]:
    rows = []
    for c in corpora:
        by_median = sorted(c["times"].items(), key=lambda kv: median(kv[1]), reverse=True)
        for query, times in by_median[:5]:
            rows.append(
                [
                    f"{c['papers']:,}",
                    f"`{query}`",
                    c["kinds"][query],
                    f"{median(times):.1f}",
                    f"{max(times):.1f}",
                    f"{c['totals'][query]:,}",
                ]
            )
    header = ["corpus", "query", "kind", "median ms", "max ms", "ranked candidates"]
    return _table(header, rows)


def _quality(scores: dict[str, dict[str, float]]) -> list[str]:
    rows = [
        [name, f"{s['p5']:.3f}", f"{s['ndcg10']:.3f}", f"{s['s1']:.2f}", f"{s['s3']:.2f}"]
        for name, s in scores.items()
    ]
    first = next(iter(scores.values()))
    header = [
        "ranker",
        f"topical P@5 ({first['topical']:.0f})",
        "topical nDCG@10",
        f"known-item S@1 ({first['known']:.0f})",
        "known-item S@3",
    ]
    return _table(header, rows)


def render(results: dict[str, Any]) -> str:
    corpora = results["corpora"]
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    lines = [
        "# Search benchmark",
        "",
        f"`.venv/bin/python bench/search.py`, {today}. Each query runs once to warm up, then "
        f"{results['runs']} timed passes over the whole set (parse + search, first page of 5). "
        "Each column is measured in a process of its own.",
        "",
        "## Machine",
        "",
        *_table(list(results["machine"]), [list(results["machine"].values())]),
        "",
        "## Results",
        "",
        *_summary(results),
        "",
        "Synthetic corpora hold the archive plus papers recombined from it (see"
        " bench/corpus.py); build time is generation + upsert, measured once and then cached."
        " Search latency covers the 160 search_dev.json queries and 24 common ones.",
        "",
        "## Latency by query kind (p50 / p99 ms)",
        "",
        *_by_kind(corpora),
        "",
        "## Slowest queries (five per corpus, by median)",
        "",
        *_slowest(corpora),
        "",
        "## Ranking quality (search_dev.json, archive indexed without ai_keywords)",
        "",
        *_quality(results["quality"]),
        "",
        *_peer(results),
    ]
    return "\n".join(lines)


def _peer(results: dict[str, Any]) -> list[str]:
    """bm25s beside the bot: latency on the same queries (those without filters), quality on
    the same dev set; ratios are the bot's figure over the peer's."""
    peer = results.get("peer")
    if not peer:
        return []
    ours = {c["name"]: c for c in results["corpora"]}
    rows = []
    for name, entry in peer.items():
        mine = ours.get(name) or ours.get("archive")
        mine_times = [t for ts in mine["times"].values() for t in ts] if mine else []
        p50, p99 = percentile(entry["times"], 50), percentile(entry["times"], 99)
        m99 = percentile(mine_times, 99) if mine_times else float("nan")
        rows.append(
            [
                f"{entry['papers']:,}",
                f"{p50:.1f} / {p99:.1f} ms",
                f"{m99 / p99:.1f}x" if p99 else "—",
                f"{entry['build_seconds']:.1f} s",
                f"{entry['rss_mb']:.0f} MB",
            ]
        )
    lines = [
        "## Peer: bm25s (same papers and queries, index in memory)",
        "",
        *_table(
            ["papers", "bm25s p50 / p99", "our p99 / its p99", "its index build", "its peak RSS"],
            rows,
        ),
    ]
    q = peer.get("archive", {}).get("quality")
    if q:
        mine = results["quality"]["tiered search (bot.search.engine)"]
        lines += [
            "",
            f"Dev set, bm25s: P@5 {q['p5']:.3f}, nDCG@10 {q['ndcg10']:.3f}, S@1 {q['s1']:.2f}; "
            f"ours over its: P@5 {mine['p5'] / q['p5']:.2f}x, nDCG@10 "
            f"{mine['ndcg10'] / q['ndcg10']:.2f}x.",
        ]
    return [*lines, ""]
