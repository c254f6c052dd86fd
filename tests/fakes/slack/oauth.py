"""The fake Slack's workspaces: OAuth v2 installs, one bot token per workspace, and checks
that every call is made with the token of the workspace it touches.

* ``GET /oauth/v2/authorize?client_id&scope&state[&redirect_uri][&team]``: Slack's consent
  page, approved at once for workspace ``team`` (or :attr:`OAuthFake.approve_as`): a 302 to
  the redirect URI with a one-time ``code`` (10 minutes) and the ``state``, as Slack does.
  A wrong client id or scopes other than the app's are refused with a 400 page.
* ``oauth.v2.access`` (HTTP Basic client credentials): ``grant_type=authorization_code``
  mints the workspace's bot token (a new one per install); ``refresh_token`` rotates it
  when :attr:`Workspace.rotating` (the old token stops working).
* ``auth.test`` answers for the workspace of the token it is called with.
* A call with a token of workspace A about a channel or user of workspace B fails with
  ``channel_not_found`` / ``user_not_found`` and is recorded in :attr:`OAuthFake.crossed`.
* :meth:`OAuthFake.uninstall` revokes every token of a workspace (``token_revoked``).
"""

from __future__ import annotations

import base64
import html
import itertools
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret"
CODE_TTL = 600


@dataclass
class Workspace:
    """One Slack workspace the fake can install the app into."""

    team_id: str
    name: str
    bot_user: str
    bot_id: str
    enterprise_id: str | None = None
    enterprise_install: bool = False  # an org-wide (Enterprise Grid) install
    rotating: bool = False  # token rotation: tokens expire, with refresh tokens
    expires_in: int = 43200  # seconds a rotating token lives
    tokens: list[str] = field(default_factory=list)  # every token minted, newest last
    revoked: set[str] = field(default_factory=set)

    @property
    def token(self) -> str | None:
        """The newest working token."""
        live = [t for t in self.tokens if t not in self.revoked]
        return live[-1] if live else None


class OAuthFake:
    """The workspace side of :class:`tests.fakes.slack.FakeSlack` (a mixin)."""

    port: int
    team_id: str

    def _init_workspaces(self, default: Workspace, token: str) -> None:
        self.workspaces: dict[str, Workspace] = {default.team_id: default}
        self.token_owner: dict[str, Workspace] = {token: default}
        default.tokens.append(token)
        self.channel_teams: dict[str, str] = {}
        self.crossed: list[tuple[str, str, str]] = []  # (method, token's team, what)
        self.client_id, self.client_secret = CLIENT_ID, CLIENT_SECRET
        self.scopes: set[str] | None = None  # what the app must ask for (None: anything)
        self.redirect_uri: str | None = None  # the app's registered redirect URL
        self.approve_as: str | None = None
        self._codes: dict[str, tuple[str, float, str | None]] = {}
        self._refresh: dict[str, Workspace] = {}
        self._minted = itertools.count(1)

    def add_workspace(
        self,
        team_id: str,
        name: str | None = None,
        *,
        enterprise_id: str | None = None,
        enterprise_install: bool = False,
        rotating: bool = False,
        expires_in: int = 43200,
    ) -> Workspace:
        """A workspace the app can be installed into (its bot user is ``U`` + the team)."""
        found = Workspace(
            team_id,
            name or f"Team {team_id}",
            bot_user=f"UBOT{team_id}",
            bot_id=f"BBOT{team_id}",
            enterprise_id=enterprise_id,
            enterprise_install=enterprise_install,
            rotating=rotating,
            expires_in=expires_in,
        )
        self.workspaces[team_id] = found
        return found

    def uninstall(self, team_id: str) -> None:
        """The workspace removed the app: every token it had stops working."""
        found = self.workspaces[team_id]
        found.revoked.update(found.tokens)

    def owner(self, token: str | None) -> Workspace | None:
        """The workspace a working bot token belongs to."""
        found = self.token_owner.get(token or "")
        return found if found is not None and token not in found.revoked else None

    def team_of_channel(self, channel: str) -> str:
        return self.channel_teams.get(channel, self.team_id)

    def crosses(self, method: str, token: str | None, team: str, what: str) -> bool:
        """Whether a call with *token* touches *what* of another *team* (then recorded)."""
        mine = self.owner(token)
        if mine is None or mine.team_id == team:
            return False
        self.crossed.append((method, mine.team_id, what))
        return True

    # -- the consent page and oauth.v2.access -----------------------------------------

    async def _authorize(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("client_id") != self.client_id:
            return web.Response(status=400, text="invalid_client_id")
        asked = {s for s in query.get("scope", "").split(",") if s}
        if self.scopes is not None and asked != self.scopes:
            return web.Response(status=400, text=f"invalid_scope: {sorted(asked ^ self.scopes)}")
        team = query.get("team") or self.approve_as
        redirect = query.get("redirect_uri") or self.redirect_uri
        if team not in self.workspaces or redirect is None:
            return web.Response(status=400, text="no workspace chosen or no redirect URL")
        code = f"code-{team}-{next(self._minted)}"
        self._codes[code] = (team, time.monotonic(), query.get("redirect_uri"))
        params = urllib.parse.urlencode({"code": code, "state": query.get("state", "")})
        raise web.HTTPFound(f"{redirect}?{params}")

    def client_ok(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        try:
            pair = base64.b64decode(header.removeprefix("Basic ")).decode()
        except ValueError:
            return False
        return pair == f"{self.client_id}:{self.client_secret}"

    def _oauth_v2_access(self, args: dict[str, Any]) -> dict[str, Any] | str:
        if args.get("grant_type") == "refresh_token":
            found = self._refresh.pop(str(args.get("refresh_token")), None)
            return "invalid_refresh_token" if found is None else self._grant(found)
        entry = self._codes.pop(str(args.get("code", "")), None)
        if entry is None or time.monotonic() - entry[1] > CODE_TTL:
            return "invalid_code"
        team, _, redirect = entry
        if redirect is not None and args.get("redirect_uri") != redirect:
            return "bad_redirect_uri"
        return self._grant(self.workspaces[team], installer=f"UINST{team}")

    def _grant(self, found: Workspace, *, installer: str | None = None) -> dict[str, Any]:
        token = f"xoxb-{found.team_id}-{next(self._minted)}"
        if found.rotating and found.tokens:  # a refresh retires the token it replaces
            found.revoked.update(found.tokens)
        found.tokens.append(token)
        self.token_owner[token] = found
        enterprise = {"id": found.enterprise_id, "name": "Grid"} if found.enterprise_id else None
        grant: dict[str, Any] = {
            "app_id": "A0FAKE",
            "scope": ",".join(sorted(self.scopes or {"commands"})),
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": found.bot_user,
            "team": None if found.enterprise_install else {"id": found.team_id, "name": found.name},
            "enterprise": enterprise,
            "is_enterprise_install": found.enterprise_install,
        }
        if installer is not None:
            grant["authed_user"] = {"id": installer}
        if found.rotating:
            refresh = f"xoxe-1-{found.team_id}-{next(self._minted)}"
            self._refresh[refresh] = found
            grant.update(refresh_token=refresh, expires_in=found.expires_in)
        return grant

    def auth_test_for(self, token: str | None) -> dict[str, Any]:
        found = self.owner(token) or self.workspaces[self.team_id]
        answer: dict[str, Any] = {
            "url": f"https://{found.team_id.lower()}.slack.com/",
            "team": found.name,
            "user": "papersbot",
            "team_id": found.team_id,
            "user_id": found.bot_user,
            "bot_id": found.bot_id,
        }
        if found.enterprise_id:
            answer.update(enterprise_id=found.enterprise_id)
            answer.update(is_enterprise_install=found.enterprise_install)
        return answer


@dataclass
class Visit:
    """What a browser saw at the end of an install: the page, and the steps to get there."""

    status: int
    page: str
    redirect: str = ""  # the /slack/oauth_redirect URL Slack sent the browser to
    cookie: str = ""  # the state cookie /slack/install set


async def start_install(http: aiohttp.ClientSession, base: str, team: str) -> tuple[str, str]:
    """Open ``/slack/install?team=`` like a browser and follow the Add-to-Slack link to the
    fake's consent page; return ``(redirect URL with code and state, state cookie)``."""
    async with http.get(f"{base}/slack/install", params={"team": team}) as resp:
        assert resp.status == 200, await resp.text()
        page = await resp.text()
        cookie = resp.headers.get("Set-Cookie", "").split(";")[0]
    [link] = re.findall(r'href="([^"]+/oauth/v2/authorize[^"]*)"', page)
    async with http.get(html.unescape(link), allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        return resp.headers["Location"], cookie


async def finish_install(
    http: aiohttp.ClientSession, redirect: str, cookie: str | None
) -> tuple[int, str]:
    """Land on ``/slack/oauth_redirect`` with (or without) the state cookie."""
    headers = {"Cookie": cookie} if cookie else {}
    async with http.get(redirect, headers=headers, allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def install(http: aiohttp.ClientSession, base: str, team: str) -> Visit:
    """The whole Add-to-Slack round trip for workspace *team*."""
    redirect, cookie = await start_install(http, base, team)
    status, page = await finish_install(http, redirect, cookie)
    return Visit(status, page, redirect, cookie)
