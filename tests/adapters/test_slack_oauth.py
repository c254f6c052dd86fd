"""Slack OAuth mode: installing through /slack/install and /slack/oauth_redirect (Bolt's own
flow, the state kept in papersbot's store), and each workspace served with its own token."""

from __future__ import annotations

import html
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from adapters.slack import open_slack
from adapters.slack.installs import PLATFORM
from adapters.slack.oauth import BOT_SCOPES
from bot.config import load_settings
from bot.errors import ConfigError
from bot.service.installs import InstallKey, WorkspaceInstalls
from bot.service.papersbot import PapersBot
from bot.service.sealing import Sealer, generate_key
from bot.store import Store
from tests.adapters.conftest_oauth import KEY, TEAMS, OAuthRig, oauth_settings
from tests.fakes.clock import Clock
from tests.fakes.slack import FakeSlack, finish_install, install, start_install

MANIFEST = Path(__file__).parents[2] / "adapters" / "slack" / "manifest.yml"


def _tokens_used(rig: OAuthRig, method: str) -> set[str | None]:
    return {call.token for call in rig.slack.calls_to(method)}


async def test_install_page_links_to_slack_with_the_manifest_scopes(oauth: OAuthRig) -> None:
    async with oauth.http.get(f"{oauth.url}/slack/install") as resp:
        page = await resp.text()
        assert resp.status == 200
        assert "slack-app-oauth-state=" in resp.headers["Set-Cookie"]
    [link] = re.findall(r'href="([^"]+)"', page)
    link = html.unescape(link)
    assert link.startswith(oauth.slack.authorize_url)
    assert "client_id=1111.2222" in link
    assert f"scope={','.join(BOT_SCOPES)}" in link
    assert re.search(r"state=[\w-]{40,}", link)


async def test_two_workspaces_install_and_each_is_served_with_its_own_token(
    oauth: OAuthRig,
) -> None:
    for team in TEAMS:
        visit = await install(oauth.http, oauth.url, team)
        assert visit.status == 200, visit.page
        assert f"papersbot is now in Lab {team[-1]}" in visit.page
    a, b = (oauth.slack.workspaces[t].token for t in TEAMS)
    assert a
    assert b
    assert a != b
    for team, rid in (("TA", "RA"), ("TB", "RB")):
        await oauth.send("digest on at 09:00", team, rid)
    # digest on posts its confirmation publicly, with the token of that workspace only
    await oauth.slack.wait_for(lambda: len(oauth.slack.messages) == 2)
    posts = oauth.slack.calls_to("chat.postMessage")
    assert {(c.args["channel"], c.token) for c in posts} == {("CA", a), ("CB", b)}
    assert oauth.slack.crossed == []
    assert _tokens_used(oauth, "users.info") == {a, b}


async def test_replayed_forged_expired_and_foreign_states_are_refused(oauth: OAuthRig) -> None:
    visit = await install(oauth.http, oauth.url, "TA")
    assert visit.status == 200
    # the same redirect again: the state was used up
    status, page = await finish_install(oauth.http, visit.redirect, visit.cookie)
    assert status == 401
    assert "expired or was already used" in page
    # a state never issued, with a matching cookie
    forged = re.sub(r"state=[^&]+", "state=forged", visit.redirect)
    status, page = await finish_install(oauth.http, forged, "slack-app-oauth-state=forged")
    assert (status, "expired or was already used" in page) == (401, True)
    # a redirect from another browser (no state cookie)
    redirect, _ = await start_install(oauth.http, oauth.url, "TB")
    status, page = await finish_install(oauth.http, redirect, None)
    assert (status, "another browser" in page) == (400, True)
    # an issued state past its 10 minutes
    redirect, cookie = await start_install(oauth.http, oauth.url, "TB")
    oauth.clock.advance(minutes=11)
    status, page = await finish_install(oauth.http, redirect, cookie)
    assert (status, "expired" in page) == (401, True)
    assert 'href="/slack/install"' in page
    # none of them installed anything: only A's one install exchanged a code
    assert len(oauth.slack.calls_to("oauth.v2.access")) == 1
    assert await oauth.installs.find(InstallKey(PLATFORM, "bot", team="TB")) is None


async def test_a_cancelled_install_says_so(oauth: OAuthRig) -> None:
    async with oauth.http.get(f"{oauth.url}/slack/oauth_redirect?error=access_denied") as resp:
        assert resp.status == 200
        assert "cancelled" in await resp.text()


async def test_tokens_are_sealed_at_rest_and_a_wrong_key_is_named(
    oauth: OAuthRig, tmp_path: Path
) -> None:
    await install(oauth.http, oauth.url, "TA")
    token = oauth.slack.workspaces["TA"].token
    assert token is not None
    with closing(sqlite3.connect(tmp_path / "papers.db")) as conn:
        rows = conn.execute("SELECT payload FROM installations").fetchall()
        dump = "\n".join(conn.iterdump())
    assert len(rows) == 2  # the installation and the workspace's bot
    assert token not in dump
    assert token.encode() not in b"".join(r[0] for r in rows)
    found = await oauth.installs.find(InstallKey(PLATFORM, "bot", team="TA"))
    assert found is not None
    assert found["bot_token"] == token
    other = WorkspaceInstalls(oauth.store, Sealer.from_setting(load_key(generate_key())), Clock())
    with pytest.raises(ConfigError, match="PAPERSBOT_SECRET_KEY cannot decrypt 2 of the 2"):
        await other.check(PLATFORM)


def load_key(value: str) -> object:
    return load_settings(None, papersbot_secret_key=value).papersbot_secret_key


async def test_a_new_key_first_reseals_every_record(oauth: OAuthRig) -> None:
    await install(oauth.http, oauth.url, "TA")
    new = generate_key()
    rotated = WorkspaceInstalls(oauth.store, Sealer.from_setting(load_key(f"{new},{KEY}")), Clock())
    assert await rotated.check(PLATFORM) == 2
    only_new = WorkspaceInstalls(oauth.store, Sealer.from_setting(load_key(new)), Clock())
    assert await only_new.check(PLATFORM) == 2  # every record now opens with the new key
    found = await only_new.find(InstallKey(PLATFORM, "bot", team="TA"))
    assert found is not None
    assert found["bot_token"] == oauth.slack.workspaces["TA"].token


async def test_a_command_from_a_workspace_without_install_gets_no_answer_from_the_core(
    oauth: OAuthRig,
) -> None:
    """Bolt finds no installation for the team: it answers with its reinstall notice, and
    nothing reaches the core (no users.info, no post)."""
    await install(oauth.http, oauth.url, "TA")
    answer = await oauth.command("digest on", "TB", "R1")
    assert "reinstall" in answer["text"].lower() or "no longer available" in answer["text"]
    assert oauth.slack.calls_to("users.info") == []


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        ({"papersbot_secret_key": None}, "PAPERSBOT_SECRET_KEY is not set"),
        ({"slack_client_secret": None}, "SLACK_CLIENT_SECRET is not set"),
        ({"slack_app_token": "xapp-1-x"}, "SLACK_APP_TOKEN"),
        ({"slack_signing_secret": None}, "SLACK_SIGNING_SECRET is not set"),
    ],
)
async def test_oauth_mode_misconfiguration_names_the_setting(
    store: Store, clock: Clock, overrides: dict[str, object], names: str
) -> None:
    async with FakeSlack() as fake:
        settings = oauth_settings(fake, **overrides)
        key = settings.papersbot_secret_key
        installs = WorkspaceInstalls(store, Sealer.from_setting(key), clock) if key else None
        with pytest.raises(ConfigError, match=names):
            async with open_slack(PapersBot(store=store, clock=clock), settings, installs):
                pass


def test_a_malformed_key_is_named_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as raised:
        Sealer.from_setting(load_key("hunter2-not-a-key"))
    assert "PAPERSBOT_SECRET_KEY" in str(raised.value)
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("name", ["manifest.yml", "manifest-oauth.yml"])
def test_the_manifests_ask_for_exactly_the_scopes_the_install_link_asks_for(name: str) -> None:
    lines = (MANIFEST.parent / name).read_text("utf-8").splitlines()
    start = lines.index("    bot:")
    scopes = []
    for line in lines[start + 1 :]:
        if not line.startswith("      - "):
            break
        scopes.append(line.removeprefix("      - ").split("#")[0].strip())
    assert tuple(scopes) == BOT_SCOPES


async def test_a_workspace_state_flood_is_bounded(
    oauth: OAuthRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.service.installs.MAX_PENDING_STATES", 3)
    statuses = []
    for _ in range(5):
        async with oauth.http.get(f"{oauth.url}/slack/install") as resp:
            statuses.append(resp.status)
    assert statuses == [200, 200, 200, 503, 503]
    oauth.clock.advance(minutes=11)  # the pending ones expire and make room
    async with oauth.http.get(f"{oauth.url}/slack/install") as resp:
        assert resp.status == 200


async def test_a_forged_code_with_a_good_state_installs_nothing(oauth: OAuthRig) -> None:
    redirect, cookie = await start_install(oauth.http, oauth.url, "TA")
    forged = re.sub(r"code=[^&]+", "code=code-TB-999", redirect)
    status, page = await finish_install(oauth.http, forged, cookie)
    assert status == 401
    assert "Slack did not accept this install" in page
    assert await oauth.installs.workspaces(PLATFORM) == 0


async def test_an_oversized_state_is_refused_like_any_unknown_one(oauth: OAuthRig) -> None:
    redirect, _ = await start_install(oauth.http, oauth.url, "TA")
    huge = "s" * 5000
    forged = re.sub(r"state=[^&]+", f"state={huge}", redirect)
    status, page = await finish_install(oauth.http, forged, f"slack-app-oauth-state={huge}")
    assert status == 401
    assert "expired or was already used" in page
