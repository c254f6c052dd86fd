"""``subscribe`` and ``digest`` from Slack: the caller's time zone and right to manage a
channel's digest come from one ``users.info`` call in the answering task (after the ack), plus
``SLACK_DIGEST_MANAGERS``; the Subscribe button goes through the same press path."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
import pytest

from adapters.slack import EVENTS_PATH, SlackRuntime, open_slack
from adapters.slack.payloads import command_verb
from bot.model.caller import Caller
from bot.model.replies import Reply
from tests.adapters.conftest import CHANNEL, USER, assert_valid, slack_settings
from tests.fakes.slack import APP_TOKEN, FakeSlack, action_form, command_form, signed_post

MANAGERS = "U0MGR, U0LISTED"
TOKEN = "0123456789abcdef"


class Recorder:
    """A stand-in for the core that records what it was asked, and by whom."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Caller]] = []

    async def respond(self, text: str, caller: Caller | None = None) -> Reply:
        assert caller is not None
        self.calls.append((text, caller))
        return Reply(text="ok")

    async def press(self, value: str, caller: Caller | None = None) -> Reply:
        assert caller is not None
        self.calls.append((value, caller))
        return Reply(text="ok")


@dataclass
class Harness:
    http: aiohttp.ClientSession
    slack: FakeSlack
    runtime: SlackRuntime
    core: Recorder
    sent: int = 0

    async def post(self, form: dict[str, str]) -> tuple[str, Caller]:
        """POST a signed request; wait for its answer; return what the core received."""
        status, body, _ = await signed_post(self.http, f"{self.runtime.url}{EVENTS_PATH}", form)
        assert (status, body) == (200, "")
        [answer] = await self.slack.wait_responses(f"R{self.sent}")
        assert answer["text"] == "ok"
        return self.core.calls[-1]

    async def command(self, text: str, user: str = USER) -> Caller:
        self.sent += 1
        url = self.slack.response_url(f"R{self.sent}")
        return (await self.post(command_form(text, response_url=url, user=user)))[1]

    async def press(self, action_id: str, value: str, user: str = USER) -> tuple[str, Caller]:
        self.sent += 1
        url = self.slack.response_url(f"R{self.sent}")
        return await self.post(action_form(action_id, value, response_url=url, user=user))


@pytest.fixture
async def bot(slack: FakeSlack, http: aiohttp.ClientSession) -> AsyncIterator[Harness]:
    core = Recorder()
    settings = slack_settings(slack, slack_digest_managers=MANAGERS)
    async with open_slack(core, settings) as runtime:
        yield Harness(http, slack, runtime, core)


@pytest.mark.parametrize(
    ("user", "setup", "timezone", "can_manage"),
    [
        (USER, lambda s: None, "Europe/Berlin", False),
        ("U0ADM", lambda s: s.add_user("U0ADM", tz="America/New_York", is_admin=True),
         "America/New_York", True),
        ("U0OWN", lambda s: s.add_user("U0OWN", is_owner=True), "UTC", True),
        ("U0TOP", lambda s: s.add_user("U0TOP", is_primary_owner=True), "UTC", True),
        ("U0MGR", lambda s: s.add_user("U0MGR", tz="Asia/Tokyo"), "Asia/Tokyo", True),
        ("U0LISTED", lambda s: None, None, True),  # users.info: user_not_found
        ("U0NOBODY", lambda s: None, None, False),
        ("U0MARS", lambda s: s.add_user("U0MARS", tz="Mars/Olympus_Mons"), None, False),
        ("U0DIR", lambda s: s.add_user("U0DIR", tz="America"), None, False),
        ("U0NOTZ", lambda s: s.add_user("U0NOTZ", tz=None), None, False),
        ("U0EXT", lambda s: s.add_user("U0EXT", is_admin=True, team_id="T0OTHER"), "UTC", False),
        (USER, lambda s: s.fail("users.info", "missing_scope"), None, False),
        ("U0MGR", lambda s: s.fail("users.info", "missing_scope"), None, True),
    ],
)  # fmt: skip
async def test_subscribe_knows_the_callers_zone_and_role(
    bot: Harness,
    user: str,
    setup: Callable[[FakeSlack], None],
    timezone: str | None,
    can_manage: bool,
) -> None:
    setup(bot.slack)
    caller = await bot.command("subscribe diffusion at 8am", user=user)
    assert (caller.timezone, caller.can_manage) == (timezone, can_manage)
    assert (caller.user_id, caller.workspace_id, caller.channel_id) == (user, "T0FAKE", "C0LAB")
    [info] = bot.slack.calls_to("users.info")
    assert info.args["user"] == user


@pytest.mark.parametrize(
    "text",
    ["digest on at 9am", "DIGEST status", "digest off", "/papers subscribe x", "  subscribe  x"],
)
async def test_digest_commands_are_enriched_too(bot: Harness, text: str) -> None:
    bot.slack.add_user("U0ADM", tz="Europe/Paris", is_admin=True)
    caller = await bot.command(text, user="U0ADM")
    assert (caller.timezone, caller.can_manage) == ("Europe/Paris", True)
    assert bot.core.calls[-1][0] == text
    assert len(bot.slack.calls_to("users.info")) == 1


@pytest.mark.parametrize(
    "text", ["today", "search subscribe", "subscriptions", "unsubscribe 1", "digestion", ""]
)
async def test_other_commands_cost_no_users_info(bot: Harness, text: str) -> None:
    bot.slack.add_user("U0ADM", is_admin=True)
    caller = await bot.command(text, user="U0ADM")
    assert (caller.timezone, caller.can_manage) == (None, False)
    assert bot.slack.calls_to("users.info") == []


async def test_the_subscribe_button_is_enriched_and_reaches_press(bot: Harness) -> None:
    value, caller = await bot.press("papers_subscribe", f"subscribe:{TOKEN}", user="U0MGR")
    assert value == f"subscribe:{TOKEN}"
    assert (caller.user_id, caller.can_manage) == ("U0MGR", True)
    value, caller = await bot.press("papers_more", f"more:{TOKEN}:5")
    assert value == f"more:{TOKEN}:5"
    assert caller.timezone is None
    assert len(bot.slack.calls_to("users.info")) == 1


async def test_users_info_runs_after_the_ack(bot: Harness) -> None:
    release = bot.slack.hold("users.info")
    form = command_form("subscribe x", response_url=bot.slack.response_url("R9"))
    url = f"{bot.runtime.url}{EVENTS_PATH}"
    status, body, seconds = await signed_post(bot.http, url, form)
    assert (status, body) == (200, "")
    assert seconds < 1.0
    # the answering task is now waiting on users.info
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("users.info")))
    assert len(bot.slack.calls_to("users.info")) == 1
    assert bot.core.calls == []
    release.set()
    await bot.slack.wait_responses("R9")
    assert bot.core.calls[-1][1].timezone == "Europe/Berlin"


async def test_socket_mode_passes_the_managers_too(slack: FakeSlack) -> None:
    core = Recorder()
    settings = slack_settings(
        slack, slack_app_token=APP_TOKEN, slack_signing_secret=None, slack_digest_managers="U0MGR"
    )
    async with open_slack(core, settings):
        form = command_form("digest on", response_url=slack.response_url("R1"), user="U0MGR")
        assert await slack.send_envelope("slash_commands", form) == {}
        await slack.wait_responses("R1")
    [(_, caller)] = core.calls
    assert (caller.can_manage, caller.timezone) == (True, None)


@pytest.mark.parametrize(
    ("text", "verb"),
    [
        ("subscribe foo", "subscribe"),
        ("/papers  Digest on", "digest"),
        ("/PAPERS subscribe", "subscribe"),
        ("subscribe\tfoo", "subscribe"),
        ("", ""),
        ("   ", ""),
        ("/papers", ""),
    ],
)
def test_command_verb(text: str, verb: str) -> None:
    assert command_verb(text) == verb


async def test_search_then_subscribe_end_to_end(
    http: aiohttp.ClientSession, running: SlackRuntime, slack: FakeSlack
) -> None:
    """With the real core: the search page's Subscribe button subscribes the presser, in
    their Slack time zone, and answers only them."""
    form = command_form("search graph OR medical", response_url=slack.response_url("R1"))
    await signed_post(http, f"{running.url}{EVENTS_PATH}", form)
    [page] = await slack.wait_responses("R1")
    rows = [b["elements"] for b in page["blocks"] if b["type"] == "actions"]
    [button] = [e for row in rows for e in row if e["action_id"] == "papers_subscribe"]
    assert button["text"]["text"] == "Subscribe"
    form = action_form("papers_subscribe", button["value"], response_url=slack.response_url("R2"))
    await signed_post(http, f"{running.url}{EVENTS_PATH}", form)
    [answer] = await slack.wait_responses("R2")
    assert answer["response_type"] == "ephemeral"
    assert not answer["blocks"][0]["text"]["text"].startswith(":warning:"), answer
    assert "Europe/Berlin" in str(answer)
    assert slack.messages[CHANNEL] == []
    [info] = slack.calls_to("users.info")
    assert info.args["user"] == USER


async def test_digest_on_needs_a_manager_end_to_end(
    http: aiohttp.ClientSession, running: SlackRuntime, slack: FakeSlack
) -> None:
    """With the real core: a plain member is refused privately; an admin's digest is
    announced in the channel under the core's own heading, in the admin's time zone."""
    slack.add_user("U0ADM", tz="Asia/Tokyo", is_admin=True)
    form = command_form("digest on at 9am", response_url=slack.response_url("R1"))
    await signed_post(http, f"{running.url}{EVENTS_PATH}", form)
    [refusal] = await slack.wait_responses("R1")
    assert refusal["response_type"] == "ephemeral"
    assert refusal["blocks"][0]["text"]["text"].startswith(":warning:")
    assert "manage this channel" in refusal["text"]
    url = slack.response_url("R2")
    form = command_form("digest on at 9am", response_url=url, user="U0ADM")
    await signed_post(http, f"{running.url}{EVENTS_PATH}", form)
    await slack.wait_for(lambda: bool(slack.messages[CHANNEL]))
    [post] = slack.messages[CHANNEL]
    assert_valid([post])
    assert post["blocks"][0]["type"] == "header"
    assert post["blocks"][0]["text"]["text"].startswith("Digest ")
    assert "09:00 Asia/Tokyo" in str(post["blocks"])
    assert "Shared by" not in str(post)
    assert slack.responses_to("R2") == []
