"""Slack slash-command latency over real loopback HTTP, against a 100k-paper store.

    .venv/bin/python bench/slack_latency.py [--size 100000] [--runs 40]

The real Slack adapter (slack-bolt ``AsyncApp`` behind its aiohttp server) runs against
the loopback fake Slack from ``tests/fakes/slack``. Each request is a real signed
``/papers`` slash command (or a signed ``block_actions`` press of "More") sent over HTTP;
two times are measured from just before the request is sent:

* **ack**: until the HTTP response (Bolt's acknowledgement) is back at the client;
* **reply**: until the rendered reply reaches the fake's ``response_url`` sink.

Requests go one at a time, each after the previous reply arrived, except the last two rows:
bursts of 20 searches sent at once by 20 users (the acks must not wait for the work). One
burst row asks searches already asked in this run, which the bot remembers the ranking of
(``bot.search.remembered``); the other asks dev-set queries never asked before, so every
one is matched and scored. The bot process's CPU time per request (user + system, from
``/proc``) is reported beside the latencies: a burst cannot answer sooner than its CPU.
The bot (adapter, core, store) runs in a process of its own, as in production; the client
and the fake Slack share this one, so the fake's Block Kit validation and the client's
signing do not take the bot's CPU. There is no network: loopback only. The store is the
synthetic corpus ``bench/search.py`` builds (cached in bench/.cache/; built here if
missing), copied to a temporary directory so saved searches do not touch the cache.
Prints a Markdown table and writes bench/slack_results.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import quality  # noqa: E402  (bench/quality.py: the dev set)
import search as search_bench  # noqa: E402  (bench/search.py: the corpus cache and builder)

from adapters.slack import EVENTS_PATH, open_slack  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.service.papersbot import PapersBot  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.fakes.slack import (  # noqa: E402
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    action_form,
    command_form,
    signed_post,
)

RESULTS = ROOT / "bench" / "slack_results.md"
WARMUP = 5
BURST = 20  # concurrent commands from different users in the burst row
COMMANDS = {
    "today": ["today", "today 10"],
    "search (first page)": [f"search {q}" for q in search_bench.COMMON],
    "show": [],  # filled with real ids from the store
    "help": ["help", "help search"],
}

log = logging.getLogger("bench")
Timings = dict[str, tuple[list[float], list[float], float]]  # acks, replies, bot CPU/request


def cpu_ms(pid: int) -> float:
    """User + system CPU time of process *pid* so far, in ms (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def unseen_queries() -> list[str]:
    """Dev-set queries, none of which the other rows ask."""
    dev = quality.load_dev(search_bench.DATA / "search_dev.json")
    asked = set(search_bench.COMMON) | {"diffusion"}
    return [q for q in quality.query_kinds(dev) if q not in asked]


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of *values* (ms)."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


async def ensure_store(size: int) -> Path:
    path = search_bench.store_path(size)
    if not path.exists():
        log.info("building a synthetic store of %d papers (cached for next time) ...", size)
        search_bench.CACHE.mkdir(parents=True, exist_ok=True)
        await search_bench.child_build(size, path)
    return path


class Client:
    """Sends signed requests and times them against the fake's response_url sink."""

    def __init__(self, http: aiohttp.ClientSession, url: str, slack: FakeSlack) -> None:
        self.http, self.url, self.slack, self.count = http, url, slack, 0

    async def send(self, form_for: object) -> tuple[float, float, dict[str, object]]:
        self.count += 1
        rid = f"B{self.count}"
        # A different user each time: the core's per-user budget would otherwise say "slow down".
        user = f"UB{self.count:06d}"
        form = form_for(self.slack.response_url(rid), user)  # type: ignore[operator]
        start = time.perf_counter()
        status, _, ack = await signed_post(self.http, self.url, form)
        assert status == 200, status
        [body] = await self.slack.wait_responses(rid, within=30)
        reply = next(r.at for r in self.slack.responses if r.url_id == rid) - start
        return ack * 1000, reply * 1000, body

    async def command(self, text: str) -> tuple[float, float, dict[str, object]]:
        return await self.send(lambda url, user: command_form(text, response_url=url, user=user))

    async def more(self, value: str) -> tuple[float, float, dict[str, object]]:
        return await self.send(
            lambda url, user: action_form("papers_more", value, response_url=url, user=user)
        )


def more_value(body: dict[str, object]) -> str | None:
    for block in body.get("blocks", []):  # type: ignore[attr-defined]
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element["action_id"] == "papers_more":
                return str(element["value"])
    return None


async def serve(db: Path, api_url: str) -> None:
    """The bot's process: the Slack adapter on *db*, talking to the fake at *api_url*.
    Prints ``READY <events url> <count> <paper ids>`` and runs until stdin closes."""
    store = await Store.open(db)
    papers = await store.papers.count()
    ids = [sp.paper.id for sp in await store.papers.for_day(await store.papers.latest_day())]  # type: ignore[arg-type]
    bot = PapersBot(store=store, clock=search_bench.running_clock())
    settings = load_settings(
        None,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_app_token=None,
        slack_api_url=api_url,
        slack_http_host="127.0.0.1",
        slack_http_port=0,
    )
    try:
        async with open_slack(bot, settings) as rt:
            print("READY", f"{rt.url}{EVENTS_PATH}", papers, ",".join(ids[:20]), flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await store.close()


async def measure(db: Path, runs: int) -> tuple[Timings, int]:
    async with FakeSlack() as slack:
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve", str(db), slack.api_url,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert child.stdout is not None
        assert child.stdin is not None
        try:
            line = (await child.stdout.readline()).decode().split()
            assert line[:1] == ["READY"], line
            url, papers, ids = line[1], int(line[2]), line[3].split(",")
            COMMANDS["show"] = [f"show {pid}" for pid in ids]
            return await _measure(slack, url, runs, lambda: cpu_ms(child.pid)), papers
        finally:
            child.stdin.close()
            await child.wait()


async def _measure(slack: FakeSlack, url: str, runs: int, cpu: Callable[[], float]) -> Timings:
    results: Timings = {}
    async with aiohttp.ClientSession() as http:
        client = Client(http, url, slack)
        for text in ["today", "search diffusion", "help"] * WARMUP:
            await client.command(text)
        for kind, texts in COMMANDS.items():
            acks: list[float] = []
            replies: list[float] = []
            before = cpu()
            for i in range(runs):
                ack, reply, _ = await client.command(texts[i % len(texts)])
                acks.append(ack)
                replies.append(reply)
            results[kind] = (acks, replies, (cpu() - before) / runs)
        acks, replies = [], []
        before = cpu()
        for i in range(runs):
            _, _, body = await client.command(f"search {search_bench.COMMON[i % 5]}")
            value = more_value(body)
            assert value is not None, body
            ack, reply, _ = await client.more(value)
            acks.append(ack)
            replies.append(reply)
        results["More (next page)"] = (acks, replies, (cpu() - before) / (2 * runs))
        unseen = unseen_queries()
        bursts = {
            f"search, {BURST} at once, asked before": lambda i: search_bench.COMMON[i : i + BURST],
            f"search, {BURST} at once, never asked": lambda i: unseen[i * BURST : (i + 1) * BURST],
        }
        for name, pick in bursts.items():
            acks, replies = [], []
            before = cpu()
            for i in range(max(1, runs // BURST)):
                texts = [f"search {q}" for q in pick(i)]
                assert len(texts) == BURST, "not enough queries for a burst"
                for ack, reply, _ in await asyncio.gather(*map(client.command, texts)):
                    acks.append(ack)
                    replies.append(reply)
            results[name] = (acks, replies, (cpu() - before) / len(acks))
    return results


def render(results: Timings, papers: int, runs: int) -> str:
    all_acks = [a for acks, _, _ in results.values() for a in acks]
    all_replies = [r for _, replies, _ in results.values() for r in replies]
    lines = [
        "# Slack slash-command latency",
        "",
        f"Real slack-bolt app over loopback HTTP, {papers:,}-paper store, {runs} requests per "
        f"row, one at a time (the burst rows: {BURST} at once); signed request in → ack out, "
        "and → reply at the response_url; the bot process's CPU time per request.",
        f"Target: ack p99 < 50 ms, reply p99 < 300 ms; {BURST} searches at once, reply p99 < "
        f"100 ms. {datetime.now(UTC):%Y-%m-%d}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores.",
        "",
        "| request | n | ack p50 (ms) | ack p99 (ms) | reply p50 (ms) | reply p99 (ms) "
        "| bot CPU per request (ms) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, (acks, replies, cpu) in results.items():
        lines.append(
            f"| {name} | {len(acks)} | {percentile(acks, 50):.1f} | {percentile(acks, 99):.1f}"
            f" | {percentile(replies, 50):.1f} | {percentile(replies, 99):.1f} | {cpu:.1f} |"
        )
    lines.append(
        f"| **all** | {len(all_acks)} | {percentile(all_acks, 50):.1f} | "
        f"{percentile(all_acks, 99):.1f} | {percentile(all_replies, 50):.1f} | "
        f"{percentile(all_replies, 99):.1f} | |"
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="papers in the store")
    parser.add_argument("--runs", type=int, default=40, help="requests per row")
    parser.add_argument("--serve", nargs=2, metavar=("DB", "API_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    if args.serve:
        asyncio.run(serve(Path(args.serve[0]), args.serve[1]))
        return
    log.setLevel(logging.INFO)
    cached = asyncio.run(ensure_store(args.size))
    with tempfile.TemporaryDirectory(prefix="slack-bench-") as tmp:
        db = Path(tmp) / "store.db"
        shutil.copy(cached, db)
        log.info("timing %d requests per row on %s ...", args.runs, cached.name)
        results, papers = asyncio.run(measure(db, args.runs))
    text = render(results, papers, args.runs)
    print(text)
    RESULTS.write_text(text)
    log.info("written to %s", RESULTS.relative_to(ROOT))


if __name__ == "__main__":
    main()
