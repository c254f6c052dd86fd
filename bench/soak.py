"""Soak benchmark: a simulated week of DM subscriptions and channel digests (not CI).

    .venv/bin/python bench/soak.py [--subscribers 10000] [--channels 300] [--days 7]

A real store holds the recorded archive up to the day before the window; the archive's
recorded days inside the window are "published" at 06:00 UTC on their own day. Subscribers
(one Slack user each) subscribe through the real command path (``PapersBot.respond``) with
queries from bench/matching.py's realistic mix, at quarter hours in ten time zones, 60 %
daily, 30 % weekdays, 10 % weekly; channels turn on digests the same way. The real
dispatcher then steps through the window every 5 simulated minutes against a courier that
accepts instantly, except:

- 1 % of sends fail transiently (retried with back-off);
- a one-hour platform outage on the third day (every send fails transiently);
- a restart at the start of the fifth day (the store is closed and opened again, and a new
  dispatcher with an empty matcher takes over).

Checked at the end: every fire that fell due is in the ledger exactly once, none missed, no
delivery key sent twice, no paper sent twice to the same target; current RSS is sampled at
every simulated midnight (memory flat = the last day's RSS close to the first's).
Prints a Markdown report and writes bench/soak_results.md.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import sys
import tempfile
import time as timer
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.matching import ARCHIVE, load, make_queries
from bot.delivery.courier import SendResult, SendStatus
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.simulate import PUBLISH_AT, split_snapshot
from bot.model.caller import Caller
from bot.model.delivery import DeliveryKey, Target
from bot.model.replies import Reply
from bot.service.papersbot import PapersBot
from bot.sources.snapshot import SnapshotSource
from bot.store import Store
from bot.store.records import IngestRun

RESULTS = Path(__file__).resolve().parent / "soak_results.md"
STEP = timedelta(minutes=5)
ZONES = (
    "UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles",
    "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo", "Asia/Shanghai",
)  # fmt: skip
CADENCES = ("daily",) * 6 + ("weekdays",) * 3 + ("weekly",)
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass
class Faulty:
    """Accepts instantly, but for 1 % transient failures and the outage window."""

    clock: SimClock
    outage: tuple[datetime, datetime]
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    platform: str = "slack"
    sent: Counter[tuple[str, str]] = field(default_factory=Counter)  # (target, key) -> sends
    papers: Counter[tuple[str, str]] = field(default_factory=Counter)  # (target, paper)
    refused: int = 0

    async def send(self, target: Target, reply: Reply, key: DeliveryKey) -> SendResult:
        start, end = self.outage
        if start <= self.clock.now < end or self.rng.random() < 0.01:
            self.refused += 1
            return SendResult(SendStatus.RETRY, detail="503 from the fake", retry_after=60)
        self.sent[(target.address, str(key))] += 1
        for card in reply.cards:
            self.papers[(target.address, card.paper_id)] += 1
        return SendResult(SendStatus.SENT, str(sum(self.sent.values())))

    async def find_sent(self, target: Target, key: DeliveryKey, since: datetime) -> str | None:
        return "found" if self.sent[(target.address, str(key))] else None


@dataclass
class SimClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Plan:
    at: str
    tz: str
    cadence: str
    weekday: int

    def words(self) -> str:
        weekly = f" {DAYS[self.weekday]}" if self.cadence == "weekly" else ""
        return f"at {self.at} tz {self.tz} {self.cadence}{weekly}"

    def fires(self, start: datetime, end: datetime) -> int:
        """How many times this schedule falls due in (start, end], computed independently."""
        zone, count = ZoneInfo(self.tz), 0
        hour, minute = map(int, self.at.split(":"))
        day = (start - timedelta(days=2)).date()
        while day <= (end + timedelta(days=2)).date():
            due = datetime.combine(day, time(hour, minute), zone).astimezone(UTC)
            ok = {"daily": True, "weekdays": day.weekday() < 5}.get(
                self.cadence, day.weekday() == self.weekday
            )
            count += ok and start < due <= end
            day += timedelta(days=1)
        return count


def rss_now_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def setup(store: Store, now: datetime, subscribers: int, channels: int) -> list[Plan]:
    """The archive up to the start, then every subscription and digest through commands."""
    start_day = now.date()
    for day, batch in SnapshotSource(ARCHIVE).days():
        if day is not None and day <= start_day:
            await store.papers.upsert(batch, seen_at=datetime.combine(day, PUBLISH_AT, UTC))
    await store.runs.record(IngestRun("snapshot", start_day, now, now, True, 0, None))
    bot = PapersBot(store=store, clock=lambda: now)
    rng = random.Random(11)
    history, _ = load()
    plans: list[Plan] = []
    for i, (query, _) in enumerate(make_queries(history, subscribers)):
        plan = Plan(f"{rng.randrange(24):02d}:{rng.choice((0, 15, 30, 45)):02d}",
                    rng.choice(ZONES), rng.choice(CADENCES), rng.randrange(7))  # fmt: skip
        caller = Caller("slack", f"U{i:06d}", workspace_id="T1")
        await _ok(bot, f"subscribe {query} {plan.words()}", caller)
        plans.append(plan)
    for i in range(channels):
        plan = Plan(f"{rng.randrange(7, 11):02d}:00", rng.choice(ZONES), "weekdays", 0)
        caller = Caller(
            "slack", f"UADM{i:05d}", channel_id=f"C{i:05d}", workspace_id="T1", can_manage=True
        )
        await _ok(bot, f"digest on {plan.words()} top 5", caller)
        plans.append(plan)
    return plans


async def _ok(bot: PapersBot, text: str, caller: Caller) -> None:
    reply = await bot.respond(text, caller)
    if reply.is_error:
        raise SystemExit(f"setup command failed: {text!r}: {reply.text}")


async def soak(path: Path, args: argparse.Namespace) -> dict[str, object]:
    start_day, held = split_snapshot(ARCHIVE, timedelta(days=args.days))
    clock = SimClock(datetime.combine(start_day, time(12, 0), UTC))
    begin, end = clock.now, clock.now + timedelta(days=args.days)
    outage = (begin + timedelta(days=2, hours=2), begin + timedelta(days=2, hours=3))
    restart_at = begin + timedelta(days=4)
    courier = Faulty(clock, outage)
    source = SnapshotSource(ARCHIVE)
    store = await Store.open(path)
    t0 = timer.perf_counter()
    plans = await setup(store, clock.now, args.subscribers, args.channels)
    setup_s, t1 = timer.perf_counter() - t0, timer.perf_counter()
    dispatcher = Dispatcher(store, clock, {"slack": courier})
    rss: list[float] = [rss_now_mb()]
    totals: Counter[str] = Counter()
    while clock.now < end:
        clock.now += STEP
        if clock.now.time() == PUBLISH_AT and clock.now.date() in held:
            batch = await source.daily(clock.now.date())
            await store.papers.upsert(batch, seen_at=clock.now)
            await store.runs.record(
                IngestRun(
                    "snapshot", clock.now.date(), clock.now, clock.now, True, len(batch), None
                )
            )
        if clock.now == restart_at:
            await store.close()
            store = await Store.open(path)
            dispatcher = Dispatcher(store, clock, {"slack": courier})
        report = await dispatcher.tick()
        for name in ("planned", "missed", "sent", "silent", "retrying", "failed"):
            totals[name] += getattr(report, name)
        if clock.now.time() == time(0, 0):
            rss.append(rss_now_mb())
    states = dict(await _states(store))
    await store.close()
    expected = sum(plan.fires(begin, end) for plan in plans)
    return {
        "setup_s": setup_s, "run_s": timer.perf_counter() - t1, "expected": expected,
        "totals": totals, "states": states, "rss": rss, "refused": courier.refused,
        "keys_twice": sum(1 for n in courier.sent.values() if n > 1),
        "papers_twice": sum(1 for n in courier.papers.values() if n > 1),
        "sent_keys": len(courier.sent), "held": held, "begin": begin,
    }  # fmt: skip


async def _states(store: Store) -> list[tuple[str, int]]:
    conn = store._conn  # a read for the report only
    async with conn.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state") as cur:
        return [(row[0], row[1]) async for row in cur]


def report(r: dict[str, object], args: argparse.Namespace) -> str:
    states: dict[str, int] = r["states"]  # type: ignore[assignment]
    rss: list[float] = r["rss"]  # type: ignore[assignment]
    held: list[date] = r["held"]  # type: ignore[assignment]
    rows = sum(states.values())
    by_state = ", ".join(f"{k} {v:,}" for k, v in sorted(states.items()))
    lines = [
        "# Soak benchmark (bench/soak.py)",
        "",
        f"{args.subscribers:,} DM subscribers and {args.channels} channel digests over "
        f"{args.days} simulated days from {r['begin']:%a %d %b %Y %H:%M} UTC, 5-minute ticks; "
        f"recorded days published: {', '.join(f'{d:%a %d %b}' for d in held)}. Faults: 1 % "
        "transient send failures, a one-hour outage on day 3, a restart at the start of "
        f"day 5. Machine: {platform.machine()}, Python {platform.python_version()}.",
        "",
        "| measure | result |",
        "|---|---|",
        f"| set-up through commands | {r['setup_s']:.1f} s |",
        f"| simulated week | {r['run_s']:.1f} s |",
        f"| fires due (computed independently) | {r['expected']:,} |",
        f"| ledger rows | {rows:,} ({by_state}) |",
        f"| sends refused by the faults (then retried) | {r['refused']:,} |",
        f"| delivery keys sent more than once | {r['keys_twice']} |",
        f"| papers sent twice to the same target | {r['papers_twice']} |",
        f"| RSS at each simulated midnight (MB) | {', '.join(f'{m:.0f}' for m in rss)} |",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=300)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(soak(Path(tmp) / "soak.db", args))
    text = report(result, args)
    print(text)
    states: dict[str, int] = result["states"]  # type: ignore[assignment]
    ok = (
        sum(states.values()) == result["expected"]
        and set(states) == {"sent"}  # none missed, failed, or left pending or claimed
        and result["keys_twice"] == 0
        and result["papers_twice"] == 0
    )
    if args.subscribers == 10_000 and args.days == 7:
        RESULTS.write_text(text)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
