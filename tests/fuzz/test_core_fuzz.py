"""Fuzz the core's input surfaces: command text, button values and typed commands, with the
curated nasty strings and with hypothesis. Every case ends in a reply the person can read:
never the apology for an unexpected error, never a hang, and the store stays whole.

Then the same replies through both platform renderers: inside every limit, nothing that
pings. (Slack and Discord requests end to end: tests/adapters/test_slack_guard.py and the
adapter suites.)
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.discord.render import render_reply as discord_render
from adapters.slack.render import render_reply as slack_render
from bot.grammar.commands import VERBS
from bot.model.caller import Caller
from bot.model.replies import Reply
from bot.service.papersbot import PapersBot
from tests.adapters.conftest import assert_valid, mentions
from tests.fuzz.nasty import NASTY

USER = Caller(platform="slack", user_id="U1", channel_id="C1", workspace_id="T1")
UNEXPECTED = ("Sorry, something went wrong", "Sorry, that failed")
CASES = [f"{verb} {nasty}" for verb in VERBS for nasty in NASTY] + list(NASTY)


def readable(reply: Reply) -> None:
    """A reply a person can read: not the apology for a bug, and of bounded size."""
    assert not reply.text.startswith(UNEXPECTED), reply.text
    assert len(reply.text) <= 2_000
    assert len(reply.cards) <= 50


def whole(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"


def rendered(reply: Reply) -> None:
    slack = slack_render(reply)
    assert_valid(slack)
    assert not any(mentions(m.payload()) for m in slack)
    for message in discord_render(reply):
        assert len(message.content or "") <= 2000
        assert len(message.embeds) <= 10
        for embed in message.embeds:
            assert len(embed) <= 6000


async def test_every_verb_with_every_nasty_string(testbot: PapersBot, tmp_path: Path) -> None:
    """{len(CASES)} commands; the budget is lifted by using a fresh user per case."""
    for n, text in enumerate(CASES):
        caller = Caller(platform="slack", user_id=f"U{n}", channel_id="C1", workspace_id="T1")
        reply = await testbot.respond(text, caller)
        readable(reply)
        rendered(reply)
    whole(tmp_path / "papers.db")


async def test_every_nasty_button_value(testbot: PapersBot, tmp_path: Path) -> None:
    for n, value in enumerate(NASTY):
        caller = Caller(platform="discord", user_id=f"{n}", channel_id="1", workspace_id="2")
        readable(await testbot.press(value, caller))
        readable(await testbot.press(f"more:{value}:5", caller))
        readable(await testbot.press(f"subscribe:{value}", caller))
    whole(tmp_path / "papers.db")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(verb=st.sampled_from(VERBS), text=st.text(max_size=400))
async def test_any_text_after_any_verb(testbot: PapersBot, verb: str, text: str) -> None:
    reply = await testbot.respond(f"{verb} {text}", Caller(platform="slack", user_id=None))
    readable(reply)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.text(max_size=200))
async def test_any_button_value(testbot: PapersBot, value: str) -> None:
    readable(await testbot.press(value, Caller(platform="slack", user_id=None)))


@pytest.mark.parametrize("nasty", NASTY[:20])
async def test_a_forged_button_from_another_workspace_changes_nothing(
    testbot: PapersBot, nasty: str
) -> None:
    """A subscribe button names a saved search, not a user: pressing it subscribes the
    presser only; a forged token is an error, and nothing is stored for it."""
    reply = await testbot.press(f"subscribe:{nasty[:16]}", USER)
    readable(reply)
    listed = await testbot.respond("subscriptions", USER)
    assert listed.text.startswith("You have no subscriptions") or not reply.is_error
