"""Ranking quality on search_dev.json, scored the way its "about" says.

topical queries: precision@5 and nDCG@10 with binary relevance; known-item queries:
success@1 and success@3. The index is built without ``ai_keywords`` because the topical
labels are keyword phrases. Besides the bot's tiered search, two baselines rank the strict
(all-words) match set by FTS5 ``bm25()`` alone: with equal column weights ("plain") and with
the title weighted double.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from statistics import fmean
from typing import Any

from bot.grammar.query import parse_query
from bot.search.engine import search
from bot.store import Store

Ranker = Callable[[str], Awaitable[list[str]]]
DEPTH = 10

_BM25 = (
    "SELECT p.id FROM papers_fts f JOIN papers p ON p.rowid = f.rowid "
    "WHERE papers_fts MATCH ? ORDER BY {score} LIMIT ?"
)


def precision_at(ranked: list[str], relevant: set[str], k: int) -> float:
    return sum(1 for pid in ranked[:k] if pid in relevant) / k


def ndcg_at(ranked: list[str], relevant: set[str], k: int) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, pid in enumerate(ranked[:k]) if pid in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def tiered(store: Store, now: datetime) -> Ranker:
    async def rank(text: str) -> list[str]:
        page = await search(store, parse_query(text, now=now), now=now, limit=DEPTH)
        return [hit.stored.paper.id for hit in page.hits]

    return rank


def bm25(store: Store, now: datetime, weights: tuple[float, ...] = ()) -> Ranker:
    args = "".join(f", {w}" for w in weights)
    sql = _BM25.format(score=f"bm25(papers_fts{args})")

    async def rank(text: str) -> list[str]:
        expr = parse_query(text, now=now).fts_strict()
        async with store._conn.execute(sql, (expr, DEPTH)) as cur:
            return [str(row[0]) async for row in cur]

    return rank


def load_dev(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def query_kinds(dev: dict[str, Any]) -> dict[str, str]:
    """Every dev query, topical ones first, with its kind."""
    kinds = {item["query"]: "topical" for item in dev["topical"]}
    kinds.update({item["query"]: "known-item" for item in dev["known_item"]})
    return kinds


async def score(ranker: Ranker, dev: dict[str, Any]) -> dict[str, float]:
    """Mean P@5, nDCG@10 (topical) and success@1, success@3 (known-item) of one ranker."""
    p5, ndcg, s1, s3 = [], [], [], []
    for item in dev["topical"]:
        ranked = await ranker(item["query"])
        relevant = set(item["relevant"])
        p5.append(precision_at(ranked, relevant, 5))
        ndcg.append(ndcg_at(ranked, relevant, 10))
    for item in dev["known_item"]:
        ranked = await ranker(item["query"])
        s1.append(float(item["id"] in ranked[:1]))
        s3.append(float(item["id"] in ranked[:3]))
    return {
        "p5": fmean(p5),
        "ndcg10": fmean(ndcg),
        "s1": fmean(s1),
        "s3": fmean(s3),
        "topical": len(p5),
        "known": len(s1),
    }
