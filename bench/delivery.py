"""Delivery benchmark: the dispatcher's own cost for a morning of DM subscriptions.

    .venv/bin/python bench/delivery.py [--subscriptions 100000] [--papers 200]

A real store holds the archive's history (first stored three days ago) and the newest 200
papers (stored an hour ago). Every subscription belongs to a different user, is due at the
same minute, and uses a query from bench/matching.py's realistic mix. The courier accepts
every message at once, so what is timed is papersbot alone: planning the fires into the
ledger, matching the new papers against every due subscription (one matcher pass), and
claim → compose → mark for every delivery. Platform pacing is bench/fanout.py's subject.
Prints a Markdown report and writes bench/delivery_results.md.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.matching import load, make_queries, rss_mb
from bot.delivery.courier import SendResult, SendStatus
from bot.delivery.planner import Planner
from bot.delivery.policy import DEFAULT_GRACE, DEFAULT_LEASE, TickReport
from bot.delivery.sender import Sender
from bot.model.delivery import DeliveryKey, Target
from bot.model.replies import Reply
from bot.store import Store

RESULTS = Path(__file__).resolve().parent / "delivery_results.md"
NOW = datetime(2026, 7, 1, 8, 0, 30, tzinfo=UTC)


class Accepting:
    platform = "slack"

    def __init__(self) -> None:
        self.sent = 0
        self.cards = 0

    async def send(self, target: Target, reply: Reply, key: DeliveryKey) -> SendResult:
        self.sent += 1
        self.cards += len(reply.cards)
        return SendResult(SendStatus.SENT, str(self.sent))

    async def find_sent(self, target: Target, key: DeliveryKey, since: datetime) -> str | None:
        return None


async def build(path: Path, subscriptions: int, papers: int) -> None:
    history, fresh = load()
    fresh = fresh[-papers:]
    store = await Store.open(path)
    try:
        for start in range(0, len(history), 2000):
            await store.papers.upsert(
                history[start : start + 2000], seen_at=NOW - timedelta(days=3)
            )
        await store.papers.upsert(fresh, seen_at=NOW - timedelta(hours=1))
        queries = make_queries(history, subscriptions)
        conn = store._conn
        await conn.executemany(
            "INSERT INTO targets (id, platform, workspace, kind, address) "
            "VALUES (?, 'slack', '', 'user', ?)",
            [(i + 1, f"U{i:06d}") for i in range(subscriptions)],
        )
        fire = NOW.replace(second=0).isoformat()
        created = (NOW - timedelta(days=2)).isoformat()
        await conn.executemany(
            "INSERT INTO subscriptions (id, target_id, query, at, tz, cadence, weekday, "
            "created_at, next_fire) VALUES (?, ?, ?, '08:00', 'UTC', 'daily', 0, ?, ?)",
            [(i + 1, i + 1, text, created, fire) for i, (text, _) in enumerate(queries)],
        )
        await conn.commit()
    finally:
        await store.close()


async def measure(path: Path) -> dict[str, float]:
    store = await Store.open(path)
    try:
        courier = Accepting()
        # The dispatcher's parts, timed one by one (Dispatcher.tick runs them in this order).
        planner = Planner(store, grace=DEFAULT_GRACE)
        sender = Sender(
            store,
            lambda: NOW,
            {"slack": courier},
            grace=DEFAULT_GRACE,
            lease=DEFAULT_LEASE,
            concurrency=32,
        )
        report = TickReport()
        t0 = time.perf_counter()
        await planner.plan(NOW, report)
        t1 = time.perf_counter()
        due = await store.ledger.open_deliveries(now=NOW)
        t2 = time.perf_counter()
        matches = await sender.matches.for_due(due, NOW)
        t3 = time.perf_counter()
        await sender.matches.for_due(due, NOW)  # warm: queries already compiled
        t3_warm = time.perf_counter()
        await sender.deliver(report)
        t4 = time.perf_counter()
        return {
            "planned": report.planned,
            "plan_s": t1 - t0,
            "load_due_s": t2 - t1,
            "match_s": t3 - t2,
            "match_warm_s": t3_warm - t3,
            "matched_subs": sum(1 for found in matches.values() if found),
            "deliver_s": t4 - t3_warm,
            "sent": courier.sent,
            "silent": report.silent,
            "cards": courier.cards,
            "rss_mb": rss_mb(),
        }
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--papers", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "delivery.db"
        t0 = time.perf_counter()
        asyncio.run(build(path, args.subscriptions, args.papers))
        setup = time.perf_counter() - t0
        r = asyncio.run(measure(path))
    per = (r["deliver_s"] / (r["sent"] + r["silent"])) * 1000 if r["sent"] + r["silent"] else 0
    lines = [
        "# Delivery benchmark (bench/delivery.py)",
        "",
        f"{args.subscriptions:,} DM subscriptions (one per user, all due the same minute) x "
        f"{args.papers} new papers; a courier that accepts instantly. Machine: "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}.",
        "",
        "| step | result |",
        "|---|---|",
        f"| set-up (not timed below) | {setup:.1f} s |",
        f"| plan: fires into the ledger | {r['plan_s']:.2f} s for {int(r['planned']):,} rows |",
        f"| load due rows | {r['load_due_s']:.2f} s |",
        f"| match all due subscriptions, first time (compiles every query) | "
        f"{r['match_s']:.2f} s; {int(r['matched_subs']):,} subscriptions matched something |",
        f"| the same, later ticks (the dispatcher keeps its matcher) | {r['match_warm_s']:.2f} s |",
        f"| claim, compose, send, mark every row | {r['deliver_s']:.1f} s "
        f"({per:.2f} ms per delivery; includes one more warm matching pass) |",
        f"| DMs sent / silent (nothing new) | {int(r['sent']):,} / {int(r['silent']):,} |",
        f"| peak RSS | {r['rss_mb']:.0f} MB |",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.subscriptions == 100_000:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
