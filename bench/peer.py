"""The peer column: bm25s (a well-known BM25 library, numpy only) on the same papers and queries.

Each paper is one document: title, abstract, authors and AI summary (the fields our index
holds besides the AI keywords, which the dev set leaves out). Library defaults: its own
tokenizer without stopwords, BM25 (Lucene variant), k1 1.5, b 0.75. Latency is
``retrieve(k=5)`` on an index held in memory, the query tokenized each time, so the
comparison favours the peer (no storage, no filters, no paging). 1M papers is not run: the
index of a million documents does not fit the 300 MB budget the bot is held to.
"""

from __future__ import annotations

import resource
import sqlite3
import time
from pathlib import Path
from typing import Any

import bm25s  # type: ignore[import-untyped]
import quality


def _documents(db: Path) -> tuple[list[str], list[str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT id, title, abstract, authors, COALESCE(ai_summary, '') FROM papers"
        ).fetchall()
    return [r[0] for r in rows], ["\n".join(r[1:]) for r in rows]


def run(db: Path, queries: list[str], runs: int, dev: dict[str, Any] | None) -> dict[str, Any]:
    """Index the papers of *db*, time every query, and score the dev set when given."""
    ids, texts = _documents(db)
    start = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords=None, show_progress=False), show_progress=False)
    build = time.perf_counter() - start
    del texts

    def top(text: str, k: int) -> list[str]:
        tokens = bm25s.tokenize([text.replace('"', " ")], stopwords=None, show_progress=False)
        k = min(k, len(ids))
        found, _ = retriever.retrieve(tokens, k=k, show_progress=False)
        return [ids[int(i)] for i in found[0]]

    times: list[float] = []
    for attempt in range(runs + 1):
        for text in queries:
            t0 = time.perf_counter()
            top(text, 5)
            if attempt:
                times.append((time.perf_counter() - t0) * 1000)
    result: dict[str, Any] = {
        "papers": len(ids),
        "build_seconds": build,
        "times": times,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if dev is not None:

        async def rank(text: str) -> list[str]:
            return top(text, quality.DEPTH)

        import asyncio

        result["quality"] = asyncio.run(quality.score(rank, dev))
    return result
