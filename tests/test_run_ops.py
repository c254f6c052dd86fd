"""``papersbot run`` as a real process, seen as an operator sees it: the operations server
(``/healthz``, ``/readyz``, ``/metrics``), JSON logs, and the first-day backfill, against the
loopback Discord and Hugging Face fakes."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bot.sources.ingest import weekdays
from tests.bot.ops.promtext import families, value
from tests.bot.ops.test_metrics import DOCUMENTED
from tests.fakes.discord import CHANNEL_ID, FakeDiscord
from tests.fakes.hf import FakeHuggingFace
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, command_form, signed_post
from tests.test_run_process import _free_port, _poll, _seed_discord_schedules, _slack_env, _start

TOKEN = "ops-secret-token"


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    try:
        async with http.get(url) as resp:
            return resp.status, await resp.text()
    except aiohttp.ClientError:
        return 0, ""


async def _until(http: aiohttp.ClientSession, url: str, status: int, within: float = 30) -> str:
    async with asyncio.timeout(within):
        while True:
            got, body = await _get(http, url)
            if got == status:
                return body
            await asyncio.sleep(0.1)


async def test_discord_only_run_serves_health_readiness_and_metrics(tmp_path: Path) -> None:
    """503 before the gateway is READY, 200 after; the delivery counters move when the
    scheduled digest and DM go out; every log line is JSON and no token is in any."""
    fake = FakeDiscord()
    fake.hold_ready = asyncio.Event()
    await fake.start()
    port = _free_port()
    db = tmp_path / "ops.db"
    await _seed_discord_schedules(db, datetime.now(UTC))
    env = _discord_env(fake, db, port)
    env["PAPERSBOT_LOG_FORMAT"] = "json"
    proc = await _start(tmp_path, env)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await _until(http, f"{base}/healthz", 200)
            await _poll(lambda: fake.identify is not None, 30)
            status, body = await _get(http, f"{base}/readyz")
            assert status == 503
            reason = json.loads(body)
            assert reason["checks"]["adapters"] == {"Discord": "not connected"}
            assert "Discord is not connected" in reason["reason"]
            before = await _until(http, f"{base}/metrics", 200)
            assert {k: families(before).get(k) for k in DOCUMENTED} == DOCUMENTED
            sent = {"platform": "discord", "state": "sent"}
            assert value(before, "papersbot_deliveries_total", kind="digest", **sent) == 0
            assert value(before, "papersbot_adapter_connected", adapter="discord") == 0

            fake.hold_ready.set()
            ready = json.loads(await _until(http, f"{base}/readyz", 200))
            assert ready == {
                "ready": True,
                "checks": {
                    "store": "ok",
                    "adapters": {"Discord": "connected"},
                    "clock": "ok",
                    "role": "leader",  # the only process on SQLite
                },
            }
            await _poll(lambda: bool(fake.messages.get(CHANNEL_ID)), 30)
            ix = await fake.slash("today", count=2)
            await _poll(lambda: ix.callback is not None, 10)
            after = ""
            async with asyncio.timeout(10):
                while (value(after, "papersbot_deliveries_total", kind="dm", **sent) or 0) < 1:
                    await asyncio.sleep(0.1)
                    after = (await _get(http, f"{base}/metrics"))[1]
            assert value(after, "papersbot_deliveries_total", kind="digest", **sent) == 1
            assert value(after, "papersbot_adapter_connected", adapter="discord") == 1
            assert value(after, "papersbot_ledger_deliveries", state="due") == 0
            today = {"platform": "discord", "verb": "today", "outcome": "ok"}
            assert value(after, "papersbot_commands_total", **today) == 1
            latency = {"platform": "discord", "verb": "today"}
            assert value(after, "papersbot_command_duration_seconds_count", **latency) == 1
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await fake.close()
    assert proc.returncode == 0, err.decode()
    lines = [json.loads(line) for line in err.decode().splitlines() if line.strip()]
    posted = [line for line in lines if str(line.get("delivery", "")).startswith("digest:")]
    assert posted
    assert posted[0]["platform"] == "discord"
    assert posted[0]["target"] == f"channel:{CHANNEL_ID}"
    assert TOKEN not in out.decode() + err.decode()


def _discord_env(fake: FakeDiscord, db: Path, port: int) -> dict[str, str]:
    """Discord only, on *db*, with the operations server on *port* (Hugging Face: a dead
    port unless the test says otherwise)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(
        PAPERSBOT_DATABASE=str(db),
        HF_API_URL="http://127.0.0.1:9",
        PAPERSBOT_HTTP_RETRIES="0",
        DISCORD_TOKEN=TOKEN,
        DISCORD_API_URL=fake.api_url,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        PAPERSBOT_HEALTH_PORT=str(port),
        PAPERSBOT_HEALTH_HOST="127.0.0.1",
    )
    return env


async def test_first_start_backfills_in_the_background_while_commands_are_answered(
    tmp_path: Path,
) -> None:
    """An empty store: the last 10 weekdays arrive from the Hugging Face fake, one request
    at a time, newest first, while ``/papers status`` answers with the progress."""
    today = datetime.now(UTC).date()
    recent = weekdays(today - timedelta(days=20), today)[-10:]
    fake = FakeDiscord()
    await fake.start()
    port = _free_port()
    async with FakeHuggingFace.recorded(recent) as hf, aiohttp.ClientSession() as http:
        hf.delay = 0.5  # slow enough to ask for the status half-way
        db = tmp_path / "empty.db"
        env = _discord_env(fake, db, port)
        env.update(
            HF_API_URL=hf.url,
            PAPERSBOT_BACKFILL_DAYS="10",
            PAPERSBOT_BACKFILL_INTERVAL="0.2",
        )
        proc = await _start(tmp_path, env)
        base = f"http://127.0.0.1:{port}"
        try:
            await _poll(lambda: bool(fake.commands) and fake.identify is not None, 30)
            ix = await fake.slash("status")  # answered while the backfill goes on
            await _poll(lambda: ix.callback is not None, 10)
            during = json.dumps(ix.messages)
            assert "Backfill: " in during
            assert "weekdays fetched" in during
            planned = 0.0
            async with asyncio.timeout(30):
                while True:
                    metrics = (await _get(http, f"{base}/metrics"))[1]
                    planned = value(metrics, "papersbot_backfill_days", state="planned") or 0
                    fetched = value(metrics, "papersbot_backfill_days", state="fetched") or 0
                    if planned and fetched == planned:
                        break
                    await asyncio.sleep(0.2)
            ix = await fake.slash("status")
            await _poll(lambda: ix.callback is not None, 10)
            assert "Backfill finished" in json.dumps(ix.messages)
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await fake.close()
    assert proc.returncode == 0, err.decode()
    asked = hf.daily_dates()
    backfilled = [d for d in asked if d < min(weekdays(today - timedelta(days=5), today))]
    assert len(backfilled) == planned
    assert backfilled == sorted(set(backfilled), reverse=True)  # newest first, each once
    assert set(asked) <= set(recent)
    log = err.decode()
    assert f"backfill finished: {int(planned)} weekdays" in log
    assert TOKEN not in log


async def test_slack_http_mode_serves_the_same_routes_on_its_own_port(
    tmp_path: Path, snapshot_db: Path
) -> None:
    """No PAPERSBOT_HEALTH_PORT: the Slack port answers /healthz, /readyz and /metrics."""
    port = _free_port()
    db = tmp_path / "slack.db"
    shutil.copy(snapshot_db, db)
    async with FakeSlack() as slack, aiohttp.ClientSession() as http:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
        env.update(
            PAPERSBOT_DATABASE=str(db),
            HF_API_URL="http://127.0.0.1:9",
            PAPERSBOT_HTTP_RETRIES="0",
            **_slack_env(slack, port),
        )
        proc = await _start(tmp_path, env)
        base = f"http://127.0.0.1:{port}"
        try:
            assert json.loads(await _until(http, f"{base}/healthz", 200)) == {"ok": True}
            ready = json.loads(await _until(http, f"{base}/readyz", 200))
            assert ready["checks"]["adapters"] == {"Slack": "connected"}
            form = command_form("today 2", response_url=slack.response_url("R1"))
            status, _, _ = await signed_post(http, f"{base}/slack/events", form)
            assert status == 200
            await slack.wait_responses("R1", within=10)
            metrics = (await _get(http, f"{base}/metrics"))[1]
            today = {"platform": "slack", "verb": "today", "outcome": "ok"}
            assert value(metrics, "papersbot_commands_total", **today) == 1
            assert value(metrics, "papersbot_adapter_connected", adapter="slack") == 1
            proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(proc.communicate(), 20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert BOT_TOKEN not in out.decode() + err.decode()
    assert SIGNING_SECRET not in out.decode() + err.decode()


async def test_a_busy_health_port_stops_run_with_a_message_naming_the_setting(
    tmp_path: Path, snapshot_db: Path
) -> None:
    fake = FakeDiscord()
    await fake.start()
    db = tmp_path / "busy.db"
    shutil.copy(snapshot_db, db)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = await _start(tmp_path, _discord_env(fake, db, port))
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await fake.close()
    message = " ".join(err.decode().split())
    assert proc.returncode == 1, message
    assert f"cannot serve PAPERSBOT_HEALTH_PORT on 127.0.0.1:{port}" in message
    assert "Traceback" not in message
    assert TOKEN not in out.decode() + message
