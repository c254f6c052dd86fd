"""Exactly-once scheduled delivery through real crashes.

``papersbot run`` runs as a real process against the loopback Slack fake (HTTP mode) with
hundreds of channel digests and DM subscriptions already due. The test SIGKILLs it at random
moments during the fan-out, restarts it, repeats, lets a last run finish, then checks at the
fake that every channel and every DM received its delivery exactly once (every part of it
once, nothing missing), and that the ledger agrees.

The fake answers ``chat.postMessage`` after a short delay, so each kill leaves posts in
flight: some reach Slack after the process died (the restart must find them through their
message metadata instead of posting again), others never do (it must post them).

The randomness is seeded (``CRASH_SEED`` overrides the default). The summary line printed at
the end (``-s`` shows it; it is also a JUnit property) gives runs, kills, kills that landed
mid-fan-out, what they left behind, deliveries, duplicates and losses.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import shutil
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.crash_seed import Row, Seeded, ledger_rows, seed
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack

SCRIPT = shutil.which("papersbot", path=str(Path(sys.executable).parent))
SEED = int(os.environ.get("CRASH_SEED", "20260819"))
CHANNELS = 240
USERS = 80
KILLS = 8
TIMED_KILLS = 2  # of KILLS, at a random 0.3-3 s after start (start-up included)
POST_LATENCY = 0.03  # seconds each chat.postMessage takes at the fake
EVENT_TYPE = "papersbot_digest"


@dataclass(frozen=True, slots=True)
class Kill:
    """One SIGKILL, and what the killed process left behind."""

    run: int
    how: str
    posts: int  # chat.postMessage calls the process made before it died
    sent_before: int  # ledger rows 'sent' when it started
    sent_after: int  # ... and once it was dead
    claimed: int  # rows it claimed and left 'claimed'
    posted_unmarked: int  # of those, rows whose message reached Slack anyway
    total: int

    @property
    def mid_fan_out(self) -> bool:
        """It died after delivering something and before delivering everything."""
        delivered = self.posts > 0 or self.sent_after > self.sent_before
        return delivered and self.sent_after < self.total


def _env(db: Path, slack: FakeSlack) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "PAPERSBOT_", "HF_"))
    }
    env.update(
        PAPERSBOT_DATABASE=str(db),
        PAPERSBOT_LOG_LEVEL="INFO",
        PAPERSBOT_HTTP_RETRIES="0",
        # A killed run's claims are retaken when their lease runs out: short here, so each
        # restart resumes within seconds (the default is 5 minutes).
        PAPERSBOT_LEASE_SECONDS="2",
        HF_API_URL="http://127.0.0.1:9",  # the start-up refresh fails fast; papers are seeded
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        SLACK_HTTP_HOST="127.0.0.1",
        SLACK_HTTP_PORT="0",
        PYTHONUNBUFFERED="1",
    )
    return env


async def _start(cwd: Path, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    assert SCRIPT is not None, "papersbot is not installed in this environment"
    with log.open("wb") as out:  # the child keeps its own descriptor
        return await asyncio.create_subprocess_exec(
            SCRIPT,
            "run",
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )


def _caught_up(log: Path) -> bool:
    """The process finished its start-up catch-up (it logs the report; SIGTERM is handled)."""
    return "bot.delivery.clockwork: catch-up:" in log.read_text(errors="replace")


def _conversation(row: Row) -> str:
    return row.address if row.kind == "channel" else "D" + row.address


def _posted(slack: FakeSlack) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(conversation, key) → the messages there tagged with that delivery key, in order."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for conversation, messages in slack.messages.items():
        for message in messages:
            meta = message.get("metadata") or {}
            assert meta.get("event_type") == EVENT_TYPE, f"untagged post in {conversation}"
            key = meta["event_payload"]["digest_key"]
            found.setdefault((conversation, key), []).append(message)
    return found


def _sent(rows: list[Row]) -> int:
    return sum(r.state == "sent" for r in rows)


def _posts(slack: FakeSlack) -> int:
    return len(slack.calls_to("chat.postMessage"))


async def _kill_during_fan_out(
    slack: FakeSlack,
    env: dict[str, str],
    tmp_path: Path,
    run: int,
    timed: bool,
    rng: random.Random,
    total: int,
) -> Kill:
    """Start the bot, SIGKILL it at a random moment, report what it left behind.

    The moment: after a random share (3-25 %) of what is left has been posted, so the kill
    always lands inside the fan-out; or, *timed*, a random 0.3-3 s after start (often still
    starting up), capped at half of what is left so later kills find work to interrupt.
    """
    db = Path(env["PAPERSBOT_DATABASE"])
    log = tmp_path / f"run{run}.log"
    before = ledger_rows(db)
    remaining = total - _sent(before)
    threshold = max(1, round(remaining * rng.uniform(0.03, 0.25)))
    deadline, how = float("inf"), f"after {threshold} posts"
    if timed:
        deadline, threshold = rng.uniform(0.3, 3.0), max(1, remaining // 2)
        how = f"after {deadline:.2f} s (or {threshold} posts)"
    posts_at_start = _posts(slack)
    proc = await _start(tmp_path, env, log)
    started = time.monotonic()
    try:
        for tick in itertools.count():
            assert proc.returncode is None, log.read_text()
            if _posts(slack) - posts_at_start >= threshold:
                break
            if time.monotonic() - started >= deadline:
                break
            if tick % 25 == 0 and _caught_up(log):  # nothing left to interrupt
                break
            await asyncio.sleep(0.002)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await proc.wait()
    await slack.idle()  # the posts it left in flight have reached the fake, or never will
    after = ledger_rows(db)
    posted = _posted(slack)
    tries = {(r.kind, r.address, r.key): r.attempts for r in before}
    mine = [r for r in after if r.attempts > tries.get((r.kind, r.address, r.key), 0)]
    left = [r for r in mine if r.state == "claimed"]
    return Kill(
        run=run,
        how=how,
        posts=_posts(slack) - posts_at_start,
        sent_before=_sent(before),
        sent_after=_sent(after),
        claimed=len(left),
        posted_unmarked=sum((_conversation(r), r.key) in posted for r in left),
        total=total,
    )


async def _finish(env: dict[str, str], tmp_path: Path, run: int, total: int) -> list[Row]:
    """Start the bot, wait until every delivery is settled, stop it with SIGTERM."""
    db = Path(env["PAPERSBOT_DATABASE"])
    log = tmp_path / f"run{run}.log"
    proc = await _start(tmp_path, env, log)
    rows: list[Row] = []
    try:
        try:
            async with asyncio.timeout(45):
                while not _caught_up(log):
                    assert proc.returncode is None, log.read_text()
                    await asyncio.sleep(0.05)
                while len(rows) < total or any(r.state in ("pending", "claimed") for r in rows):
                    assert proc.returncode is None, log.read_text()
                    await asyncio.sleep(0.1)
                    rows = ledger_rows(db)
        except TimeoutError:
            states = Counter((r.state, r.last_error) for r in rows)
            pytest.fail(f"deliveries not settled after 45 s: {states}\n{log.read_text()[-3000:]}")
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            await proc.wait()
        assert proc.returncode == 0, log.read_text()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return rows


@pytest.mark.timeout(120)
async def test_sigkill_during_fan_out_loses_and_repeats_nothing(
    tmp_path: Path, record_property: Any
) -> None:
    rng = random.Random(SEED)
    db = tmp_path / "crash.db"
    timed = set(rng.sample(range(1, KILLS + 1), TIMED_KILLS))
    async with FakeSlack() as slack:
        slack.ts_epoch = int(time.time())  # message ts are "now", as on Slack
        slack.latency["chat.postMessage"] = POST_LATENCY
        seeded = await seed(
            db, channels=CHANNELS, users=USERS, team=slack.team_id, now=datetime.now(UTC)
        )
        for channel in seeded.channels:
            slack.add_channel(channel)
        for user in seeded.users:
            slack.add_user(user)
        env = _env(db, slack)
        kills = [
            await _kill_during_fan_out(slack, env, tmp_path, run, run in timed, rng, seeded.total)
            for run in range(1, KILLS + 1)
        ]
        rows = await _finish(env, tmp_path, KILLS + 1, seeded.total)
        posted = _posted(slack)
        lookups = len(slack.calls_to("conversations.history"))
    logs = "".join((tmp_path / f"run{n}.log").read_text() for n in range(2, KILLS + 2))
    report = _check(seeded, rows, posted)
    summary = (
        f"crash-delivery seed={SEED}: runs={KILLS + 1} kills={len(kills)} "
        f"mid-fan-out={sum(k.mid_fan_out for k in kills)} "
        f"left-claimed={sum(k.claimed for k in kills)} "
        f"posted-but-unmarked={sum(k.posted_unmarked for k in kills)} "
        f"found-already-posted={logs.count('was already posted')} history-lookups={lookups} "
        f"deliveries={len(rows)} messages={report.messages} "
        f"duplicates={report.duplicates} losses={report.losses}"
    )
    print()
    for kill in kills:
        print(f"  {kill}")
    print(summary)
    record_property("crash_delivery", summary)
    assert (report.duplicates, report.losses) == (0, 0), report.problems
    assert not report.problems
    assert sum(k.mid_fan_out for k in kills) >= KILLS // 2, kills


@dataclass(frozen=True, slots=True)
class Report:
    messages: int
    duplicates: int  # deliveries posted more than once (or posts no delivery explains)
    losses: int  # deliveries missing at Slack, wholly or in part
    problems: list[str]


def _check(
    seeded: Seeded, rows: list[Row], posted: dict[tuple[str, str], list[dict[str, Any]]]
) -> Report:
    """Compare what Slack received with what was seeded, and with the ledger."""
    problems: list[str] = []
    posted = dict(posted)
    messages = sum(len(m) for m in posted.values())
    expected = {("channel", c): k for c, k in seeded.channels.items()}
    expected.update({("user", u): k for u, k in seeded.users.items()})
    by_target = {(r.kind, r.address): r for r in rows}
    if len(rows) != len(by_target) or {t: r.key for t, r in by_target.items()} != expected:
        problems.append("the ledger's rows are not one per seeded schedule, keyed by its fire")
    duplicates = losses = 0
    for (kind, address), key in expected.items():
        where = f"{kind} {address} {key}"
        row = by_target.get((kind, address))
        if row is None or row.state != "sent" or row.content_kind != "papers":
            problems.append(f"{where}: ledger row {row}, expected sent with papers")
        got = posted.pop((address if kind == "channel" else "D" + address, key), [])
        tags = [m["metadata"]["event_payload"] for m in got]
        parts = Counter(tag["part"] for tag in tags)
        of = max((tag["parts"] for tag in tags), default=1)
        if any(n > 1 for n in parts.values()):
            duplicates += 1
            problems.append(f"{where}: posted {dict(parts)} (part: copies)")
        if set(parts) != set(range(1, of + 1)):
            losses += 1
            problems.append(f"{where}: parts {sorted(parts)} of {of} reached Slack")
        if row is not None and got and row.message_id != got[0]["ts"]:
            problems.append(f"{where}: the ledger's message id is not the first post's ts")
    for (conversation, key), extra in posted.items():
        duplicates += 1
        problems.append(f"{conversation}: {len(extra)} posts for {key}, which nobody is owed")
    return Report(messages, duplicates, losses, problems)
