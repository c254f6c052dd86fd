"""``papersbot run`` as a real process: it starts the configured adapters and stops cleanly.

The Discord and Slack fakes (``tests/fakes/``) run in the test's event loop; the bot runs as
the installed ``papersbot`` script, with every URL pointed at loopback.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import signal
import socket
import sqlite3
import sys
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.app import bundled_snapshot
from bot.model.caller import Caller
from bot.service.papersbot import PapersBot
from bot.sources.snapshot import SnapshotSource
from bot.store import Store
from bot.store.records import IngestRun
from tests.fakes.discord import CHANNEL_ID, GUILD_ID, USER_ID, FakeDiscord
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, command_form, signed_post
from tests.shared_data import SHARED_DATA

SCRIPT = shutil.which("papersbot", path=str(Path(sys.executable).parent))


def _env(tmp_path: Path, snapshot_db: Path, fake: FakeDiscord, token: str) -> dict[str, str]:
    db = tmp_path / "run.db"
    shutil.copy(snapshot_db, db)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(
        PAPERSBOT_DATABASE=str(db),
        HF_API_URL="http://127.0.0.1:9",
        PAPERSBOT_HTTP_RETRIES="0",
        DISCORD_TOKEN=token,
        DISCORD_API_URL=fake.api_url,
        DISCORD_GATEWAY_URL=fake.gateway_url,
    )
    return env


async def _poll(predicate: Callable[[], bool], within: float) -> None:
    """Wait for something the bot process does (gateway frames re-check nothing in the fake)."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 (the effect happens in another process)
            await asyncio.sleep(0.05)


def _slack_env(slack: FakeSlack, port: int) -> dict[str, str]:
    """Slack HTTP mode on *port*, against the fake's Web API."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "SLACK_HTTP_HOST": "127.0.0.1",
        "SLACK_HTTP_PORT": str(port),
    }


async def _healthy(http: aiohttp.ClientSession, base: str) -> bool:
    try:
        async with http.get(f"{base}/healthz") as resp:
            return resp.status == 200
    except aiohttp.ClientError:
        return False


async def _until_healthy(http: aiohttp.ClientSession, base: str) -> None:
    async with asyncio.timeout(30):
        while not await _healthy(http, base):  # noqa: ASYNC110 (another process)
            await asyncio.sleep(0.1)


async def _start(tmp_path: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    assert SCRIPT is not None
    return await asyncio.create_subprocess_exec(
        SCRIPT,
        "run",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_run_serves_discord_until_sigterm(tmp_path: Path, snapshot_db: Path) -> None:
    fake = FakeDiscord()
    await fake.start()
    proc = await _start(tmp_path, _env(tmp_path, snapshot_db, fake, "process-token"))
    try:
        await _poll(lambda: bool(fake.commands) and fake.identify is not None, 30)
        ix = await fake.slash("today", count=2)
        await _poll(lambda: ix.callback is not None, 10)
        assert ix.messages[0]["embeds"][0]["title"]
        assert len(ix.messages[0]["embeds"]) == 2
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 0, err.decode()
        assert "Starting Discord." in out.decode()
        assert "process-token" not in out.decode() + err.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await fake.close()


async def test_run_delivers_a_due_discord_digest_and_dm_on_start(
    tmp_path: Path, snapshot_db: Path
) -> None:
    """The scheduled path end to end: digests and DMs that fell due while the bot was down
    go out once the gateway is READY, through the DiscordCourier the CLI wires in."""
    fake = FakeDiscord()
    await fake.start()
    env = _env(tmp_path, snapshot_db, fake, "process-token")
    env["PAPERSBOT_DATABASE"] = str(tmp_path / "scheduled.db")
    await _seed_discord_schedules(tmp_path / "scheduled.db", datetime.now(UTC))
    proc = await _start(tmp_path, env)
    try:
        await _poll(lambda: bool(fake.messages.get(CHANNEL_ID)), 30)
        dm = int(fake.dm_channel(USER_ID)["id"])
        await _poll(lambda: bool(fake.messages.get(dm)), 10)
        [digest] = fake.messages[CHANNEL_ID]
        assert digest["embeds"]
        assert "d:" in digest["embeds"][-1]["footer"]["text"]  # findable after a crash
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 0, err.decode()
        assert len(fake.messages[CHANNEL_ID]) == 1
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await fake.close()


async def _seed_discord_schedules(db: Path, now: datetime) -> None:
    """A fresh store with the newest recorded day relabelled today (old papers are never
    new in a DM), and a channel digest and a DM subscription due a few minutes ago."""
    fire = (now - timedelta(minutes=5)).replace(second=0, microsecond=0)
    store = await Store.open(db)
    try:
        *_, (_, newest) = SnapshotSource(bundled_snapshot()).days()
        fresh = [replace(paper, daily_day=fire.date()) for paper in newest]
        await store.papers.upsert(fresh, seen_at=now - timedelta(hours=1))
        await store.runs.record(IngestRun("hf", fire.date(), now, now, True, len(fresh), None))
        bot = PapersBot(store=store, clock=lambda: fire - timedelta(minutes=5))
        where = Caller(
            "discord",
            str(USER_ID),
            channel_id=str(CHANNEL_ID),
            workspace_id=str(GUILD_ID),
            can_manage=True,
        )
        for command in ("digest on", "subscribe model"):
            reply = await bot.respond(f"{command} at {fire:%H:%M} tz UTC daily", where)
            assert not reply.is_error, reply.text
    finally:
        await store.close()


async def test_run_with_a_rejected_token_names_the_setting(
    tmp_path: Path, snapshot_db: Path
) -> None:
    fake = FakeDiscord()
    await fake.start()
    fake.fail("GET", "/users/@me", 401, 0, "401: Unauthorized")
    proc = await _start(tmp_path, _env(tmp_path, snapshot_db, fake, "revoked-token"))
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        await fake.close()
    assert proc.returncode == 2
    assert "DISCORD_TOKEN" in err.decode()
    assert "revoked-token" not in out.decode() + err.decode()


@pytest.fixture(autouse=True)
def _script_exists() -> None:
    assert SCRIPT is not None, "papersbot is not installed in this environment"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("with_discord", [False, True], ids=["slack", "slack+discord"])
async def test_run_serves_slack_http_mode_until_sigterm(
    tmp_path: Path, snapshot_db: Path, with_discord: bool
) -> None:
    """Slack alone, and Slack beside Discord in the same process."""
    port = _free_port()
    discord = FakeDiscord()
    await discord.start()
    async with FakeSlack() as slack, aiohttp.ClientSession() as http:
        env = _env(tmp_path, snapshot_db, discord, "both-token")
        if not with_discord:
            for key in ("DISCORD_TOKEN", "DISCORD_API_URL", "DISCORD_GATEWAY_URL"):
                del env[key]
        env.update(_slack_env(slack, port))
        proc = await _start(tmp_path, env)
        base = f"http://127.0.0.1:{port}"
        try:
            await _until_healthy(http, base)
            form = command_form("today 2", response_url=slack.response_url("R1"))
            status, _, _ = await signed_post(http, f"{base}/slack/events", form)
            assert status == 200
            [reply] = await slack.wait_responses("R1", within=10)
            assert reply["response_type"] == "ephemeral"
            assert "Top 2 papers" in reply["text"]
            bad = await signed_post(http, f"{base}/slack/events", form, secret="wrong")
            assert bad[0] == 401
            if with_discord:
                await _poll(lambda: bool(discord.commands) and discord.identify is not None, 30)
                ix = await discord.slash("search", query="diffusion")
                await _poll(lambda: ix.callback is not None, 10)
                assert ix.messages[0]["embeds"]
            proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(proc.communicate(), 20)
            assert proc.returncode == 0, err.decode()
            started = "Starting Discord, Slack." if with_discord else "Starting Slack."
            assert started in out.decode()
            assert BOT_TOKEN not in out.decode() + err.decode()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await discord.close()


async def test_a_second_run_on_the_same_database_is_refused_while_the_first_serves(
    tmp_path: Path, snapshot_db: Path
) -> None:
    """Two processes on one SQLite file would both plan and send every schedule."""
    port = _free_port()
    discord = FakeDiscord()  # unused: only its URLs fill the environment
    await discord.start()
    async with FakeSlack() as slack, aiohttp.ClientSession() as http:
        env = _env(tmp_path, snapshot_db, discord, "unused")
        for key in ("DISCORD_TOKEN", "DISCORD_API_URL", "DISCORD_GATEWAY_URL"):
            del env[key]
        env.update(_slack_env(slack, port))
        first = await _start(tmp_path, env)
        second: asyncio.subprocess.Process | None = None
        base = f"http://127.0.0.1:{port}"

        try:
            await _until_healthy(http, base)
            second = await _start(tmp_path, {**env, "SLACK_HTTP_PORT": str(_free_port())})
            _, err = await asyncio.wait_for(second.communicate(), 20)
            assert second.returncode == 1
            message = " ".join(err.decode().split())  # rich wraps stderr at 80 columns
            assert f"the database {env['PAPERSBOT_DATABASE']} is in use" in message
            assert f"pid {first.pid}" in message
            assert await _healthy(http, base)  # the first keeps serving
            first.send_signal(signal.SIGTERM)
            _, first_err = await asyncio.wait_for(first.communicate(), 20)
            assert first.returncode == 0, first_err.decode()
        finally:
            for proc in (first, second):
                if proc is not None and proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            await discord.close()


async def test_a_sigkill_during_ingest_leaves_a_whole_store_that_a_rerun_completes(
    tmp_path: Path,
) -> None:
    """Killed mid-way through the 520-day archive: the store is whole (every batch was one
    transaction), and the same ingest run again finishes with every paper."""
    assert SCRIPT is not None
    archive = SHARED_DATA / "hf_daily_archive.jsonl.gz"
    db = tmp_path / "ingest.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(PAPERSBOT_DATABASE=str(db), HF_API_URL="http://127.0.0.1:9")
    argv = [SCRIPT, "ingest", "--from-file", str(archive)]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    async with asyncio.timeout(30):  # wait until some days are in, then kill
        while not db.exists() or db.stat().st_size + _wal_size(db) < 2_000_000:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    proc.kill()
    await proc.wait()
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        partial = conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0]
    again = await asyncio.create_subprocess_exec(
        *argv,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(again.communicate(), 120)
    assert again.returncode == 0, err.decode()
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        total = conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0]
    assert "day(s):" in out.decode()
    every = {paper.id for _, batch in SnapshotSource(archive).days() for paper in batch}
    assert partial < total == len(every)  # nothing lost, nothing doubled


def _wal_size(db: Path) -> int:
    wal = db.with_name(db.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def _small_disk(limit: int) -> Callable[[], None]:
    """For a child process: files may not grow past *limit* bytes (as on a full disk; the
    write fails with EFBIG instead of killing the process with SIGXFSZ)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


async def test_a_full_disk_during_ingest_is_a_clear_error_and_the_store_stays_whole(
    tmp_path: Path,
) -> None:
    assert SCRIPT is not None
    archive = SHARED_DATA / "hf_daily_archive.jsonl.gz"
    db = tmp_path / "full.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(PAPERSBOT_DATABASE=str(db), HF_API_URL="http://127.0.0.1:9")
    proc = await asyncio.create_subprocess_exec(
        SCRIPT,
        "ingest",
        "--from-file",
        str(archive),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=_small_disk(3_000_000),
    )
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    message = " ".join(err.decode().split())
    assert proc.returncode == 1, message
    assert "(is the disk full, or the file read-only?)" in message, message
    assert "Traceback" not in message
    with closing(sqlite3.connect(db)) as conn:  # what was committed before is whole
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0] > 0
