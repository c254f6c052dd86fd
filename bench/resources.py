"""RSS and CPU of a real ``papersbot run``: idle, then during a 10,000-subscriber fan-out.

    .venv/bin/python bench/resources.py [--users 10000] [--idle 60]

The bot runs as the installed ``papersbot run`` process, Discord only, with the operations
server on; this process hosts the fake Discord (``tests/fakes/discord.py``), enforcing
Discord's global limit of 50 requests/s per bot token, and samples the bot's
``/proc/<pid>`` once a second: resident memory (``VmRSS``) and CPU time (user + system).

The store holds the recorded archive (8,824 papers, as two years of Daily Papers would)
plus the bundled snapshot's newest day (2026-08-19, after the archive) relabelled today,
and ``--users`` DM subscriptions of as many distinct Discord users, all to ``model`` (so
every one has papers to get), all due at the same minute a little after ``--idle``
seconds of idling. Every DM is a user's first (two requests: open the DM channel, post).
Reported: RSS and CPU idle, RSS peak and CPU during the fan-out, how long it took, what
the fake received, and the database's growth per delivery (ledger row, content, papers
sent). Writes ``bench/resources_results.md`` for a full run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import bundled_snapshot  # noqa: E402
from bot.sources.ingest import Ingestor  # noqa: E402
from bot.sources.snapshot import SnapshotSource  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.records import IngestRun  # noqa: E402
from tests.bot.ops.promtext import value  # noqa: E402
from tests.fakes.discord import FakeDiscord  # noqa: E402

ARCHIVE = ROOT.parent / "shared" / "data" / "hf_daily_archive.jsonl.gz"
RESULTS = ROOT / "bench" / "resources_results.md"
SCRIPT = shutil.which("papersbot", path=str(Path(sys.executable).parent))
FIRST_USER = 1300000000000000000
FULL_RUN = 10_000
TICK = os.sysconf("SC_CLK_TCK")
NOTE = (
    "The fake's 429s are the benchmark's: it validates every payload against Discord's "
    "schemas in this process, on the same busy cores, so requests reach its one-second "
    "window in bunches. With that validation switched off, 1,500 DMs drew 2 429s instead of "
    "147 (2026-12-04, same pacing and elapsed time). discord.py sleeps each one out."
)


async def build(path: Path, users: int, fire: datetime) -> int:
    """The store: archive + today's papers + *users* subscriptions due at *fire*."""
    now = datetime.now(UTC)
    store = await Store.open(path)
    try:
        await Ingestor(store=store, clock=lambda: now).from_file(ARCHIVE)
        *_, (_, newest) = SnapshotSource(bundled_snapshot()).days()  # not in the archive
        today = [
            replace(p, daily_day=now.date(), published=now - timedelta(days=1)) for p in newest
        ]
        await store.papers.upsert(today, seen_at=now - timedelta(hours=1))
        await store.runs.record(IngestRun("hf", now.date(), now, now, True, len(today), None))
        conn = store._conn  # bulk set-up, as bench/delivery.py does
        await conn.executemany(
            "INSERT INTO targets (id, platform, workspace, kind, address) "
            "VALUES (?, 'discord', '', 'user', ?)",
            [(i + 1, str(FIRST_USER + i)) for i in range(users)],
        )
        await conn.executemany(
            "INSERT INTO subscriptions (id, target_id, query, at, tz, cadence, weekday, "
            "created_at, next_fire) VALUES (?, ?, 'model', ?, 'UTC', 'daily', 0, ?, ?)",
            [
                (
                    i + 1,
                    i + 1,
                    fire.strftime("%H:%M"),
                    (now - timedelta(days=2)).isoformat(),
                    fire.isoformat(),
                )
                for i in range(users)
            ],
        )
        await conn.commit()
        return sum(1 for p in today if "model" in p.title.lower())
    finally:
        await store.close()


@dataclass
class Sample:
    at: float  # monotonic seconds
    rss: int  # bytes
    cpu: float  # seconds of CPU so far


def sample(pid: int) -> Sample:
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return Sample(time.monotonic(), rss, cpu)


@dataclass
class Phase:
    samples: list[Sample] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.samples[-1].at - self.samples[0].at if len(self.samples) > 1 else 0.0

    @property
    def cpu_percent(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        return 100 * (self.samples[-1].cpu - self.samples[0].cpu) / self.seconds

    @property
    def rss_median_mb(self) -> float:
        return statistics.median(s.rss for s in self.samples) / 1e6

    @property
    def rss_peak_mb(self) -> float:
        return max(s.rss for s in self.samples) / 1e6


@dataclass
class Result:
    ready_after: float
    idle: Phase
    fan: Phase
    sent: float
    delivered: float
    requests: Counter[int]
    db_growth: int
    matching: int


async def metrics(http: aiohttp.ClientSession, base: str) -> str:
    try:
        async with http.get(f"{base}/metrics") as resp:
            return await resp.text()
    except aiohttp.ClientError:
        return ""


def delivered(text: str) -> float:
    return sum(
        value(text, "papersbot_deliveries_total", platform="discord", kind="dm", state=s) or 0
        for s in ("sent", "silent", "failed", "missed")
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_env(db: Path, fake: FakeDiscord, port: int) -> dict[str, str]:
    """Discord only against *fake*, the operations server on *port*, no Hugging Face."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(
        PAPERSBOT_DATABASE=str(db),
        HF_API_URL="http://127.0.0.1:9",
        PAPERSBOT_HTTP_RETRIES="0",
        DISCORD_TOKEN="bench-token",
        DISCORD_API_URL=fake.api_url,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        PAPERSBOT_HEALTH_PORT=str(port),
    )
    return env


async def until_ready(http: aiohttp.ClientSession, base: str) -> None:
    while True:
        try:
            async with http.get(f"{base}/readyz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.5)


async def watch(pid: int, base: str, fire: datetime, users: int) -> tuple[float, Phase, Phase, str]:
    """Sample *pid* idle until *fire*, then until every DM is delivered; returns the seconds
    until ready, both phases and the last ``/metrics`` text."""
    idle, fan = Phase(), Phase()
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        await until_ready(http, base)
        ready_after = time.monotonic() - started
        await asyncio.sleep(5)  # the catch-up pass and start-up settle
        while datetime.now(UTC) < fire - timedelta(seconds=3):
            idle.samples.append(sample(pid))
            await asyncio.sleep(1)
        await asyncio.sleep(max(0.0, (fire - datetime.now(UTC)).total_seconds()))
        fan.samples.append(sample(pid))
        text = ""
        while delivered(text) < users:
            await asyncio.sleep(1)
            fan.samples.append(sample(pid))
            text = await metrics(http, base)
    return ready_after, idle, fan, text


async def measure(users: int, idle: float, tmp: Path) -> Result:
    fire = (datetime.now(UTC) + timedelta(seconds=idle + 90)).replace(second=0, microsecond=0)
    db = tmp / "bench.db"
    matching = await build(db, users, fire)
    size_before = db.stat().st_size
    fake = FakeDiscord()
    await fake.start()
    fake.limit_requests(50)
    port = free_port()
    assert SCRIPT is not None
    with open(tmp / "bot.log", "wb") as log:  # noqa: ASYNC230 (set-up, before timing)
        proc = await asyncio.create_subprocess_exec(
            SCRIPT,
            "run",
            cwd=tmp,
            env=bot_env(db, fake, port),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        try:
            ready_after, idle_phase, fan_phase, text = await watch(
                proc.pid, f"http://127.0.0.1:{port}", fire, users
            )
        finally:
            proc.terminate()
            await proc.wait()
            await fake.close()
    sent = value(text, "papersbot_deliveries_total", platform="discord", kind="dm", state="sent")
    return Result(
        ready_after=ready_after,
        idle=idle_phase,
        fan=fan_phase,
        sent=sent or 0,
        delivered=delivered(text),
        requests=Counter(status for *_, status in fake.requests),
        db_growth=db.stat().st_size - size_before,
        matching=matching,
    )


def render(users: int, r: Result) -> str:
    idle, fan = r.idle, r.fan
    growth = r.db_growth / max(1.0, r.delivered)
    statuses = ", ".join(f"{n:,} × {s}" for s, n in sorted(r.requests.items()))
    rows = [
        ("ready (`/readyz` 200) after start", f"{r.ready_after:.1f} s"),
        ("idle: RSS (median)", f"{idle.rss_median_mb:.0f} MB"),
        ("idle: CPU", f"{idle.cpu_percent:.1f} % of one core over {idle.seconds:.0f} s"),
        (f"fan-out: {users:,} first DMs, elapsed", f"{fan.seconds:.0f} s"),
        ("fan-out: RSS peak (median)", f"{fan.rss_peak_mb:.0f} MB ({fan.rss_median_mb:.0f} MB)"),
        ("fan-out: CPU", f"{fan.cpu_percent:.1f} % of one core"),
        ("DMs sent", f"{int(r.sent):,} of {users:,}"),
        ("requests the fake received", statuses),
        ("database growth per delivery (ledger row, content, papers sent)", f"{growth:.0f} bytes"),
    ]
    return "\n".join(
        [
            "# Resources of `papersbot run` (bench/resources.py)",
            "",
            f"`.venv/bin/python bench/resources.py`, {date.today().isoformat()}. The installed "
            "`papersbot run` process, Discord only, sampled once a second from `/proc`; the "
            "fake Discord (in the benchmark's process, not counted) enforces 50 requests/s. "
            f"Store: the recorded archive plus today's papers; {users:,} DM subscriptions of "
            f"distinct users to `model` ({r.matching} of today's papers match), all due "
            "the same minute; every DM is a first one. 2 shared cores (other work running).",
            "",
            "| measure | value |",
            "|---|---|",
            *(f"| {label} | {val} |" for label, val in rows),
            "",
            NOTE,
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=FULL_RUN)
    parser.add_argument("--idle", type=float, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(measure(args.users, args.idle, Path(tmp)))
    text = render(args.users, result)
    print(text)
    if args.users == FULL_RUN:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
