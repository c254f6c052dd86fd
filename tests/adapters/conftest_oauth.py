"""Fixtures for Slack OAuth mode: a fake Slack with two installable workspaces (A and B,
each with a channel and an admin), the adapter in OAuth mode on a loopback port against it,
and its installs kept in a real store, sealed under a real key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from adapters.slack import EVENTS_PATH, SlackRuntime, open_slack
from adapters.slack.oauth import BOT_SCOPES
from bot.config import Settings, load_settings
from bot.service.installs import WorkspaceInstalls
from bot.service.papersbot import PapersBot
from bot.service.sealing import Sealer, generate_key
from bot.store import Store
from tests.fakes.clock import Clock
from tests.fakes.slack import (
    CLIENT_ID,
    CLIENT_SECRET,
    SIGNING_SECRET,
    FakeSlack,
    command_form,
    signed_post,
)

KEY = generate_key()
TEAMS = {"TA": ("CA", "UA"), "TB": ("CB", "UB")}  # team -> (its channel, its admin)


def oauth_settings(fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": None,
        "slack_app_token": None,
        "slack_client_id": CLIENT_ID,
        "slack_client_secret": CLIENT_SECRET,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.api_url,
        "slack_oauth_authorize_url": fake.authorize_url,
        "slack_http_host": "127.0.0.1",
        "slack_http_port": 0,
        "papersbot_secret_key": KEY,
    }
    return load_settings(None, **{**values, **overrides})


@dataclass
class OAuthRig:
    """Everything an OAuth-mode test drives."""

    slack: FakeSlack
    runtime: SlackRuntime
    installs: WorkspaceInstalls
    store: Store
    clock: Clock
    http: aiohttp.ClientSession

    @property
    def url(self) -> str:
        assert self.runtime.url is not None
        return self.runtime.url

    async def command(self, text: str, team: str, rid: str, **kw: str) -> dict[str, Any]:
        """``/papers text`` by workspace *team*'s admin in its channel; the first answer at
        the response_url (an ephemeral reply)."""
        await self.send(text, team, rid, **kw)
        [answer, *_] = await self.slack.wait_responses(rid)
        return dict(answer)

    async def send(self, text: str, team: str, rid: str, **kw: str) -> None:
        """``/papers text`` by workspace *team*'s admin in its channel (acknowledged)."""
        channel, user = TEAMS.get(team, ("", ""))
        form = command_form(
            text,
            response_url=self.slack.response_url(rid),
            team=team,
            user=kw.get("user", user),
            channel=kw.get("channel", channel),
        )
        status, _, _ = await signed_post(self.http, f"{self.url}{EVENTS_PATH}", form)
        assert status == 200


def fake_with_teams(fake: FakeSlack) -> FakeSlack:
    fake.scopes = set(BOT_SCOPES)
    for team, (channel, user) in TEAMS.items():
        fake.add_workspace(team, f"Lab {team[-1]}")
        fake.add_channel(channel, team=team)
        fake.add_user(user, team_id=team, is_admin=True, tz="Europe/Berlin")
    return fake


@pytest.fixture
async def oauth(store: Store, clock: Clock) -> AsyncIterator[OAuthRig]:
    """The adapter in OAuth mode (nothing installed yet) against a two-workspace fake."""
    async with FakeSlack() as fake, aiohttp.ClientSession() as http:
        fake_with_teams(fake)
        installs = WorkspaceInstalls(
            store, Sealer.from_setting(oauth_settings(fake).papersbot_secret_key), clock
        )
        bot = PapersBot(store=store, clock=clock)
        async with open_slack(bot, oauth_settings(fake), installs) as runtime:
            fake.redirect_uri = f"{runtime.url}/slack/oauth_redirect"  # the app's registered URL
            yield OAuthRig(fake, runtime, installs, store, clock, http)
