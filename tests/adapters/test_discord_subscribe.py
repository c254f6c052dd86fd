"""``/papers subscribe|subscriptions|unsubscribe`` and ``/papers digest on|off|status``.

Real discord.py against the fake Discord: the synced schemas, the core command and
:class:`Caller` each typed subcommand produces (a :class:`Recorder` core), and bad values
answered with the core's own sentence, exactly as Slack's free text gets it.
"""

from __future__ import annotations

import adapters.discord  # noqa: F401  (first: it imports discord.py without the audioop warning)

# isort: split
import re
from datetime import time
from typing import Any, get_args

import pytest

from adapters.discord.options import Weekday, when_from, zone_choices
from adapters.discord.render import render_reply
from bot.grammar.commands import (
    Command,
    DigestOff,
    DigestOn,
    DigestStatus,
    Subscribe,
    Subscriptions,
    Unsubscribe,
)
from bot.grammar.options import DigestOptions, When, split_subscribe
from bot.model.caller import Caller
from bot.model.replies import Reply
from bot.model.schedule import DAYS, parse_timezone
from bot.store import Store
from tests.adapters.conftest_discord import Recorder, discord_env
from tests.fakes.discord import FakeDiscord, Interaction
from tests.fakes.discord_payloads import CHANNEL_ID, GUILD_ID, MEMBER_PERMISSIONS, USER_ID, Json

EPHEMERAL = 64
MANAGE_CHANNELS = 0x10
_NAME = re.compile(r"[-_\w]{1,32}")
_VALUE = {"name": "v", "type": 3, "description": "d", "required": False}
_REQUIRED = {"name": "r", "type": 3, "description": "d", "required": True}
GUILD_CALLER = Caller(
    platform="discord",
    user_id=str(USER_ID),
    user_name="Ada",
    channel_id=str(CHANNEL_ID),
    workspace_id=str(GUILD_ID),
    can_manage=False,
    timezone=None,
)


@pytest.fixture
def recorder(store: Store) -> Recorder:
    return Recorder(store)


@pytest.fixture
async def env(recorder: Recorder) -> Any:
    async with discord_env(recorder) as pair:
        yield pair


async def run(fake: FakeDiscord, sub: str, **options: Any) -> Interaction:
    return await fake.answered(await fake.slash(sub, **options))


def option_problems(option: Json, depth: int = 0) -> list[str]:
    """What Discord's command validation would refuse in one synced option, recursively."""
    name, kind = option["name"], option["type"]
    problems = []
    if not _NAME.fullmatch(name) or name != name.lower():
        problems.append(f"{name}: invalid name")
    if not 1 <= len(option.get("description", "")) <= 100:
        problems.append(f"{name}: description must be 1-100 characters")
    children = option.get("options") or []
    if len(children) > 25 or len(option.get("choices") or []) > 25:
        problems.append(f"{name}: at most 25 options or choices")
    nested = [c["type"] in (1, 2) for c in children]
    if depth == 0 and any(nested) and not all(nested):  # the command itself (type CHAT_INPUT)
        problems.append(f"{name}: subcommands and values do not mix")
    elif kind == 2 and (depth != 1 or any(c["type"] != 1 for c in children)):
        problems.append(f"{name}: a group sits at the top and holds only subcommands")
    elif kind == 1 and depth > 0:
        if any(c["type"] in (1, 2) for c in children) or depth > 2:
            problems.append(f"{name}: a subcommand holds only values")
        required = [c.get("required", False) for c in children]
        if required != sorted(required, reverse=True):
            problems.append(f"{name}: required options must come first")
    if depth > 0 and kind not in (1, 2) and (kind not in range(3, 12) or children):
        problems.append(f"{name}: option type {kind} is not a value type")
    if option.get("autocomplete") and option.get("choices"):
        problems.append(f"{name}: autocomplete and choices exclude each other")
    for choice in option.get("choices") or []:
        if not (1 <= len(choice["name"]) <= 100 and len(str(choice["value"])) <= 100):
            problems.append(f"{name}: choice {choice} is too long")
    if not 0 <= option.get("min_length", 0) <= option.get("max_length", 6000) <= 6000:
        problems.append(f"{name}: lengths must be 0 <= min <= max <= 6000")
    if option.get("min_value", 0) > option.get("max_value", 0) and "max_value" in option:
        problems.append(f"{name}: min_value above max_value")
    for child in children:
        problems += option_problems(child, depth + 1)
    return problems


async def test_sync_has_the_new_subcommands_with_valid_schemas(env: Any) -> None:
    fake, _ = env
    [papers] = fake.commands[None]
    assert option_problems(papers) == []
    subs = {o["name"]: o for o in papers["options"]}
    assert list(subs)[5:] == ["subscribe", "subscriptions", "unsubscribe", "digest"]
    subscribe = {o["name"]: o for o in subs["subscribe"]["options"]}
    assert list(subscribe) == ["query", "at", "tz", "cadence", "day"]
    assert [o["required"] for o in subscribe.values()] == [True, False, False, False, False]
    assert (subscribe["query"]["type"], subscribe["query"]["max_length"]) == (3, 250)
    assert subscribe["tz"]["autocomplete"] is True
    assert [c["value"] for c in subscribe["cadence"]["choices"]] == [
        "daily",
        "weekdays",
        "weekly",
    ]
    assert tuple(c["value"] for c in subscribe["day"]["choices"]) == DAYS
    [which] = subs["unsubscribe"]["options"]
    assert (which["name"], which["type"], which["required"]) == ("which", 3, True)
    assert subs["subscriptions"]["options"] == []
    digest = subs["digest"]
    assert digest["type"] == 2
    groups = {o["name"]: o for o in digest["options"]}
    assert list(groups) == ["on", "off", "status"]
    on = {o["name"]: o for o in groups["on"]["options"]}
    assert list(on) == ["at", "tz", "cadence", "day", "top", "min_upvotes", "empty_days", "filter"]
    assert not any(o["required"] for o in on.values())
    assert (on["top"]["type"], on["top"]["min_value"], on["top"]["max_value"]) == (4, 1, 10)
    assert (on["min_upvotes"]["min_value"], on["min_upvotes"]["max_value"]) == (0, 100_000)
    assert [c["value"] for c in on["empty_days"]["choices"]] == ["note", "silent"]
    assert on["filter"]["max_length"] == 250
    # Discord honours default_member_permissions on top-level commands only: /papers stays
    # open to everyone (search, today, ...) and the digest gate is the core's can_manage.
    assert papers["default_member_permissions"] is None
    assert "default_member_permissions" not in digest


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ({"name": "Digest", "type": 1, "description": "d"}, "invalid name"),
        ({"name": "on", "type": 1, "description": ""}, "description"),
        ({"name": "on", "type": 1, "description": "d" * 101}, "description"),
        ({"name": "g", "type": 2, "description": "d", "options": [_VALUE]}, "only subcommands"),
        ({"name": "s", "type": 1, "description": "d", "options": [_VALUE, _REQUIRED]}, "first"),
        ({"name": "s", "type": 1, "description": "d", "options": [_VALUE] * 26}, "at most 25"),
        (_VALUE | {"autocomplete": True, "choices": [{"name": "a", "value": "a"}]}, "exclude"),
        (_VALUE | {"max_length": 6001}, "lengths"),
        (_VALUE | {"min_value": 5, "max_value": 1}, "min_value"),
    ],
)
def test_the_schema_check_finds_what_discord_refuses(bad: Json, problem: str) -> None:
    command = {"name": "papers", "type": 1, "description": "d", "options": [bad]}
    if bad["type"] not in (1, 2):
        sub = {"name": "s", "type": 1, "description": "d", "options": [bad]}
        command["options"] = [sub]
    found = option_problems(command)
    assert len(found) == 1
    assert problem in found[0]


def test_weekday_choices_are_the_cores_days() -> None:
    assert get_args(Weekday) == DAYS


SUBCOMMANDS: list[tuple[str, dict[str, Any], Command]] = [
    ("subscribe", {"query": "diffusion"}, Subscribe("diffusion", When())),
    (
        "subscribe",
        {"query": "look  at attention at 8am", "at": "7:30 pm", "tz": "europe/berlin"},
        Subscribe("look at attention at 8am", When(time(19, 30), "Europe/Berlin")),
    ),
    (
        "subscribe",
        {"query": "author:hinton", "cadence": "weekly", "day": "friday"},
        Subscribe("author:hinton", When(cadence="weekly", weekday=4)),
    ),
    ("subscribe", {"query": "x", "day": "sunday"}, Subscribe("x", When(None, None, "weekly", 6))),
    ("subscribe", {"query": "x", "cadence": "weekly"}, Subscribe("x", When(cadence="weekly"))),
    ("subscribe", {"query": "x", "cadence": "daily"}, Subscribe("x", When(cadence="daily"))),
    ("subscriptions", {}, Subscriptions()),
    ("unsubscribe", {"which": "3"}, Unsubscribe(3)),
    ("unsubscribe", {"which": "#12"}, Unsubscribe(12)),
    ("unsubscribe", {"which": "ALL"}, Unsubscribe(None)),
    ("digest on", {}, DigestOn(DigestOptions())),
    (
        "digest on",
        {
            "at": "09:30",
            "tz": "UTC",
            "cadence": "weekdays",
            "top": 3,
            "min_upvotes": 10,
            "empty_days": "silent",
            "filter": " diffusion  OR video ",
        },
        DigestOn(
            DigestOptions(
                When(time(9, 30), "UTC", "weekdays"), 3, "diffusion OR video", 10, "silent"
            )
        ),
    ),
    (
        "digest on",
        {"day": "wednesday", "top": 10},
        DigestOn(DigestOptions(When(cadence="weekly", weekday=2), 10)),
    ),
    ("digest off", {}, DigestOff()),
    ("digest status", {}, DigestStatus()),
]


@pytest.mark.parametrize(("sub", "options", "expected"), SUBCOMMANDS)
async def test_each_subcommand_reaches_the_core_as_its_command(
    env: Any, recorder: Recorder, sub: str, options: dict[str, Any], expected: Command
) -> None:
    fake, _ = env
    ix = await run(fake, sub, **options)
    assert recorder.calls == [(expected, GUILD_CALLER)]
    [msg] = ix.messages
    assert msg["content"] == f"ok {type(expected).__name__}"
    assert msg["flags"] & EPHEMERAL


@pytest.mark.parametrize(
    ("dm", "permissions", "can_manage"),
    [
        (False, MEMBER_PERMISSIONS, False),
        (False, MEMBER_PERMISSIONS | MANAGE_CHANNELS, True),
        (True, MEMBER_PERMISSIONS | MANAGE_CHANNELS, False),  # a DM has no channel to manage
    ],
    ids=["member", "manager", "dm"],
)
async def test_the_caller_says_who_may_manage_the_channel(
    env: Any, recorder: Recorder, dm: bool, permissions: int, can_manage: bool
) -> None:
    fake, _ = env
    for sub in ("digest on", "subscribe"):
        options = {"query": "x"} if sub == "subscribe" else {}
        await run(fake, sub, dm=dm, permissions=permissions, **options)
    for _, caller in recorder.calls:
        assert caller is not None
        assert caller.can_manage is can_manage
        assert caller.timezone is None  # Discord tells bots no zone; the core's default applies
        assert caller.workspace_id == (None if dm else str(GUILD_ID))
        assert caller.user_id == str(USER_ID)
        assert caller.channel_id is not None


@pytest.mark.parametrize(
    ("sub", "options", "slack_text"),
    [
        ("subscribe", {"query": "diffusion", "at": "25:00"}, "subscribe diffusion at 25:00"),
        ("subscribe", {"query": "diffusion", "at": "13pm"}, "subscribe diffusion at 13pm"),
        ("subscribe", {"query": "diffusion", "tz": "Berln"}, "subscribe diffusion tz Berln"),
        ("subscribe", {"query": "diffusion", "tz": "Mars/Olympus"}, "subscribe x tz Mars/Olympus"),
        ("subscribe", {"query": "x", "at": "8:75"}, "subscribe x at 8:75"),
        ("unsubscribe", {"which": "three"}, "unsubscribe three"),
        ("digest on", {"at": "soon"}, "digest on at soon"),
        ("digest on", {"tz": "europe/berlinn", "top": 2}, "digest on tz europe/berlinn"),
    ],
)
async def test_bad_values_get_the_cores_sentence_ephemerally(
    env: Any, recorder: Recorder, sub: str, options: dict[str, Any], slack_text: str
) -> None:
    fake, _ = env
    core = await recorder.respond(slack_text)  # what a Slack user typing it is told
    assert core.is_error
    ix = await run(fake, sub, **options)
    [msg] = ix.messages
    assert msg["flags"] & EPHEMERAL
    assert msg["content"] == render_reply(core)[0].content
    assert msg["content"].startswith("⚠️ ")
    assert recorder.calls == []  # the core never ran a half-built command


async def test_a_day_with_a_daily_cadence_gets_the_cadence_hint(
    env: Any, recorder: Recorder
) -> None:
    fake, _ = env
    ix = await run(fake, "digest on", cadence="daily", day="friday")
    [msg] = ix.messages
    assert "is not a cadence; use" in msg["content"]
    assert msg["flags"] & EPHEMERAL
    blank = await run(fake, "subscribe", query="   ")
    assert blank.messages[0]["content"].startswith("⚠️ Subscribe to what?")
    assert recorder.calls == []


@pytest.mark.parametrize(
    ("sub", "options"),
    [
        ("digest on", {"top": 11}),
        ("digest on", {"top": 0}),
        ("digest on", {"min_upvotes": 100_001}),
        ("digest on", {"empty_days": "loud"}),
        ("digest on", {"filter": "x" * 251}),
        ("subscribe", {"query": "x" * 251}),
        ("subscribe", {"query": "x", "cadence": "hourly"}),
        ("subscribe", {"query": "x", "day": "fri"}),
    ],
)
async def test_discords_typed_limits_come_first(
    env: Any, sub: str, options: dict[str, Any]
) -> None:
    fake, _ = env
    with pytest.raises(AssertionError):  # Discord's client refuses before anything is sent
        await fake.slash(sub, **options)


@pytest.mark.parametrize(
    ("at", "tz", "cadence", "day", "text"),
    [
        ("8am", None, None, None, "at 8am"),
        ("20:30", "America/New_York", "weekdays", None, "at 20:30 tz America/New_York weekdays"),
        (None, "utc", "weekly", "friday", "tz utc weekly friday"),
        (None, None, None, "tuesday", "tuesdays"),
        ("noon", "asia/kolkata", "daily", None, "at noon tz asia/kolkata daily"),
    ],
)
def test_typed_schedules_equal_slacks_free_text(
    at: str | None, tz: str | None, cadence: Any, day: Any, text: str
) -> None:
    assert when_from(at, tz, cadence, day) == split_subscribe(f"diffusion {text}")[1]


def test_time_zone_autocomplete_offers_canonical_zones() -> None:
    assert [c.value for c in zone_choices("berlin")] == ["Europe/Berlin"]
    assert zone_choices("new york")[0].value == "America/New_York"
    assert zone_choices("UTC")[0].value == "UTC"
    europe = zone_choices("europe/")
    assert len(europe) == 25
    assert all(c.value.startswith("Europe/") for c in europe)
    assert len(zone_choices("")) == 25
    assert zone_choices("no such place") == []
    for choice in [*europe, *zone_choices("america"), *zone_choices("")]:
        assert choice.name == choice.value
        assert len(choice.value) <= 64
        assert parse_timezone(choice.value) == choice.value  # the core takes it as is


async def test_digest_in_a_dm_reaches_the_core_without_a_workspace(
    env: Any, recorder: Recorder
) -> None:
    fake, _ = env
    await run(fake, "digest status", dm=True)
    [(command, caller)] = recorder.calls
    assert command == DigestStatus()
    assert caller is not None
    assert (caller.workspace_id, caller.can_manage) == (None, False)


async def test_the_core_answer_is_rendered_like_any_reply(store: Store) -> None:
    class Verbose(Recorder):
        async def execute(self, command: Command, caller: Caller | None = None) -> Reply:
            await super().execute(command, caller)
            return Reply(text="Subscribed to “@everyone **x**”", notes=("Next: `08:00`",))

    async with discord_env(Verbose(store)) as (fake, _):
        [msg] = (await run(fake, "subscribe", query="@everyone **x**")).messages
    assert msg["content"] == "Subscribed to “@\u200beveryone \\*\\*x\\*\\*”\n• Next: `08:00`"
