"""500 slash commands at once over real loopback HTTP against a 100k-paper store.

    .venv/bin/python bench/load.py [--size 100000] [--concurrency 500]

The real Slack adapter (slack-bolt behind its aiohttp server, the guard middleware in
front) answers against the loopback fake Slack from ``tests/fakes/slack``. Every request is
a signed ``/papers`` slash command from a different user (the per-user budget is real),
mixed: searches, ``today`` and ``show``. All are sent at once; the table gives how many
were acknowledged within Slack's 3 s, ack and reply percentiles, errors, and the process's
peak RSS. Client, adapter and fake share one process and event loop (the numbers include
the fake's Block Kit validation). Not part of ``make test``: results in bench/load_results.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform
import resource
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import search as search_bench  # noqa: E402
from slack_latency import Client, ensure_store, percentile  # noqa: E402

from adapters.slack import EVENTS_PATH, open_slack  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.service.papersbot import PapersBot  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack  # noqa: E402

RESULTS = ROOT / "bench" / "load_results.md"
NOW = search_bench.NOW
SLACK_DEADLINE_MS = 3000.0
log = logging.getLogger("bench")


async def run(db: Path, concurrency: int) -> dict[str, object]:
    store = await Store.open(db)
    papers = await store.papers.count()
    day = await store.papers.latest_day()
    ids = [sp.paper.id for sp in await store.papers.for_day(day)] if day else []
    texts = [f"search {q}" for q in search_bench.COMMON] + ["today", "today 10"]
    texts += [f"show {pid}" for pid in ids[:20]]
    bot = PapersBot(store=store, clock=lambda: NOW)
    connector = aiohttp.TCPConnector(limit=0)  # every request at once, no client-side queue
    try:
        async with FakeSlack() as slack, aiohttp.ClientSession(connector=connector) as http:
            settings = load_settings(
                None,
                slack_bot_token=BOT_TOKEN,
                slack_signing_secret=SIGNING_SECRET,
                slack_app_token=None,
                slack_api_url=slack.api_url,
                slack_http_host="127.0.0.1",
                slack_http_port=0,
            )
            async with open_slack(bot, settings) as rt:
                client = Client(http, f"{rt.url}{EVENTS_PATH}", slack)
                for text in texts[:5]:  # warm-up
                    await client.command(text)
                batch = [texts[i % len(texts)] for i in range(concurrency)]
                outcomes = await asyncio.gather(
                    *(client.command(text) for text in batch), return_exceptions=True
                )
    finally:
        await store.close()
    done = [o for o in outcomes if isinstance(o, tuple)]
    acks = [ack for ack, _, _ in done]
    replies = [reply for _, reply, _ in done]
    errors = [o for o in outcomes if not isinstance(o, tuple)]
    sorry = sum(1 for _, _, body in done if str(body.get("text", "")).startswith("Sorry"))
    return {
        "papers": papers,
        "sent": concurrency,
        "answered": len(done),
        "errors": len(errors) + sorry,
        "within_3s": sum(1 for ack in acks if ack <= SLACK_DEADLINE_MS),
        "ack_p50": percentile(acks, 50),
        "ack_p99": percentile(acks, 99),
        "ack_max": max(acks, default=0.0),
        "reply_p50": percentile(replies, 50),
        "reply_p99": percentile(replies, 99),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def render(r: dict[str, object]) -> str:
    return "\n".join(
        [
            "# 500 slash commands at once",
            "",
            f"Real slack-bolt app over loopback HTTP, {r['papers']:,}-paper store, "
            f"{r['sent']} signed slash commands (searches, today, show) from as many users, "
            f"sent at once. {datetime.now(UTC):%Y-%m-%d}, Python {platform.python_version()}, "
            f"{platform.machine()}, 2 cores shared with other work.",
            "",
            "| sent | answered | errors | acked within 3 s | ack p50 / p99 / max (ms) "
            "| reply p50 / p99 (ms) | peak RSS (MB) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {r['sent']} | {r['answered']} | {r['errors']} | {r['within_3s']} "
            f"| {r['ack_p50']:.0f} / {r['ack_p99']:.0f} / {r['ack_max']:.0f} "
            f"| {r['reply_p50']:.0f} / {r['reply_p99']:.0f} | {r['rss_mb']:.0f} |",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="papers in the store")
    parser.add_argument("--concurrency", type=int, default=500, help="commands sent at once")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    cached = asyncio.run(ensure_store(args.size))
    with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp:
        db = Path(tmp) / "store.db"
        shutil.copy(cached, db)
        result = asyncio.run(run(db, args.concurrency))
    text = render(result)
    print(text)
    RESULTS.write_text(text)
    log.info("written to %s", RESULTS.relative_to(ROOT))


if __name__ == "__main__":
    main()
