"""Slack OAuth mode, every workspace its own world: scheduled posts and DMs go out with the
token of the workspace they post into, an uninstall (or a revoked token) stops exactly that
workspace's deliveries until it installs again, rotating tokens are refreshed before use,
and nothing sent from workspace A reads or changes anything of workspace B."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from adapters.slack import EVENTS_PATH
from adapters.slack.installs import PLATFORM
from bot.delivery.courier import LookupFailed, SendStatus
from bot.model.delivery import DeliveryKey, Target
from bot.model.replies import Reply
from bot.service.installs import UNINSTALLED, InstallKey
from tests.adapters.conftest_oauth import TEAMS, OAuthRig
from tests.fakes.slack import (
    action_form,
    command_form,
    event_body,
    install,
    signed_json,
    signed_post,
)

KEY = DeliveryKey.digest(date(2026, 8, 20))
HELLO = Reply(text="Top papers", ephemeral=False)
QUERIES = {"TA": "diffusion", "TB": "robotics"}


async def _set_up(rig: OAuthRig) -> dict[str, list[Target]]:
    """Install A and B; in each, a channel digest and the admin's subscription."""
    for team in TEAMS:
        assert (await install(rig.http, rig.url, team)).status == 200
        await rig.send("digest on at 09:00", team, f"D{team}")
        await rig.command(f"subscribe {QUERIES[team]}", team, f"S{team}")
    await rig.slack.wait_for(lambda: len(rig.slack.messages) == 2)
    found: dict[str, list[Target]] = {}
    for team, (channel, user) in TEAMS.items():
        digest = await rig.store.targets.find(PLATFORM, team, "channel", channel)
        dm = await rig.store.targets.find(PLATFORM, team, "user", user)
        assert digest is not None
        assert dm is not None
        found[team] = [digest, dm]
    return found


async def _uninstall_event(rig: OAuthRig, team: str, kind: str = "app_uninstalled") -> None:
    event = {"type": kind}
    if kind == "tokens_revoked":
        event["tokens"] = {"oauth": [], "bot": [f"UBOT{team}"]}  # type: ignore[assignment]
    status, _ = await signed_json(rig.http, f"{rig.url}{EVENTS_PATH}", event_body(event, team=team))
    assert status == 200


async def test_each_workspace_gets_its_posts_with_its_own_token(oauth: OAuthRig) -> None:
    targets = await _set_up(oauth)
    courier = oauth.runtime.courier
    for team in TEAMS:
        for target in targets[team]:
            result = await courier.send(target, HELLO, KEY)
            assert result.status is SendStatus.SENT, result
    tokens = {t: oauth.slack.workspaces[t].token for t in TEAMS}
    posted = {(c.args["channel"], c.token) for c in oauth.slack.calls_to("chat.postMessage")}
    assert posted >= {("CA", tokens["TA"]), ("DUA", tokens["TA"])}
    assert posted >= {("CB", tokens["TB"]), ("DUB", tokens["TB"])}
    opened = {(c.args["users"], c.token) for c in oauth.slack.calls_to("conversations.open")}
    assert opened == {("UA", tokens["TA"]), ("UB", tokens["TB"])}
    assert oauth.slack.crossed == []


async def test_replies_in_both_workspaces_go_over_one_kept_alive_connection(
    oauth: OAuthRig,
) -> None:
    """OAuth mode answers at the response_url over the adapter's one session too (not a
    session and a connection per message), whichever workspace asked."""
    for team in TEAMS:
        assert (await install(oauth.http, oauth.url, team)).status == 200
    for n in range(3):
        for team in TEAMS:
            answer = await oauth.command("help", team, f"K{team}{n}")
            assert answer["response_type"] == "ephemeral"
    peers = {r.peer for r in oauth.slack.responses if r.url_id.startswith("K")}
    assert len(peers) == 1, peers


async def test_an_uninstall_stops_that_workspace_only_and_a_reinstall_resumes_it(
    oauth: OAuthRig,
) -> None:
    targets = await _set_up(oauth)
    courier = oauth.runtime.courier
    oauth.slack.uninstall("TA")
    await _uninstall_event(oauth, "TA")
    assert await oauth.installs.find_workspace(PLATFORM, "TA") is None
    assert await oauth.installs.find(InstallKey(PLATFORM, "installation", team="TA")) is None
    for target in targets["TA"]:
        stopped = await oauth.store.targets.by_id(target.id)
        assert stopped is not None
        assert stopped.disabled_reason == UNINSTALLED
    assert not await oauth.store.targets.disabled() & {t.id for t in targets["TB"]}
    calls = len(oauth.slack.calls)
    result = await courier.send(targets["TA"][0], HELLO, KEY)
    assert result.status is SendStatus.PERMANENT
    assert "removed from this workspace" in result.detail
    assert len(oauth.slack.calls) == calls  # nothing was even tried with a dead token
    assert (await courier.send(targets["TB"][0], HELLO, KEY)).status is SendStatus.SENT

    assert (await install(oauth.http, oauth.url, "TA")).status == 200
    assert not await oauth.store.targets.disabled()
    assert (await courier.send(targets["TA"][1], HELLO, KEY)).status is SendStatus.SENT
    last = oauth.slack.calls_to("chat.postMessage")[-1]
    assert last.token == oauth.slack.workspaces["TA"].token  # the new install's token


async def test_a_bot_token_revoked_event_stops_the_workspace(oauth: OAuthRig) -> None:
    targets = await _set_up(oauth)
    oauth.slack.uninstall("TB")
    await _uninstall_event(oauth, "TB", "tokens_revoked")
    assert await oauth.installs.find_workspace(PLATFORM, "TB") is None
    assert await oauth.store.targets.disabled() == {t.id for t in targets["TB"]}


async def test_a_token_refused_without_any_event_stops_the_workspace_too(
    oauth: OAuthRig,
) -> None:
    """Slack's event can be lost (the bot was down): the first refused post stops the
    workspace instead of retrying a dead token until every grace window closes."""
    targets = await _set_up(oauth)
    oauth.slack.uninstall("TA")
    result = await oauth.runtime.courier.send(targets["TA"][0], HELLO, KEY)
    assert result.status is SendStatus.PERMANENT
    assert "token_revoked" in result.detail
    assert await oauth.store.targets.disabled() == {t.id for t in targets["TA"]}


async def test_rotating_tokens_are_refreshed_before_posts_and_requests(oauth: OAuthRig) -> None:
    team = oauth.slack.add_workspace("TR", "Rotating lab", rotating=True, expires_in=60)
    oauth.slack.add_channel("CR", team="TR")
    oauth.slack.add_user("UR", team_id="TR", is_admin=True)
    assert (await install(oauth.http, oauth.url, "TR")).status == 200
    first = team.token
    target = await oauth.store.targets.ensure(PLATFORM, "TR", "channel", "CR")
    assert (await oauth.runtime.courier.send(target, HELLO, KEY)).status is SendStatus.SENT
    second = team.token
    assert second != first  # refreshed: the old one no longer works at the fake
    assert oauth.slack.calls_to("chat.postMessage")[-1].token == second
    stored = await oauth.installs.find_workspace(PLATFORM, "TR")
    assert stored is not None
    assert stored["bot_token"] == second
    # a request refreshes through Bolt's authorize (the token expires within the hour)
    await oauth.send("today 1", "TR", "RR", channel="CR", user="UR")
    await oauth.slack.wait_responses("RR")
    assert team.token not in (first, second)
    refreshes = [c for c in oauth.slack.calls_to("oauth.v2.access") if "refresh_token" in c.args]
    assert len(refreshes) == 2


async def test_nothing_from_workspace_a_reads_or_changes_workspace_b(oauth: OAuthRig) -> None:
    await _set_up(oauth)
    b_target = await oauth.store.targets.find(PLATFORM, "TB", "user", "UB")
    assert b_target is not None
    [b_sub] = await oauth.store.schedules.subscriptions_of(b_target.id)
    # A's admin names B's subscription, and B's channel
    gone = await oauth.command(f"unsubscribe {b_sub.id}", "TA", "X1")
    assert "robotics" not in json.dumps(gone)
    off = await oauth.command("digest off", "TA", "X2", channel="CB")
    assert "robotics" not in json.dumps(off)
    listing = await oauth.command("subscriptions", "TA", "X3")
    assert "diffusion" in json.dumps(listing)
    assert "robotics" not in json.dumps(listing)
    status = await oauth.command("status", "TA", "X4")
    assert "robotics" not in json.dumps(status)
    # B is untouched
    assert [s.id for s in await oauth.store.schedules.subscriptions_of(b_target.id)] == [b_sub.id]
    b_channel = await oauth.store.targets.find(PLATFORM, "TB", "channel", "CB")
    assert b_channel is not None
    assert await oauth.store.schedules.digest(b_channel.id) is not None
    assert oauth.slack.crossed == []


async def test_an_org_wide_enterprise_install_is_stored_and_served_as_bolt_does(
    oauth: OAuthRig,
) -> None:
    """Enterprise Grid: one install for the whole organisation, kept under its enterprise id
    with no team; its commands and scheduled posts are the enterprise's."""
    grid = oauth.slack.add_workspace("TG", "Grid team", enterprise_id="E1", enterprise_install=True)
    oauth.slack.add_channel("CG", team="TG")
    oauth.slack.add_user("UG", team_id="TG", is_admin=True)
    assert (await install(oauth.http, oauth.url, "TG")).status == 200
    assert await oauth.installs.find(InstallKey(PLATFORM, "bot", enterprise="E1")) is not None
    form = command_form(
        "digest on at 09:00", response_url=oauth.slack.response_url("RG"), team="TG"
    )
    form.update(channel_id="CG", user_id="UG", enterprise_id="E1", is_enterprise_install="true")
    status, _, _ = await signed_post(oauth.http, f"{oauth.url}{EVENTS_PATH}", form)
    assert status == 200
    await oauth.slack.wait_for(lambda: bool(oauth.slack.messages.get("CG")))
    target = await oauth.store.targets.find(PLATFORM, "E1", "channel", "CG")
    assert target is not None  # the organisation's, as its install is
    assert (await oauth.runtime.courier.send(target, HELLO, KEY)).status is SendStatus.SENT
    assert {c.token for c in oauth.slack.calls_to("chat.postMessage")} == {grid.token}
    await _uninstall_event_org(oauth)
    assert await oauth.store.targets.disabled() == {target.id}


async def _uninstall_event_org(rig: OAuthRig) -> None:
    body = event_body({"type": "app_uninstalled"}, team="TG", enterprise="E1", org_wide=True)
    status, _ = await signed_json(rig.http, f"{rig.url}{EVENTS_PATH}", body)
    assert status == 200


async def test_a_button_value_from_workspace_b_pressed_in_a_acts_only_in_a(
    oauth: OAuthRig,
) -> None:
    """A's user replays the Subscribe button of B's search: A's user gets a subscription in
    A; B's subscriptions are as they were."""
    await _set_up(oauth)
    found = await oauth.command("search robotics", "TB", "SB2")
    values = [
        element["value"]
        for block in found.get("blocks", [])
        for element in block.get("elements", [])
        if element.get("action_id") == "papers_subscribe"
    ]
    assert values, found
    b_target = await oauth.store.targets.find(PLATFORM, "TB", "user", "UB")
    assert b_target is not None
    before = await oauth.store.schedules.subscriptions_of(b_target.id)
    form = action_form(
        "papers_subscribe",
        values[0],
        response_url=oauth.slack.response_url("PA"),
        team="TA",
        user="UA",
        channel="CA",
    )
    status, _, _ = await signed_post(oauth.http, f"{oauth.url}{EVENTS_PATH}", form)
    assert status == 200
    await oauth.slack.wait_responses("PA")
    a_target = await oauth.store.targets.find(PLATFORM, "TA", "user", "UA")
    assert a_target is not None
    queries = [s.query for s in await oauth.store.schedules.subscriptions_of(a_target.id)]
    assert sorted(queries) == ["diffusion", "robotics"]
    assert await oauth.store.schedules.subscriptions_of(b_target.id) == before
    assert {c.token for c in oauth.slack.calls_to("users.info") if c.args["user"] == "UA"} == {
        oauth.slack.workspaces["TA"].token
    }


async def test_a_look_up_in_a_workspace_without_credentials_stops_it(oauth: OAuthRig) -> None:
    """Before re-sending, the courier asks Slack what went out; with no credentials left for
    the workspace it cannot ask, says so, and stops the workspace's deliveries."""
    targets = await _set_up(oauth)
    await oauth.installs.delete(InstallKey(PLATFORM, "bot", team="TA"))
    with pytest.raises(LookupFailed, match="not installed"):
        await oauth.runtime.courier.find_sent(
            targets["TA"][0], KEY, datetime(2026, 8, 20, tzinfo=UTC)
        )
    assert await oauth.store.targets.disabled() == {t.id for t in targets["TA"]}
