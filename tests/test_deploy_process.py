"""The container image's commands as plain processes (no Docker engine runs here): its CMD
started with the environment the image sets (``/data`` moved into a temporary directory,
the ops server on a free loopback port), and its HEALTHCHECK run against it."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.deploy_files import exec_form, healthcheck_command, on_this_machine, stages
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack

OPS_SERVER = "bot.ops.server"  # issue 12 item 1: the operations server in every mode


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its package is missing too
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def image_env(data: Path, health_port: int) -> dict[str, str]:
    """The runtime stage's ENV on this machine: ``/data`` under *data*, the ops server on
    loopback (a test binds no wildcard address) at *health_port*, the venv on PATH."""
    data.mkdir(exist_ok=True)  # the volume (the image creates /data, owned by its user)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    for key, value in stages()[-1].env().items():
        if key == "PATH":
            continue  # the image's PATH puts its venv first; on_this_machine does the same
        env[key] = value.replace("/data", str(data))
    env["PAPERSBOT_HEALTH_HOST"] = "127.0.0.1"
    env["PAPERSBOT_HEALTH_PORT"] = str(health_port)
    env["HF_API_URL"] = "http://127.0.0.1:9"  # no network: the refresh fails fast
    env["PAPERSBOT_HTTP_RETRIES"] = "0"
    return env


def healthcheck(env: dict[str, str], port: int) -> subprocess.CompletedProcess[str]:
    """Run the image's HEALTHCHECK command with the image's environment, asking *port*."""
    command = on_this_machine(healthcheck_command(stages()[-1]))
    return subprocess.run(
        command,
        env={**env, "PAPERSBOT_HEALTH_PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=30,
    )


@asynccontextmanager
async def image_cmd(data: Path, env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    """The image's CMD, from WORKDIR, stopped with its STOPSIGNAL at the end."""
    runtime = stages()[-1]
    assert runtime.one("STOPSIGNAL") == "SIGTERM"
    command = on_this_machine(exec_form(runtime.one("CMD")))
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=runtime.one("WORKDIR").replace("/data", str(data)),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield proc
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _until_answers(url: str, within: float = 60) -> None:
    async with aiohttp.ClientSession() as http, asyncio.timeout(within):
        while True:
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)


async def test_healthcheck_passes_against_the_image_cmd_in_slack_http_mode(
    tmp_path: Path,
) -> None:
    """Slack HTTP mode serves /healthz on the Slack port too: the image's check, pointed
    there, passes while CMD runs; the database is created on the "volume"."""
    data = tmp_path / "data"
    slack_port = _free_port()
    env = image_env(data, _free_port())
    async with FakeSlack() as slack:
        env |= {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "SLACK_HTTP_HOST": "127.0.0.1",
            "SLACK_HTTP_PORT": str(slack_port),
        }
        async with image_cmd(data, env):
            await _until_answers(f"http://127.0.0.1:{slack_port}/healthz")
            done = await asyncio.to_thread(healthcheck, env, slack_port)
            assert done.returncode == 0, done.stderr
            assert done.stderr == ""
            assert Path(env["PAPERSBOT_DATABASE"]).parent == data
            assert await asyncio.to_thread(Path(env["PAPERSBOT_DATABASE"]).exists)


async def test_healthcheck_fails_clearly_when_nothing_answers(tmp_path: Path) -> None:
    port = _free_port()  # nothing listens here
    done = await asyncio.to_thread(healthcheck, image_env(tmp_path, port), port)
    assert done.returncode == 1
    assert done.stderr.startswith(f"unhealthy: http://127.0.0.1:{port}/healthz: ")
    assert "Connection refused" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("status", [500, 503])
async def test_healthcheck_fails_on_an_error_status(tmp_path: Path, status: int) -> None:
    async def failing(request: web.Request) -> web.Response:
        return web.Response(status=status, text="no")

    app = web.Application()
    app.router.add_get("/healthz", failing)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        done = await asyncio.to_thread(healthcheck, image_env(tmp_path, port), port)
    finally:
        await runner.cleanup()
    assert done.returncode == 1
    assert f"HTTP Error {status}" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(
    not _installed(OPS_SERVER),
    reason=f"the operations server ({OPS_SERVER}, issue 12 item 1) is not in this branch yet",
)
async def test_healthcheck_passes_on_the_ops_port_in_discord_only_mode(tmp_path: Path) -> None:
    """The image exactly: PAPERSBOT_HEALTH_PORT set, Discord only (no Slack port to lean
    on); the HEALTHCHECK asks the operations server."""
    data = tmp_path / "data"
    health_port = _free_port()
    env = image_env(data, health_port)
    fake = FakeDiscord()
    await fake.start()
    env |= {
        "DISCORD_TOKEN": "image-token",
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
    }
    try:
        async with image_cmd(data, env):
            await _until_answers(f"http://127.0.0.1:{health_port}/healthz")
            done = await asyncio.to_thread(healthcheck, env, health_port)
            assert done.returncode == 0, done.stderr
    finally:
        await fake.close()


def test_the_commands_exist_on_this_machine() -> None:
    """What the image runs resolves here as in the image: the venv's papersbot and python."""
    runtime = stages()[-1]
    for command in (exec_form(runtime.one("CMD")), healthcheck_command(runtime)):
        head = on_this_machine(command)[0]
        assert shutil.which(head) == head
