"""Exactly once across several processes sharing one PostgreSQL database, through crashes.

Three ``papersbot run`` processes (Slack HTTP mode) share a real PostgreSQL database (the
session's own server, tests/pg.py) and the loopback Slack fake, with 300 channel digests
and 200 DM subscriptions already due. One process leads (it plans the fan-out); all of them
claim and send their share (leased claims, ``SKIP LOCKED``). During the fan-out the test
SIGKILLs processes at random (the leader first, so another must take over the clock) and
restarts each in its place. Then it checks at the fake that every channel and every DM got
its delivery exactly once (every part once, nothing missing), that the ledger agrees, that
the fan-out was split between processes, and that the lead passed to another process
within 30 seconds.

Each seed is a run of its own (``CRASH_SEED`` moves the base).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.crash_seed import Row, pg_ledger_rows, seed
from tests.fakes.slack import FakeSlack, action_form, command_form, signed_post
from tests.test_crash_delivery import _check, _env, _posted, _posts, _start

BASE_SEED = int(os.environ.get("CRASH_SEED", "20261204"))
PROCESSES = 3
CHANNELS = 300
USERS = 200
KILLS = 4
POST_LATENCY = 0.25  # seconds each chat.postMessage takes: the fan-out lasts a few seconds
LEADS = "this process leads"
FAILOVER_LIMIT = 30.0


@dataclass
class Slot:
    """One of the processes: its current incarnation and every log it wrote."""

    number: int
    env: dict[str, str] = field(default_factory=dict)
    proc: asyncio.subprocess.Process | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def log(self) -> Path:
        return self.logs[-1]

    def leads(self) -> bool:
        return self.proc is not None and LEADS in self.log.read_text(errors="replace")

    def sent(self) -> int:
        """Deliveries this slot's processes marked sent (each logs its own, also a killed
        one; a pass's summary would be lost with it)."""
        text = "".join(log.read_text(errors="replace") for log in self.logs)
        return len(re.findall(r" on slack: sent \(", text))


async def _launch(slot: Slot, tmp_path: Path) -> None:
    slot.logs.append(tmp_path / f"p{slot.number}-{len(slot.logs)}.log")
    slot.proc = await _start(tmp_path, slot.env, slot.log)


async def _any_process_answers(slack: FakeSlack, ports: list[int]) -> None:
    """As behind a load balancer: every process answers a command, and a search's "More"
    button pressed on one process is answered by another (the search lives in the
    database, not in the process that answered first)."""
    async with aiohttp.ClientSession() as http:
        for n, port in enumerate(ports):
            url = f"http://127.0.0.1:{port}/slack/events"
            await _until_up(http, url)
            form = command_form("search model", response_url=slack.response_url(f"S{n}"))
            assert (await signed_post(http, url, form))[0] == 200
            [first] = await slack.wait_responses(f"S{n}", within=15)
            assert "model" in first["text"].lower()
            action_id, value = _more_button(first)
            other = f"http://127.0.0.1:{ports[(n + 1) % len(ports)]}/slack/events"
            press = action_form(action_id, value, response_url=slack.response_url(f"M{n}"))
            assert (await signed_post(http, other, press))[0] == 200
            [more] = await slack.wait_responses(f"M{n}", within=15)
            assert more["text"] != first["text"]  # the next page, from the other process


def _more_button(reply: dict[str, Any]) -> tuple[str, str]:
    for block in reply.get("blocks", []):
        for element in block.get("elements", []):
            if str(element.get("value", "")).startswith("more:"):
                return str(element["action_id"]), str(element["value"])
    raise AssertionError(f"no More button in {reply}")


async def _until_up(http: aiohttp.ClientSession, url: str) -> None:
    async with asyncio.timeout(30):
        while True:
            try:
                async with http.get(url.replace("/slack/events", "/healthz")):
                    return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _kill(slot: Slot) -> None:
    assert slot.proc is not None
    if slot.proc.returncode is None:
        slot.proc.send_signal(signal.SIGKILL)
    await slot.proc.wait()
    slot.proc = None


def _settled(rows: list[Row], total: int) -> bool:
    return len(rows) == total and all(r.state not in ("pending", "claimed") for r in rows)


async def _until_posts(slack: FakeSlack, slots: list[Slot], count: int, within: float) -> None:
    async with asyncio.timeout(within):
        while _posts(slack) < count:
            for slot in slots:
                assert slot.proc is None or slot.proc.returncode is None, slot.log.read_text()
            await asyncio.sleep(0.005)


async def _new_leader(slots: list[Slot], within: float) -> float:
    """Seconds until a live process says it leads (after the leader was killed)."""
    started = time.monotonic()
    async with asyncio.timeout(within):
        while not any(slot.leads() for slot in slots):  # noqa: ASYNC110 - polling logs
            await asyncio.sleep(0.05)
    return time.monotonic() - started


@pytest.mark.timeout(240)
@pytest.mark.parametrize("offset", [0, 1])
async def test_three_processes_split_the_fan_out_and_sigkills_lose_and_repeat_nothing(
    pg_dsn: str, tmp_path: Path, offset: int, record_property: Any
) -> None:
    rng = random.Random(BASE_SEED + offset)
    async with FakeSlack() as slack:
        slack.ts_epoch = int(time.time())
        slack.latency["chat.postMessage"] = POST_LATENCY
        seeded = await seed(
            pg_dsn, channels=CHANNELS, users=USERS, team=slack.team_id, now=datetime.now(UTC)
        )
        for channel in seeded.channels:
            slack.add_channel(channel)
        for user in seeded.users:
            slack.add_user(user)
        env = _env(Path(pg_dsn), slack) | {"PAPERSBOT_DATABASE": pg_dsn}
        slots = [Slot(n) for n in range(PROCESSES)]
        ports = [_free_port() for _ in slots]
        for slot, port in zip(slots, ports, strict=True):
            slot.env = env | {"SLACK_HTTP_PORT": str(port)}
            await _launch(slot, tmp_path)
        failover: float | None = None
        killed: list[str] = []
        try:
            for k in range(KILLS):
                # Kill at a random share of the fan-out, at least one post after the last.
                share = (k + rng.uniform(0.2, 0.8)) / (KILLS + 1)
                await _until_posts(slack, slots, max(1, int(seeded.total * share)), 90)
                leader = next((s for s in slots if s.leads()), None)
                victim = leader if k == 0 and leader else rng.choice(slots)
                await _kill(victim)
                killed.append(f"p{victim.number}{' (leader)' if victim is leader else ''}")
                if victim is leader and failover is None:
                    failover = await _new_leader(slots, FAILOVER_LIMIT)
                await _launch(victim, tmp_path)
            async with asyncio.timeout(90):
                while not _settled(rows := await pg_ledger_rows(pg_dsn), seeded.total):
                    for slot in slots:
                        assert slot.proc is not None
                        assert slot.proc.returncode is None, slot.log.read_text()
                    await asyncio.sleep(0.2)
            await _any_process_answers(slack, ports)
            for slot in slots:
                assert slot.proc is not None
                slot.proc.send_signal(signal.SIGTERM)
            for slot in slots:
                assert slot.proc is not None
                async with asyncio.timeout(30):
                    assert await slot.proc.wait() == 0, slot.log.read_text()[-3000:]
        finally:
            for slot in slots:
                if slot.proc is not None and slot.proc.returncode is None:
                    await _kill(slot)
        await slack.idle()  # every post a killed process left in flight has landed
        posted = _posted(slack)
    report = _check(seeded, rows, posted)
    shares = [slot.sent() for slot in slots]
    summary = (
        f"multiprocess seed={BASE_SEED + offset}: processes={PROCESSES} kills={killed} "
        f"failover={failover and round(failover, 1)} s sent-by-slot={shares} "
        f"deliveries={len(rows)} messages={report.messages} "
        f"duplicates={report.duplicates} losses={report.losses} "
        f"states={dict(Counter(r.state for r in rows))}"
    )
    print()
    print(summary)
    record_property("crash_multiprocess", summary)
    assert (report.duplicates, report.losses) == (0, 0), report.problems
    assert not report.problems
    assert failover is not None, "the leader was not found to kill"
    assert failover <= FAILOVER_LIMIT
    assert sum(share > 0 for share in shares) >= 2, f"one process sent everything: {shares}"
