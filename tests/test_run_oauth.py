"""``papersbot run`` in Slack OAuth mode, as a real process against the loopback fake Slack:
two workspaces install through /slack/install and /slack/oauth_redirect, each turns its
digest on, each digest goes out once with its own token; workspace A uninstalls and its
deliveries stop while B's go on; an old ``state`` is refused.

Time is the one thing the test moves by hand: between runs it puts the stored next fire of
the digests into the past (as days the bot missed), and the next start's catch-up pass
sends what is due: today's digest after the installs, then yesterday's after A left.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from adapters.slack.oauth import BOT_SCOPES
from bot.app import bundled_snapshot
from bot.service.installs import UNINSTALLED
from bot.service.sealing import generate_key
from bot.sources.snapshot import SnapshotSource
from bot.store import Store
from bot.store.records import IngestRun
from tests.fakes.slack import (
    CLIENT_ID,
    CLIENT_SECRET,
    SIGNING_SECRET,
    FakeSlack,
    command_form,
    event_body,
    finish_install,
    install,
    signed_json,
    signed_post,
)
from tests.test_run_process import _free_port, _start, _until_healthy

TEAMS = {"TA": ("CA", "UA"), "TB": ("CB", "UB")}


async def _fresh_papers(db: Path, now: datetime) -> None:
    """The newest recorded day relabelled as today, with a successful fetch: digests have
    real papers to post."""
    store = await Store.open(db)
    try:
        *_, (_, newest) = SnapshotSource(bundled_snapshot()).days()
        fresh = [replace(paper, daily_day=now.date()) for paper in newest]
        await store.papers.upsert(fresh, seen_at=now - timedelta(hours=1))
        await store.runs.record(IngestRun("hf", now.date(), now, now, True, len(fresh), None))
    finally:
        await store.close()


def _digests_due(db: Path, fire: datetime) -> None:
    """A day passed: every channel digest falls due at *fire*."""
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("UPDATE channel_digests SET next_fire = ?", (fire.isoformat(),))
        conn.commit()


def _target(db: Path, team: str) -> tuple[str | None, int]:
    """(disabled reason, suspended) of *team*'s channel target."""
    with closing(sqlite3.connect(db)) as conn:
        row = conn.execute(
            "SELECT disabled_reason, suspended FROM targets WHERE workspace = ? AND kind = "
            "'channel'",
            (team,),
        ).fetchone()
    return row[0], row[1]


def _digest_posts(slack: FakeSlack, channel: str) -> list[tuple[str, str | None]]:
    """(digest key, token) of every digest part 1 posted to *channel*."""
    found = []
    for call in slack.calls_to("chat.postMessage"):
        meta = call.args.get("metadata")
        meta = json.loads(meta) if isinstance(meta, str) else meta
        if call.args.get("channel") == channel and meta:
            payload = meta["event_payload"]
            if payload["part"] == 1:
                found.append((payload["digest_key"], call.token))
    return found


async def _stop(proc: asyncio.subprocess.Process) -> str:
    proc.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    return out.decode() + err.decode()


async def test_two_workspaces_install_post_with_their_own_tokens_and_one_uninstalls(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    fire = (now - timedelta(minutes=10)).replace(second=0, microsecond=0)
    db = tmp_path / "oauth.db"
    await _fresh_papers(db, now)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    async with FakeSlack() as slack, aiohttp.ClientSession() as http:
        slack.scopes = set(BOT_SCOPES)
        slack.redirect_uri = f"{base}/slack/oauth_redirect"
        for team, (channel, user) in TEAMS.items():
            slack.add_workspace(team, f"Lab {team[-1]}")
            slack.add_channel(channel, team=team)
            slack.add_user(user, team_id=team, is_admin=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
        env.update(
            PAPERSBOT_DATABASE=str(db),
            PAPERSBOT_SECRET_KEY=generate_key(),
            PAPERSBOT_GRACE_HOURS="48",
            HF_API_URL="http://127.0.0.1:9",
            PAPERSBOT_HTTP_RETRIES="0",
            SLACK_CLIENT_ID=CLIENT_ID,
            SLACK_CLIENT_SECRET=CLIENT_SECRET,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack.api_url,
            SLACK_OAUTH_AUTHORIZE_URL=slack.authorize_url,
            SLACK_HTTP_HOST="127.0.0.1",
            SLACK_HTTP_PORT=str(port),
        )
        logs = ""
        proc = await _start(tmp_path, env)
        try:
            # Day 0: both workspaces install papersbot and turn their digest on.
            await _until_healthy(http, base)
            visits = {team: await install(http, base, team) for team in TEAMS}
            assert all(v.status == 200 for v in visits.values()), visits
            for team, (channel, user) in TEAMS.items():
                form = command_form(
                    f"digest on at {fire:%H:%M} tz UTC daily",
                    response_url=slack.response_url(f"R{team}"),
                    team=team,
                    user=user,
                    channel=channel,
                )
                assert (await signed_post(http, f"{base}/slack/events", form))[0] == 200
            await slack.wait_for(lambda: all(slack.messages.get(c) for c, _ in TEAMS.values()), 10)
            # a replayed state is refused by the running process
            status, page = await finish_install(http, visits["TA"].redirect, visits["TA"].cookie)
            assert (status, "expired or was already used" in page) == (401, True)
            logs += await _stop(proc)

            # Today's digest falls due: posted once in each workspace, with that one's token.
            _digests_due(db, fire)
            proc = await _start(tmp_path, env)
            await _until_healthy(http, base)
            await slack.wait_for(
                lambda: all(_digest_posts(slack, c) for c, _ in TEAMS.values()), 20
            )
            tokens = {team: slack.workspaces[team].token for team in TEAMS}
            for team, (channel, _) in TEAMS.items():
                [(_key, token)] = _digest_posts(slack, channel)
                assert token == tokens[team]
            assert slack.crossed == []
            # Workspace A removes papersbot; Slack revokes its token and says so.
            slack.uninstall("TA")
            mark = len(slack.calls)
            body = event_body({"type": "app_uninstalled"}, team="TA")
            assert (await signed_json(http, f"{base}/slack/events", body))[0] == 200
            logs += await _stop(proc)
            assert _target(db, "TA") == (UNINSTALLED, 1)

            # Yesterday's (missed) digest falls due: B gets it; A gets nothing, and nothing is
            # even tried with A's token.
            _digests_due(db, fire - timedelta(days=1))
            proc = await _start(tmp_path, env)
            await _until_healthy(http, base)
            await slack.wait_for(lambda: len(_digest_posts(slack, "CB")) == 2, 20)
            logs += await _stop(proc)
            assert len(_digest_posts(slack, "CA")) == 1
            assert [c.method for c in slack.calls[mark:] if c.token == tokens["TA"]] == []
            assert _target(db, "TB") == (None, 0)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        for token in tokens.values():
            assert token is not None
            assert token not in logs  # never logged


async def test_oauth_mode_without_a_secret_key_exits_2_naming_it(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
        env.pop("PAPERSBOT_SECRET_KEY", None)
        env.update(
            PAPERSBOT_DATABASE=str(tmp_path / "nokey.db"),
            HF_API_URL="http://127.0.0.1:9",
            PAPERSBOT_HTTP_RETRIES="0",
            SLACK_CLIENT_ID=CLIENT_ID,
            SLACK_CLIENT_SECRET=CLIENT_SECRET,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack.api_url,
            SLACK_HTTP_HOST="127.0.0.1",
            SLACK_HTTP_PORT=str(_free_port()),
        )
        proc = await _start(tmp_path, env)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert "PAPERSBOT_SECRET_KEY is not set" in " ".join(err.decode().split())
    assert CLIENT_SECRET not in out.decode() + err.decode()
