"""Fan-out with 1, 2 and 3 ``papersbot run`` processes sharing one PostgreSQL database.

    .venv/bin/python bench/multiprocess.py [--channels 300] [--users 200] [--discord 100]
                                           [--no-write]

A real PostgreSQL 15 server (started here from the machine's binaries, tests/pg.py) holds
the store; N processes (Slack HTTP mode and Discord, exactly as ``papersbot run``) share
it. Seeded through the bot's own commands and all due at once: *channels* Slack channel
digests, *users* Slack DM subscriptions and *discord* Discord DM subscriptions. The fakes
enforce the platforms' limits: the Slack fake lets at most 2 posts into one channel in any
2 seconds (Slack: about one message per second per channel, short bursts allowed; 429 with
``Retry-After: 1`` beyond it) and answers each post after 50 ms; the Discord fake refuses a
bot token's requests beyond 50 in any one second (Discord's global limit, global 429).

Fan-out time is read from the ledger: from the first claim to the last ``sent_at``, per
platform. The rate-limit minimum is what the limits alone allow: for Slack, the busiest
channel's posts at 2 per 2 s; for Discord, its requests at 50 per second (a first DM is
two requests). Discord's gateway allows one session per bot, so one elected process runs
Discord and sends its posts (bot.cli.elected): more processes split the Slack fan-out, not
Discord's, which its global limit bounds anyway. Results: bench/multiprocess_results.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))  # tests.fakes is not an installed package

from bot.model.caller import Caller  # noqa: E402
from bot.service.papersbot import PapersBot  # noqa: E402
from bot.store import open_database  # noqa: E402
from tests.crash_seed import seed  # noqa: E402
from tests.fakes.clock import Clock  # noqa: E402
from tests.fakes.discord import FakeDiscord  # noqa: E402
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack  # noqa: E402
from tests.pg import PostgresServer, pg_binaries  # noqa: E402

RESULTS = ROOT / "bench" / "multiprocess_results.md"
SCRIPT = shutil.which("papersbot", path=str(Path(sys.executable).parent))
SLACK_BURST, SLACK_WINDOW = 2, 2.0
DISCORD_PER_SECOND = 50
POST_LATENCY = 0.05
FIRST_DISCORD_USER = 1300000000000000000


@dataclass(frozen=True, slots=True)
class Run:
    processes: int
    deliveries: int
    slack_s: float
    discord_s: float
    slack_floor_s: float
    discord_floor_s: float
    slack_429: int
    discord_429: int
    by_process: list[int]
    unsent: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _seed_discord(dsn: str, users: int, at: str, now: datetime) -> None:
    store = await open_database(dsn)
    try:
        bot = PapersBot(store=store, clock=Clock(now - timedelta(minutes=10)))
        for i in range(users):
            user = str(FIRST_DISCORD_USER + i)
            caller = Caller("discord", user, channel_id=None, workspace_id=None)
            reply = await bot.respond(f"subscribe model at {at} tz UTC daily", caller)
            assert not reply.is_error, reply.text
    finally:
        await store.close()


async def _ledger(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(
            await conn.fetch(
                "SELECT t.platform, t.address, d.state, d.claimed_at, d.sent_at, d.content "
                "FROM deliveries d JOIN targets t ON t.id = d.target_id"
            )
        )
    finally:
        await conn.close()


def _span(rows: list[asyncpg.Record], platform_name: str) -> float:
    mine = [r for r in rows if r["platform"] == platform_name and r["sent_at"]]
    if not mine:
        return 0.0
    start = min(datetime.fromisoformat(r["claimed_at"]) for r in mine)
    end = max(datetime.fromisoformat(r["sent_at"]) for r in mine)
    return (end - start).total_seconds()


async def _one(server: PostgresServer, processes: int, args: argparse.Namespace) -> Run:
    dsn = server.create_database()
    now = datetime.now(UTC)
    slack = FakeSlack()
    discord = FakeDiscord()
    await discord.start()
    work = Path(tempfile.mkdtemp(prefix="pbmp-"))
    procs: list[asyncio.subprocess.Process] = []
    async with slack:
        slack.ts_epoch = int(now.timestamp())
        slack.latency["chat.postMessage"] = POST_LATENCY
        slack.channel_limit = (SLACK_BURST, SLACK_WINDOW)
        discord.limit_requests(DISCORD_PER_SECOND)
        seeded = await seed(
            dsn, channels=args.channels, users=args.users, team=slack.team_id, now=now
        )
        await _seed_discord(dsn, args.discord, seeded.at, now)
        for channel in seeded.channels:
            slack.add_channel(channel)
        for user in seeded.users:
            slack.add_user(user)
        total = seeded.total + args.discord
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "DISCORD_", "PAPERSBOT_", "HF_"))
        }
        base.update(
            PAPERSBOT_DATABASE=dsn, PAPERSBOT_LOG_LEVEL="INFO", HF_API_URL="http://127.0.0.1:9",
            PAPERSBOT_HTTP_RETRIES="0", SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack.api_url,
            SLACK_HTTP_HOST="127.0.0.1", DISCORD_TOKEN="bench-token",
            DISCORD_API_URL=discord.api_url, DISCORD_GATEWAY_URL=discord.gateway_url,
            PYTHONUNBUFFERED="1",
        )  # fmt: skip
        try:
            assert SCRIPT is not None
            for n in range(processes):
                env = base | {"SLACK_HTTP_PORT": str(_free_port())}
                out = (work / f"p{n}.log").open("wb")
                procs.append(
                    await asyncio.create_subprocess_exec(
                        SCRIPT, "run", cwd=work, env=env, stdin=asyncio.subprocess.DEVNULL,
                        stdout=out, stderr=asyncio.subprocess.STDOUT,
                    )
                )  # fmt: skip
            async with asyncio.timeout(600):
                while True:
                    rows = await _ledger(dsn)
                    if len(rows) == total and all(
                        r["state"] in ("sent", "failed", "missed") for r in rows
                    ):
                        break
                    await asyncio.sleep(0.5)
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs:
                await proc.wait()
        posts = _posts_by_channel(slack)
    await discord.close()
    logs = [(work / f"p{n}.log").read_text(errors="replace") for n in range(processes)]
    shutil.rmtree(work, ignore_errors=True)
    server.drop_database(dsn)
    busiest = max(posts.values(), default=0)
    slack_floor = max(0, -(-busiest // SLACK_BURST) - 1) * SLACK_WINDOW
    discord_requests = sum(1 for r in discord.requests if r[3] != 429)
    return Run(
        processes=processes,
        deliveries=total,
        slack_s=_span(rows, "slack"),
        discord_s=_span(rows, "discord"),
        slack_floor_s=slack_floor,
        discord_floor_s=discord_requests / DISCORD_PER_SECOND,
        slack_429=slack.limited,
        discord_429=sum(1 for r in discord.requests if r[3] == 429),
        by_process=[_sent_in(log) for log in logs],
        unsent=sum(r["state"] != "sent" for r in rows),
    )


def _posts_by_channel(slack: FakeSlack) -> dict[str, int]:
    return {channel: len(messages) for channel, messages in slack.messages.items()}


def _sent_in(log: str) -> int:
    """Deliveries a process marked sent (each is logged as it happens)."""
    return len(re.findall(r" on (?:slack|discord): sent \(", log))


def _render(runs: list[Run], args: argparse.Namespace) -> str:
    load = os.getloadavg()
    lines = [
        "# Fan-out with several processes on one PostgreSQL database",
        "",
        f"`.venv/bin/python bench/multiprocess.py`, {datetime.now(UTC):%Y-%m-%d}. "
        f"{args.channels} Slack channel digests, {args.users} Slack DMs and {args.discord} "
        "Discord DMs, all due at once, sent by N `papersbot run` processes sharing one "
        "PostgreSQL 15 database (a local server, Unix socket). Slack fake: at most "
        f"{SLACK_BURST} posts per channel in any {SLACK_WINDOW:.0f} s (429 beyond), "
        f"{POST_LATENCY * 1000:.0f} ms per post; Discord fake: {DISCORD_PER_SECOND} "
        "requests/s per bot token (global 429 beyond). Fan-out time: first claim to last "
        "send, per platform, from the ledger. Floor: what the rate limits alone allow.",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        f"(shared; load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at the end), "
        f"Python {platform.python_version()}.",
        "",
        "| processes | deliveries | Slack fan-out | Slack floor | Slack ratio | Discord "
        "fan-out | Discord floor | Discord ratio | 429s (Slack / Discord) | sent by each "
        "process | not sent |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        # No channel over its burst: the limit allows the whole Slack fan-out at once.
        s_floor = f"{r.slack_floor_s:.1f} s" if r.slack_floor_s else "0 (no channel over its burst)"
        s_ratio = f"{r.slack_s / r.slack_floor_s:.2f}" if r.slack_floor_s else "—"
        d_ratio = r.discord_s / r.discord_floor_s if r.discord_floor_s else float("nan")
        lines.append(
            f"| {r.processes} | {r.deliveries} | {r.slack_s:.1f} s | {s_floor} "
            f"| {s_ratio} | {r.discord_s:.1f} s | {r.discord_floor_s:.1f} s | "
            f"{d_ratio:.2f} | {r.slack_429} / {r.discord_429} | "
            f"{' + '.join(map(str, r.by_process))} | {r.unsent} |"
        )
    lines += ["", *READING]
    return "\n".join(lines) + "\n"


READING = (
    "Reading. Exactly once in every run: every delivery sent, none twice (the crash test "
    "checks that at the fake; here the ledger says so). The split is even: each process "
    "claims a batch of targets at a time. The Slack side does not get faster with more "
    "processes on this machine: no channel receives more than its burst, so Slack's limits "
    "allow the whole fan-out at once, and the time goes to composing, rendering and HTTP in "
    "Python, on 2 cores that N processes and the PostgreSQL server share. More processes "
    "pay off where they bring cores (several machines) or when one process is held up by a "
    "platform; they are for failover and load-balanced commands first. Discord's side is "
    "sent by the one elected process that holds the gateway session, and its global limit "
    "of 50 requests/s sets its floor whatever the number of processes; the courier paces at "
    "48/s, and an odd 429 comes back when the event loop lets 51 requests into one second "
    "(discord.py waits it out).",
)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=300)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--discord", type=int, default=100)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    binaries = pg_binaries()
    if binaries is None:
        sys.exit("PostgreSQL server binaries (initdb, pg_ctl) are needed")
    with PostgresServer(binaries) as server:
        runs = [await _one(server, n, args) for n in args.processes]
    report = _render(runs, args)
    print(report)
    if not args.no_write:
        RESULTS.write_text(report)


if __name__ == "__main__":
    asyncio.run(main())
