"""Matching benchmark: 100,000 subscriptions x 200 new papers through bot.search.matcher.

    .venv/bin/python bench/matching.py [--subscriptions 100000] [--papers 200] [--runs 5]

Subscriptions are built from the archive's history (every day but the last few): AI-keyword
phrases quoted or as loose words, word pairs from titles, OR-groups of keywords, exclusions
and ``author:`` terms, in the mix below, with a fixed seed. The new papers are the archive's
last 200. Token rarity for anchoring comes from the history, as it would from the store.
Then a sample of subscriptions is checked against SQLite FTS5 on the same papers. Prints a
Markdown report and writes bench/matching_results.md.
"""

from __future__ import annotations

import argparse
import platform
import random
import re
import resource
import sqlite3
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.errors import QueryError
from bot.grammar.query import Query, parse_query
from bot.model.papers import Paper
from bot.search.matcher import Matcher, token_frequencies
from bot.sources.snapshot import SnapshotSource
from bot.store.migrations import MIGRATIONS
from bot.store.rows import COLUMNS, paper_params, rowid_for

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = ROOT.parent / "shared" / "data" / "hf_daily_archive.jsonl.gz"
RESULTS = ROOT / "bench" / "matching_results.md"
NOW = datetime(2026, 7, 1, 9, tzinfo=UTC)
TARGET_S = 2.0
SAMPLE = 2_000  # subscriptions checked against FTS5
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]{3,}")
_STOP = frozenset(
    [
        "with",
        "from",
        "that",
        "this",
        "their",
        "into",
        "using",
        "based",
        "towards",
        "through",
        "via",
        "for",
        "and",
        "the",
        "are",
        "our",
        "large",
        "models",
        "model",
        "learning",
        "data",
        "language",
    ]
)
# (share, kind): how the synthetic subscriptions are spread over query shapes.
MIX = (
    (0.30, "phrase"),
    (0.15, "keyword words"),
    (0.15, "title pair"),
    (0.12, "or group"),
    (0.10, "exclusion"),
    (0.10, "author"),
    (0.08, "author + word"),
)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def load() -> tuple[list[Paper], list[Paper]]:
    """(history, the newest 200-ish papers), one version per id."""
    unique: dict[str, Paper] = {}
    for _, day in SnapshotSource(ARCHIVE).days():
        for paper in day:
            unique.pop(paper.id, None)
            unique[paper.id] = paper
    papers = list(unique.values())
    return papers[:-200], papers[-200:]


def make_queries(history: list[Paper], count: int, seed: int = 5) -> list[tuple[str, Query]]:
    rng = random.Random(seed)
    keywords = [k for p in history for k in p.ai_keywords if len(k) <= 60]
    authors = [a for p in history for a in p.authors if len(a) <= 40]
    title_words = [
        ws
        for p in history
        if len(ws := [w for w in _WORD.findall(p.title) if w.lower() not in _STOP]) >= 2
    ]

    def word() -> str:
        return rng.choice(rng.choice(title_words))

    def shape(kind: str) -> str:
        if kind == "phrase":
            return f'"{rng.choice(keywords)}"'
        if kind == "keyword words":
            return rng.choice(keywords)
        if kind == "title pair":
            return " ".join(rng.sample(rng.choice(title_words), 2))
        if kind == "or group":
            return " OR ".join(f'"{rng.choice(keywords)}"' for _ in range(rng.randint(2, 3)))
        if kind == "exclusion":
            return f'"{rng.choice(keywords)}" -{word()}'
        name = rng.choice(authors)
        term = f'author:"{name}"' if rng.random() < 0.6 else f"author:{name.split()[-1]}"
        return term if kind == "author" else f"{word()} {term}"

    kinds = [kind for _, kind in MIX]
    weights = [share for share, _ in MIX]
    queries: list[tuple[str, Query]] = []
    while len(queries) < count:
        text = shape(rng.choices(kinds, weights)[0])
        try:
            queries.append((text, parse_query(text, now=NOW)))
        except QueryError:
            continue
    return queries


def fts_check(
    papers: list[Paper], queries: list[tuple[str, Query]], found: dict[int, list[str]]
) -> int:
    """How many of the first SAMPLE subscriptions disagree with SQLite FTS5."""
    conn = sqlite3.connect(":memory:")
    try:
        for script in MIGRATIONS:
            conn.executescript(script)
        conn.executemany(
            f"INSERT INTO papers (rowid, {COLUMNS}, first_seen, updated_at) "
            f"VALUES (?, {', '.join('?' * 16)}, '', '')",
            [(rowid_for(p.id), *paper_params(p)) for p in papers],
        )
        sql = (
            "SELECT p.id FROM papers_fts f JOIN papers p ON p.rowid = f.rowid "
            "WHERE papers_fts MATCH ?"
        )
        wrong = 0
        for sub_id, (_, query) in enumerate(queries[:SAMPLE]):
            expected = {row[0] for row in conn.execute(sql, (query.fts_strict(),))}
            wrong += expected != set(found.get(sub_id, []))
        return wrong
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    history, new = load()
    queries = make_queries(history, args.subscriptions)
    rss_before = rss_mb()

    started = time.perf_counter()
    matcher = Matcher(token_frequencies(history))
    frequencies_s = time.perf_counter() - started
    started = time.perf_counter()
    for sub_id, (_, query) in enumerate(queries):
        matcher.add(sub_id, query)
    build_s = time.perf_counter() - started

    timings = []
    found: dict[int, list[str]] = {}
    for _ in range(args.runs):
        started = time.perf_counter()
        found = matcher.match(new)
        timings.append(time.perf_counter() - started)
    matches = sum(len(ids) for ids in found.values())
    wrong = fts_check(new, queries, found)
    worst = max(timings)

    lines = [
        "# Matching benchmark",
        "",
        f"`.venv/bin/python bench/matching.py`, {datetime.now(UTC):%Y-%m-%d}. "
        f"{len(queries):,} subscriptions ({matcher.distinct_queries:,} distinct queries) "
        f"built from {len(history):,} archive papers; {len(new)} new papers (the archive's "
        f"last); {args.runs} timed `match` calls on the same index.",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {platform.platform()}, "
        f"Python {platform.python_version()}.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| token frequencies from history | {frequencies_s:.2f} s | |",
        f"| index build ({len(queries):,} `add` calls) | {build_s:.2f} s | |",
        f"| match 200 papers, median | {statistics.median(timings):.3f} s | |",
        f"| match 200 papers, worst of {args.runs} | {worst:.3f} s "
        f"{'✓' if worst < TARGET_S else '✗'} | < {TARGET_S:.0f} s |",
        f"| peak RSS (process) | {rss_mb():.0f} MB (before the index: {rss_before:.0f} MB) | |",
        f"| matches (subscription, paper) | {matches:,} | |",
        f"| subscriptions with a match | {len(found):,} | |",
        f"| disagreements with FTS5, first {SAMPLE} subscriptions | {wrong} | 0 |",
        "",
        "Query mix: " + ", ".join(f"{share:.0%} {kind}" for share, kind in MIX) + ".",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.write_text(report)


if __name__ == "__main__":
    main()
