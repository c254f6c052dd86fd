"""Discord interaction latency over loopback, for ``/papers search`` on a 100k-paper store.

    .venv/bin/python bench/discord_latency.py [--size 100000] [--passes 3]

Latency is what Discord's 3-second deadline measures: from the moment the fake gateway
(``tests/fakes/discord.py``) sends ``INTERACTION_CREATE`` to the moment the interaction
callback's body has arrived at the fake REST server. In between: the real discord.py client
parsing the event, the CommandTree, the adapter (typed options → ``Search``), the core (parse,
FTS5 search, ranking, cards, saving the search for "More"), rendering the embeds and buttons,
and discord.py's HTTP request. Everything runs in one process and event loop on 127.0.0.1, so
the network is free and the fake's own work (JSON, schema validation after the timestamp) is
included only where it delays the next event. Interactions run one at a time.

The store is ``bench/search.py``'s cached synthetic corpus (``bench/corpus.py``: the real
archive plus papers recombined from it), built with its builder into ``bench/.cache/`` when
missing, and copied to a temporary folder so the saved searches do not touch the cache. The
queries are ``bench/search.py``'s: the 160 of ``search_dev.json`` and 24 common ones.
Prints a Markdown report and writes it to ``bench/discord_results.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import quality
import report
import search as search_bench  # bench/search.py: its store cache, queries and machine table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(1, str(ROOT))  # tests.fakes is not an installed package

import adapters.discord  # noqa: E402, F401  (first: it imports discord.py without a warning)
from bot.grammar.commands import Search  # noqa: E402
from bot.model.caller import Caller  # noqa: E402
from bot.search import remembered  # noqa: E402
from bot.service.limits import CommandBudget  # noqa: E402
from bot.service.papersbot import PapersBot  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.fakes.discord import FakeDiscord, Interaction, connected  # noqa: E402

RESULTS = ROOT / "bench" / "discord_results.md"
TARGET_P99_MS = 50.0

log = logging.getLogger("bench")


def queries() -> list[str]:
    dev = quality.load_dev(search_bench.DATA / "search_dev.json")
    return [*quality.query_kinds(dev), *search_bench.COMMON]


def cached_store(size: int) -> Path:
    """bench/search.py's store of *size* papers, built by its own builder if missing."""
    db = search_bench.store_path(size)
    if not db.exists():
        log.info("building a synthetic store of %d papers with bench/search.py ...", size)
        search_bench.CACHE.mkdir(parents=True, exist_ok=True)
        out = search_bench.CACHE / f"build-{size}.json"
        script = Path(search_bench.__file__)
        cmd = [sys.executable, str(script), "--child", "build", str(size), "--out", str(out)]
        subprocess.run(cmd, check=True)
        out.unlink(missing_ok=True)
    return db


async def timed(fake: FakeDiscord, sub: str, **options: Any) -> Interaction:
    ix = await fake.answered(await fake.slash(sub, **options))
    assert ix.callback is not None, "no callback"
    return ix


async def measure(db: Path, texts: list[str], passes: int) -> dict[str, Any]:
    """One untimed pass over every query, then *passes* × (end-to-end pass, core-only pass)."""
    store = await Store.open(db)
    papers = await store.papers.count()
    # One fake user sends every command: lift the core's per-user flood limit.
    unlimited = CommandBudget(burst=10**9, per_minute=10**9)
    bot = PapersBot(store=store, clock=search_bench.running_clock(), budget=unlimited)
    caller = Caller(platform="discord", user_id="1")
    samples: dict[str, list[float]] = {"search": [], "core": [], "today": [], "help": []}
    by_query: dict[str, list[float]] = {text: [] for text in texts}
    deferred = 0
    try:
        async with connected(bot) as (fake, _):
            for text in texts:
                await timed(fake, "search", query=text)
            for _ in range(passes):
                for text in texts:
                    ix = await timed(fake, "search", query=text)
                    deferred += ix.callback is not None and ix.callback["type"] == 5
                    samples["search"].append(ix.latency * 1000)
                    by_query[text].append(ix.latency * 1000)
                for text in texts:
                    t0 = time.perf_counter()
                    await bot.run_command(Search(text), caller)
                    samples["core"].append((time.perf_counter() - t0) * 1000)
                for _ in range(20):
                    samples["today"].append((await timed(fake, "today")).latency * 1000)
                    samples["help"].append((await timed(fake, "help")).latency * 1000)
            assert fake.rejected == [], fake.rejected
            errors = [m["content"] for m in fake.sent if m.get("content", "").startswith("⚠️")]
            assert errors == [], errors[:3]
    finally:
        await store.close()
    slowest = sorted(by_query.items(), key=lambda kv: -statistics.median(kv[1]))[:5]
    return {"papers": papers, "samples": samples, "deferred": deferred, "slowest": slowest}


def render(result: dict[str, Any], texts: list[str], passes: int) -> str:
    machine = search_bench.machine()
    rows = [
        ("`/papers search <query>` end to end", "search", TARGET_P99_MS),
        ("core only: `run_command(Search)` (parse, search, cards, save)", "core", None),
        ("`/papers today` end to end", "today", None),
        (
            "`/papers help` end to end (no store work: adapter + discord.py + loopback)",
            "help",
            None,
        ),
    ]
    lines = [
        "# Discord interaction latency",
        "",
        f"`.venv/bin/python bench/discord_latency.py`, {date.today().isoformat()}. "
        "INTERACTION_CREATE sent by the fake gateway → interaction callback received by the "
        "fake REST server; real discord.py 2.7 client and adapter; one process, 127.0.0.1, "
        f"one interaction at a time. One untimed pass over the "
        f"{len(texts)} queries (bench/search.py's dev and common ones), then {passes} timed "
        "passes, each end to end and then core only. The bot remembers its last "
        f"{remembered.ENTRIES} rankings (bot.search.remembered); asked in turn, the "
        f"{len(texts)} queries evict each one before it comes again, so every timed search "
        "is matched and scored afresh.",
        "",
        "| " + " | ".join(machine) + " |",
        "|" + "---|" * len(machine),
        "| " + " | ".join(machine.values()) + " |",
        "",
        f"| measure ({result['papers']:,} papers) | runs | p50 ms | p99 ms | max ms | target |",
        "|---|---|---|---|---|---|",
    ]
    for label, key, target in rows:
        values = result["samples"][key]
        p99 = report.percentile(values, 99)
        mark = "" if target is None else f"p99 < {target:.0f} ms" + report._mark(p99, target)
        lines.append(
            f"| {label} | {len(values)} | {report.percentile(values, 50):.1f} | {p99:.1f} "
            f"| {max(values):.1f} | {mark} |"
        )
    lines += ["", "Slowest queries end to end (median of the timed runs):", ""]
    lines += ["| query | median ms | max ms |", "|---|---|---|"]
    for text, values in result["slowest"]:
        lines.append(f"| `{text}` | {statistics.median(values):.1f} | {max(values):.1f} |")
    load = result.get("load", (0.0, 0.0, 0.0))
    lines += [
        "",
        f"Load average (1/5/15 min) when the run started: {load[0]:.2f} / {load[1]:.2f} / "
        f"{load[2]:.2f} on {machine['cores']} cores; tails move with other work on the machine.",
        "",
        f"Deferred answers (core slower than 1 s, so a type-5 defer went first): "
        f"{result['deferred']}. Percentiles are nearest-rank.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="papers in the store")
    parser.add_argument("--passes", type=int, default=3, help="timed passes over the queries")
    parser.add_argument("--no-write", action="store_true", help=f"only print, keep {RESULTS.name}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    texts = queries()
    source = cached_store(args.size)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(dir=search_bench.CACHE) as tmp:
        db = Path(tmp) / "store.db"
        shutil.copy(source, db)
        log.info("timing %d interactions on %s ...", args.passes * len(texts), source.name)
        result = asyncio.run(measure(db, texts, args.passes)) | {"load": load}
    text = render(result, texts, args.passes)
    print(text)
    (search_bench.CACHE / "discord-last-run.json").write_text(json.dumps(result))
    if not args.no_write:
        RESULTS.write_text(text)
        log.info("written to %s", RESULTS.relative_to(ROOT))


if __name__ == "__main__":
    main()
