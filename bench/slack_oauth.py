"""What serving many Slack workspaces costs: OAuth mode against single-workspace mode.

    .venv/bin/python bench/slack_oauth.py [--workspaces 1000] [--runs 200]

Against the loopback fake Slack (``tests/fakes/slack``) and the bundled real snapshot store:

* **install**: the whole Add-to-Slack round trip per workspace (``/slack/install``, the
  fake's consent page, ``/slack/oauth_redirect``: state issued and consumed, code exchanged
  via ``oauth.v2.access``, ``auth.test``, two sealed records written);
* **ack / reply** of ``/papers help`` one at a time, in single-workspace HTTP mode and in
  OAuth mode with every workspace installed (each request from a different workspace, so
  Bolt looks its installation up and calls ``auth.test`` with its token; no cache);
* **token**: the courier's per-target token resolution (look-up by team, decrypt) for a
  scheduled post, without the post.

Client, adapter and fake share one process and event loop (no network). Prints a Markdown
table and writes bench/slack_oauth_results.md.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from adapters.slack import EVENTS_PATH, open_slack  # noqa: E402
from adapters.slack.oauth import BOT_SCOPES  # noqa: E402
from bot.app import bundled_snapshot  # noqa: E402
from bot.config import Settings, load_settings  # noqa: E402
from bot.service.installs import WorkspaceInstalls  # noqa: E402
from bot.service.papersbot import PapersBot  # noqa: E402
from bot.service.sealing import Sealer, generate_key  # noqa: E402
from bot.sources.ingest import Ingestor  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.fakes.clock import Clock  # noqa: E402
from tests.fakes.slack import (  # noqa: E402
    BOT_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    SIGNING_SECRET,
    FakeSlack,
    command_form,
    install,
    signed_post,
)

RESULTS = ROOT / "bench" / "slack_oauth_results.md"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def settings(fake: FakeSlack, oauth: bool, key: str) -> Settings:
    values: dict[str, Any] = {
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.api_url,
        "slack_http_host": "127.0.0.1",
        "slack_http_port": 0,
        "slack_app_token": None,
    }
    if oauth:
        values.update(
            slack_bot_token=None,
            slack_client_id=CLIENT_ID,
            slack_client_secret=CLIENT_SECRET,
            slack_oauth_authorize_url=fake.authorize_url,
            papersbot_secret_key=key,
        )
    else:
        values.update(slack_bot_token=BOT_TOKEN)
    return load_settings(None, **values)


async def commands(
    http: aiohttp.ClientSession, url: str, fake: FakeSlack, teams: list[str], runs: int
) -> tuple[list[float], list[float]]:
    acks, replies = [], []
    for n in range(runs):
        team = teams[n % len(teams)]
        rid = f"R{team}{n}"
        form = command_form("help", response_url=fake.response_url(rid), team=team, user=f"U{n}")
        start = time.perf_counter()
        status, _, ack = await signed_post(http, f"{url}{EVENTS_PATH}", form)
        assert status == 200
        await fake.wait_responses(rid, within=30)
        arrived = next(r.at for r in fake.responses if r.url_id == rid)
        acks.append(ack * 1000)
        replies.append((arrived - start) * 1000)
    return acks, replies


async def main(workspaces: int, runs: int) -> None:
    rows: list[tuple[str, str]] = []
    key = generate_key()
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "bench.db")
        await Ingestor(store=store, clock=Clock()).from_file(bundled_snapshot())
        bot = PapersBot(store=store, clock=Clock())
        installs = WorkspaceInstalls(store, Sealer.from_setting(settings_key(key)), Clock())
        async with FakeSlack() as fake, aiohttp.ClientSession() as http:
            fake.scopes = set(BOT_SCOPES)
            async with open_slack(bot, settings(fake, False, key)) as rt:
                assert rt.url is not None
                acks, replies = await commands(http, rt.url, fake, [fake.team_id], runs)
            rows.append(("single workspace: `/papers help` ack p50 / p99", ms(acks)))
            rows.append(("single workspace: `/papers help` reply p50 / p99", ms(replies)))
            teams = [f"T{n:05d}" for n in range(workspaces)]
            for team in teams:
                fake.add_workspace(team)
            async with open_slack(bot, settings(fake, True, key), installs) as rt:
                assert rt.url is not None
                fake.redirect_uri = f"{rt.url}/slack/oauth_redirect"
                took = []
                for team in teams:
                    start = time.perf_counter()
                    assert (await install(http, rt.url, team)).status == 200
                    took.append((time.perf_counter() - start) * 1000)
                rows.append((f"install, {workspaces} workspaces, each p50 / p99", ms(took)))
                acks, replies = await commands(http, rt.url, fake, teams, runs)
                label = f"OAuth, {workspaces} workspaces installed"
                rows.append((f"{label}: `/papers help` ack p50 / p99", ms(acks)))
                rows.append((f"{label}: `/papers help` reply p50 / p99", ms(replies)))
                tenancy = rt.courier.tenancy
                assert tenancy is not None
                resolve = []
                for n in range(runs):
                    start = time.perf_counter()
                    assert await tenancy.for_workspace(teams[n % len(teams)]) is not None
                    resolve.append((time.perf_counter() - start) * 1000)
                rows.append((f"{label}: token for a scheduled post p50 / p99", ms(resolve)))
        await store.close()
    report(rows, workspaces, runs)


def settings_key(key: str) -> Any:
    return load_settings(None, papersbot_secret_key=key).papersbot_secret_key


def ms(values: list[float]) -> str:
    return f"{pct(values, 50):.1f} / {pct(values, 99):.1f} ms"


def report(rows: list[tuple[str, str]], workspaces: int, runs: int) -> None:
    lines = [
        "# Slack OAuth mode: cost of many workspaces (`bench/slack_oauth.py`)",
        "",
        f"`.venv/bin/python bench/slack_oauth.py --workspaces {workspaces} --runs {runs}` on "
        f"{platform.machine()}, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}.",
        "",
        "| measure | result |",
        "| --- | --- |",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    RESULTS.write_text(text, "utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspaces", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.workspaces, args.runs))
