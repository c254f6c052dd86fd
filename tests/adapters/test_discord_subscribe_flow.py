"""Subscriptions and channel digests end to end: real discord.py, the fake Discord and the
real core (``testbot``) with its store. Who may change a digest is decided by the core from
the ``can_manage`` the adapter read off Discord's resolved permissions."""

from __future__ import annotations

import adapters.discord  # noqa: F401  (first: it imports discord.py without the audioop warning)

# isort: split
from typing import Any

import pytest

from bot.service.papersbot import PapersBot
from tests.adapters.conftest_discord import discord_env
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord_payloads import MEMBER_PERMISSIONS, Json

EPHEMERAL = 64
MANAGER = MEMBER_PERMISSIONS | 0x10  # + Manage Channels


@pytest.fixture
async def env(testbot: PapersBot) -> Any:
    async with discord_env(testbot) as pair:
        yield pair


async def say(fake: FakeDiscord, sub: str, **options: Any) -> Json:
    [msg] = (await fake.answered(await fake.slash(sub, **options))).messages
    return msg


def private(msg: Json) -> bool:
    return bool(msg["flags"] & EPHEMERAL)


async def test_subscribe_list_and_unsubscribe(env: Any) -> None:
    fake, _ = env
    first = await say(
        fake, "subscribe", query="diffusion", at="7pm", tz="europe/berlin", day="friday"
    )
    assert first["content"].startswith("Subscribed (#1) to “diffusion”")
    assert "weekly on Friday at 19:00 Europe/Berlin" in first["content"]
    assert private(first)
    second = await say(fake, "subscribe", query="sparse autoencoders")
    assert "weekdays at 08:00 UTC" in second["content"]  # the core's defaults: no zone given
    listed = await say(fake, "subscriptions")
    assert listed["content"].startswith("Your 2 subscriptions")
    assert "#1 “diffusion”" in listed["content"]
    assert "#2 “sparse autoencoders”" in listed["content"]
    again = await say(
        fake, "subscribe", query="diffusion", at="19:00", tz="Europe/Berlin", day="friday"
    )
    assert again["content"] == "⚠️ You already have that subscription (#1)."
    assert (await say(fake, "unsubscribe", which="1"))["content"] == "Unsubscribed from #1."
    gone = await say(fake, "unsubscribe", which="1")
    assert gone["content"].startswith("⚠️ You have no subscription #1")
    assert (await say(fake, "unsubscribe", which="all"))["content"] == (
        "Removed all 1 of your subscriptions."
    )


async def test_the_subscribe_button_on_search_results_subscribes(env: Any) -> None:
    fake, _ = env
    results = await say(fake, "search", query="diffusion")
    done = await fake.answered(await fake.press(results, "Subscribe"))
    [msg] = done.messages
    assert msg["content"].startswith("Subscribed (#1) to “diffusion”")
    assert private(msg)
    twice = await fake.answered(await fake.press(results, "Subscribe"))
    assert twice.messages[0]["content"] == "⚠️ You already have that subscription (#1)."


async def test_a_subscription_query_the_core_refuses(env: Any) -> None:
    fake, _ = env
    msg = await say(fake, "subscribe", query="diffusion since:7d")
    assert msg["content"].startswith("⚠️ Subscriptions only ever send papers that are new")
    assert private(msg)


async def test_only_channel_managers_change_the_digest(env: Any) -> None:
    fake, _ = env
    refused = await say(fake, "digest on", top=3)
    assert refused["content"].startswith("⚠️ Only people who can manage this channel")
    assert "Manage Channels" in refused["content"]
    assert private(refused)
    assert (await say(fake, "digest off"))["content"].startswith("⚠️ Only people")
    on = await say(
        fake,
        "digest on",
        permissions=MANAGER,
        at="9:30",
        tz="UTC",
        cadence="weekdays",
        top=3,
        min_upvotes=10,
        filter="diffusion",
    )
    assert on["content"].startswith("Digest on for this channel")
    assert "Top 3 papers of the latest Daily Papers day matching “diffusion”" in on["content"]
    assert "weekdays at 09:30 UTC" in on["content"]
    assert not private(on)  # the channel sees that its digest changed
    status = await say(fake, "digest status")  # anyone may look
    assert status["content"].startswith("This channel's digest")
    assert "with at least 10 upvotes" in status["content"]
    updated = await say(fake, "digest on", permissions=MANAGER, empty_days="silent")
    assert updated["content"].startswith("Digest updated for this channel")
    off = await say(fake, "digest off", permissions=MANAGER)
    assert off["content"] == "Digest off for this channel."
    assert not private(off)
    assert (await say(fake, "digest status"))["content"].startswith("This channel has no digest")


async def test_a_dm_has_no_digest_to_manage(env: Any) -> None:
    fake, _ = env
    msg = await say(fake, "digest on", dm=True, permissions=MANAGER)
    assert msg["content"].startswith("⚠️ Digests are for channels in a server or workspace")
    assert private(msg)
