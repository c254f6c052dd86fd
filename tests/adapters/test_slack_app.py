"""The Slack app end to end: real signed requests into the real slack-bolt app over
loopback HTTP (and Socket Mode), answers checked where the fake Slack received them."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.slack import EVENTS_PATH, HEALTH_PATH, SlackRuntime, open_slack, run_slack
from adapters.slack import app as slack_app
from adapters.slack.payloads import command_text
from bot.errors import ConfigError
from bot.model.caller import Caller
from bot.model.replies import Reply
from bot.service.papersbot import PapersBot
from tests.adapters.conftest import CHANNEL, USER, assert_valid, mentions, slack_settings
from tests.fakes.slack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    action_form,
    action_payload,
    command_form,
    signed_post,
)

ROOT = Path(__file__).resolve().parents[2]


async def command(
    http: aiohttp.ClientSession, rt: SlackRuntime, slack: FakeSlack, text: str, rid: str, **kw: Any
) -> dict[str, Any]:
    """Send ``/papers <text>`` signed; return the body posted to its response_url."""
    form = command_form(text, response_url=slack.response_url(rid), **kw)
    status, body, _ = await signed_post(http, f"{rt.url}{EVENTS_PATH}", form)
    assert (status, body) == (200, "")
    [answer] = await slack.wait_responses(rid)
    return answer  # type: ignore[no-any-return]


async def press(
    http: aiohttp.ClientSession, rt: SlackRuntime, slack: FakeSlack, action_id: str, value: str,
    rid: str, **kw: Any,
) -> None:  # fmt: skip
    form = action_form(action_id, value, response_url=slack.response_url(rid), **kw)
    status, body, _ = await signed_post(http, f"{rt.url}{EVENTS_PATH}", form)
    assert (status, body) == (200, "")


def buttons(message: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    return [
        e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    ]


async def test_search_pages_through_31_results_with_more(
    http: aiohttp.ClientSession, running: SlackRuntime, slack: FakeSlack
) -> None:
    page = await command(http, running, slack, "search graph OR medical", "R0")
    seen: list[str] = []
    for number in range(1, 10):
        assert_valid([page])
        assert page["response_type"] == "ephemeral"
        assert page["blocks"][0]["text"]["text"].startswith(f"Results {len(seen) + 1}–")
        assert page["blocks"][0]["text"]["text"].endswith("of 31 for “graph OR medical”")
        seen += [b["value"].removeprefix("show:") for b in buttons(page, "papers_show")]
        more = buttons(page, "papers_more")
        if not more:
            break
        await press(http, running, slack, "papers_more", more[0]["value"], f"R{number}")
        [page] = await slack.wait_responses(f"R{number}")
        assert page["replace_original"] is False
    assert number == 7  # one of the 31 matches only in its AI summary
    assert len(seen) == len(set(seen)) == 31


class GatedBot:
    """The real bot behind a gate: it starts answering only when the test says so."""

    def __init__(self, bot: PapersBot) -> None:
        self.bot, self.started, self.gate = bot, asyncio.Event(), asyncio.Event()

    async def respond(self, text: str, caller: Caller | None = None) -> Reply:
        self.started.set()
        await self.gate.wait()
        return await self.bot.respond(text, caller)

    async def press(self, value: str, caller: Caller | None = None) -> Reply:
        return await self.bot.press(value, caller)


async def test_ack_goes_out_before_the_slow_work(
    http: aiohttp.ClientSession, slack: FakeSlack, testbot: PapersBot
) -> None:
    gated = GatedBot(testbot)
    async with open_slack(gated, slack_settings(slack)) as rt:
        form = command_form("today", response_url=slack.response_url("R1"))
        status, body, seconds = await signed_post(http, f"{rt.url}{EVENTS_PATH}", form)
        assert (status, body) == (200, "")
        assert seconds < 1.0  # Slack's deadline is 3 s; the bot has not answered yet
        await asyncio.wait_for(gated.started.wait(), 2)
        assert slack.responses_to("R1") == []
        gated.gate.set()
        [answer] = await slack.wait_responses("R1")
    assert answer["blocks"][0]["text"]["text"].startswith("Top 5 papers")


async def test_an_acknowledged_answer_is_finished_when_the_adapter_stops(
    http: aiohttp.ClientSession, slack: FakeSlack, testbot: PapersBot
) -> None:
    """A restart between the ack and the answer: the adapter stops taking requests, then
    waits for the answer in flight (up to DRAIN_SECONDS) before it lets go of its session."""
    gated = GatedBot(testbot)
    async with open_slack(gated, slack_settings(slack)) as rt:
        form = command_form("today", response_url=slack.response_url("D1"))
        assert (await signed_post(http, f"{rt.url}{EVENTS_PATH}", form))[:2] == (200, "")
        await asyncio.wait_for(gated.started.wait(), 2)
        asyncio.get_running_loop().call_later(0.2, gated.gate.set)
    # open_slack has returned: the answer went out before it did
    [answer] = slack.responses_to("D1")
    assert answer["blocks"][0]["text"]["text"].startswith("Top 5 papers")


async def test_an_answer_that_outlasts_the_drain_is_cancelled(
    http: aiohttp.ClientSession,
    slack: FakeSlack,
    testbot: PapersBot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(slack_app, "DRAIN_SECONDS", 0.2)
    gated = GatedBot(testbot)  # its gate never opens
    started = time.monotonic()
    async with open_slack(gated, slack_settings(slack)) as rt:
        form = command_form("today", response_url=slack.response_url("D2"))
        assert (await signed_post(http, f"{rt.url}{EVENTS_PATH}", form))[:2] == (200, "")
        await asyncio.wait_for(gated.started.wait(), 2)
    assert time.monotonic() - started < 5  # not held up by the stuck answer
    assert "1 answers still running at shutdown are cancelled" in caplog.text
    assert slack.responses_to("D2") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", "Top 5 papers · Daily Papers 2026-08-19"),
        ("today 10", "Top 10 papers"),
        ("show 2608.17271", "ASI-Bench: At the Dawn of Artificial Superintelligence"),
        ("show <https://arxiv.org/abs/2608.17271v2|arxiv.org/abs/2608.17271v2>", "ASI-Bench"),
        ("", "papersbot: trending research papers, in chat"),
        ("help search", "Search syntax"),
        ("status", "papersbot status"),
        ("tody", ":warning: Unknown command `tody`. Did you mean `today`?"),
        ("search &lt;!channel&gt; &amp; zzzq", " for “&lt;!channel&gt; &amp; zzzq”"),
    ],
)
async def test_commands_answer_ephemerally(
    http: aiohttp.ClientSession, running: SlackRuntime, slack: FakeSlack, text: str, expected: str
) -> None:
    answer = await command(http, running, slack, text, "R1")
    assert_valid([answer])
    assert answer["response_type"] == "ephemeral"
    first = answer["blocks"][0]["text"]["text"]
    assert expected in first, first
    assert not mentions(answer)


async def test_replies_go_over_one_kept_alive_connection(
    http: aiohttp.ClientSession, running: SlackRuntime, slack: FakeSlack
) -> None:
    """Bolt's own respond() opened a session and a connection for every message; ours
    posts over the adapter's session, so answers one after another share a connection."""
    for n in range(4):
        answer = await command(http, running, slack, "search diffusion", f"K{n}")
        assert_valid([answer])
    peers = {r.peer for r in slack.responses if r.url_id.startswith("K")}
    assert len(peers) == 1, peers


async def test_share_posts_publicly_attributed_to_the_user(
    http: aiohttp.ClientSession, running: SlackRuntime, slack: FakeSlack
) -> None:
    await press(http, running, slack, "papers_share", "share:2608.17271", "R1")
    await slack.wait_for(lambda: bool(slack.messages[CHANNEL]))
    [post] = slack.messages[CHANNEL]
    assert_valid([post])
    assert post["blocks"][0]["elements"][0]["text"] == f"Shared by <@{USER}>"
    assert "ASI-Bench" in post["blocks"][1]["text"]["text"]
    kinds = {
        e["action_id"][:12] for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]
    }
    assert kinds == {"papers_link_"}  # no Show/Share buttons on the public copy
    assert slack.responses_to("R1") == []
    [call] = slack.calls_to("chat.postMessage")
    assert call.content_type == "application/json"
    assert call.token == BOT_TOKEN
    assert slack.calls_to("auth.test")[0].content_type == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda s: s.add_channel("C0PUB", member=False), "type `/invite @papersbot` here"),
        (lambda s: s.add_channel("C0PUB", archived=True), "This channel is archived"),
        (lambda s: None, "I can't post in this conversation"),
        (lambda s: s.add_channel("C0PUB") or s.fail("chat.postMessage", "invalid_blocks"),
         "Sorry, Slack could not show that message (error "),
        (lambda s: s.add_channel("C0PUB") or s.fail("chat.postMessage", "msg_too_long"),
         "Sorry, that message was too long for Slack (error "),
        (lambda s: s.add_channel("C0PUB") or setattr(s, "auth_error", "token_revoked"),
         "an operator must check SLACK_BOT_TOKEN"),
    ],
)  # fmt: skip
async def test_share_failures_are_explained_to_the_user(
    http: aiohttp.ClientSession,
    running: SlackRuntime,
    slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    setup: Any,
    expected: str,
) -> None:
    setup(slack)
    await press(http, running, slack, "papers_share", "share:2608.17271", "R1", channel="C0PUB")
    [answer] = await slack.wait_responses("R1")
    assert answer["response_type"] == "ephemeral"
    assert expected in answer["text"]
    assert slack.messages["C0PUB"] == []
    if "error " in expected:
        assert any("rejected our payload" in r.getMessage() and "bytes" in r.getMessage()
                   for r in caplog.records)  # fmt: skip


@pytest.mark.parametrize(
    "value",
    ["more:zzzz:5", "more:0123456789abcdef:5", "show:../../etc/passwd", "share:" + "9" * 60, ""],
)
async def test_stale_or_forged_buttons_get_a_polite_error(
    http: aiohttp.ClientSession, running: SlackRuntime, slack: FakeSlack, value: str
) -> None:
    await press(http, running, slack, "papers_more", value, "R1")
    [answer] = await slack.wait_responses("R1")
    assert answer["blocks"][0]["text"]["text"].startswith(":warning: ")
    assert "expired" in answer["text"] or "not valid" in answer["text"]


async def test_link_clicks_are_acknowledged_and_ignored(
    http: aiohttp.ClientSession, running: SlackRuntime, slack: FakeSlack
) -> None:
    await press(http, running, slack, "papers_link_0", "", "R1")
    await command(http, running, slack, "help", "R2")  # sent after it, answered
    assert slack.responses_to("R1") == []
    assert {c.method for c in slack.calls} == {"auth.test"}  # the start-up's, nothing else


async def test_bad_signature_and_replays_are_rejected_with_401(
    http: aiohttp.ClientSession, running: SlackRuntime, slack: FakeSlack
) -> None:
    url = f"{running.url}{EVENTS_PATH}"
    form = command_form("today", response_url=slack.response_url("R1"))
    forged = await signed_post(http, url, form, secret="not-the-secret")
    replayed = await signed_post(http, url, form, timestamp=int(time.time()) - 301)
    assert forged[0] == replayed[0] == 401
    async with http.post(url, data=form) as resp:  # no signature headers at all
        assert resp.status == 401
    await command(http, running, slack, "help", "R2")  # a signed one, sent after, answered
    assert [r.url_id for r in slack.responses] == ["R2"]


async def test_health_endpoint(http: aiohttp.ClientSession, running: SlackRuntime) -> None:
    async with http.get(f"{running.url}{HEALTH_PATH}") as resp:
        assert resp.status == 200
        assert await resp.json() == {"ok": True, "mode": "http"}


async def test_a_rejected_reply_is_logged_with_its_size_and_answered_briefly(
    http: aiohttp.ClientSession,
    running: SlackRuntime,
    slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    slack.fail("response_url", "invalid_blocks", status=400)
    form = command_form("today", response_url=slack.response_url("R1"))
    await signed_post(http, f"{running.url}{EVENTS_PATH}", form)
    [answer] = await slack.wait_responses("R1")
    assert answer["text"].startswith("Sorry, Slack could not show that message (error ")
    [record] = [r for r in caplog.records if "rejected our payload" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert "invalid_blocks" in record.getMessage()


async def test_unexpected_errors_are_logged_once_and_apologised_for(
    http: aiohttp.ClientSession, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        async def respond(self, text: str, caller: Caller | None = None) -> Reply:
            raise RuntimeError("boom")

        async def press(self, value: str, caller: Caller | None = None) -> Reply:
            raise RuntimeError("boom")

    async with open_slack(Broken(), slack_settings(slack)) as rt:
        form = command_form("today", response_url=slack.response_url("R1"))
        await signed_post(http, f"{rt.url}{EVENTS_PATH}", form)
        [answer] = await slack.wait_responses("R1")
    assert answer["text"].startswith("Sorry, something went wrong (error ")
    assert len([r for r in caplog.records if r.exc_info]) == 1


@pytest.mark.parametrize("code", ["invalid_auth", "token_revoked"])
async def test_a_bad_bot_token_fails_fast_naming_the_setting(
    slack: FakeSlack, testbot: PapersBot, code: str
) -> None:
    slack.auth_error = code
    with pytest.raises(ConfigError, match=f"SLACK_BOT_TOKEN was rejected by Slack \\({code}\\)"):
        async with open_slack(testbot, slack_settings(slack)):
            pass


async def test_settings_must_choose_a_mode(slack: FakeSlack, testbot: PapersBot) -> None:
    with pytest.raises(ConfigError, match=r"SLACK_SIGNING_SECRET .* or SLACK_APP_TOKEN"):
        async with open_slack(testbot, slack_settings(slack, slack_signing_secret=None)):
            pass
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN was rejected"):
        async with open_slack(testbot, slack_settings(slack, slack_app_token="xapp-wrong")):
            pass


async def test_socket_mode_end_to_end(slack: FakeSlack, testbot: PapersBot) -> None:
    settings = slack_settings(slack, slack_app_token=APP_TOKEN, slack_signing_secret=None)
    async with open_slack(testbot, settings) as rt:
        assert rt.mode == "socket"
        assert rt.url is None
        assert rt.connected()  # readiness: the WebSocket is open
        form = command_form("search graph OR medical", response_url=slack.response_url("R1"))
        ack = await slack.send_envelope("slash_commands", form)
        assert ack == {}
        [page] = await slack.wait_responses("R1")
        more = buttons(page, "papers_more")[0]["value"]
        payload = action_payload("papers_more", more, response_url=slack.response_url("R2"))
        assert await slack.send_envelope("interactive", payload) == {}
        [page2] = await slack.wait_responses("R2")
    assert not rt.connected()  # closed with the adapter
    assert page2["blocks"][0]["text"]["text"].startswith("Results 6–10 of 31")
    opens = slack.calls_to("apps.connections.open")
    assert len(opens) == 2
    assert all(c.token == APP_TOKEN for c in opens)


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("search R&amp;D &lt;fast&gt; &amp;copy;", "search R&D <fast> &copy;"),
        ("show <https://arxiv.org/abs/2608.17271|arxiv.org/abs/2608.17271>", "show https://arxiv.org/abs/2608.17271"),
        ("search <@U123|ann> <#C1|general> <!here>", "search @ann #general @here"),
    ],
)  # fmt: skip
def test_command_text_undoes_slack_escaping(raw: str, plain: str) -> None:
    assert command_text(raw) == plain


async def test_no_secret_reaches_the_logs(
    http: aiohttp.ClientSession,
    slack: FakeSlack,
    testbot: PapersBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with open_slack(testbot, slack_settings(slack)) as rt:
        await command(http, rt, slack, "today", "R1")
        await press(http, rt, slack, "papers_share", "share:2608.17271", "R2")
        await slack.wait_for(lambda: bool(slack.messages[CHANNEL]))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "chat.postMessage" in text  # the debug logs were captured
    for secret in (BOT_TOKEN, SIGNING_SECRET, APP_TOKEN):
        assert secret not in text


def test_the_manifest_matches_the_app() -> None:
    manifest = (ROOT / "adapters" / "slack" / "manifest.yml").read_text()
    assert "- command: /papers" in manifest
    scopes = re.findall(r"^      - ([a-z:.]+)", manifest, flags=re.MULTILINE)
    assert scopes == [
        "commands",
        "chat:write",
        "im:write",
        "users:read",
        "channels:history",
        "groups:history",
        "im:history",
    ]
    assert manifest.count(f"url: https://papersbot.example.com{EVENTS_PATH}") == 2
    assert "socket_mode_enabled: true" in manifest


def test_the_adapter_imports_no_core_only_libraries() -> None:
    for path in (ROOT / "adapters" / "slack").glob("*.py"):
        imported = re.findall(r"^\s*(?:from|import) (\w+)", path.read_text(), flags=re.MULTILINE)
        assert not {"httpx", "aiosqlite", "apscheduler"} & set(imported), path


async def test_run_slack_serves_until_cancelled_then_cleans_up(
    http: aiohttp.ClientSession, slack: FakeSlack, testbot: PapersBot
) -> None:
    with socket.socket() as probe:  # a free port: run_slack does not report the one it binds
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    task = asyncio.create_task(run_slack(testbot, slack_settings(slack, slack_http_port=port)))
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            async with http.get(url + HEALTH_PATH) as resp:
                assert resp.status == 200
                break
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.02)
    form = command_form("today 1", response_url=slack.response_url("R1"))
    assert (await signed_post(http, url + EVENTS_PATH, form))[0] == 200
    await slack.wait_responses("R1")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(aiohttp.ClientConnectionError):
        await http.get(url + HEALTH_PATH)
