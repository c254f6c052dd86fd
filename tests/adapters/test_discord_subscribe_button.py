"""The Subscribe button the core puts on search results: ``pb:subscribe:<token>``, routed,
like every other button, through :meth:`PapersBot.press` with the slash commands' Caller."""

from __future__ import annotations

import adapters.discord  # noqa: F401  (first: it imports discord.py without the audioop warning)

# isort: split
from dataclasses import replace
from typing import Any

import discord
import pytest

from adapters.discord.render import Button, render_reply
from adapters.discord.views import PaperButton, build_view
from bot.grammar.actions import encode_action
from bot.grammar.commands import SubscribeSaved
from bot.model.replies import Action
from bot.store import Store
from tests.adapters.conftest_discord import Recorder, digest, discord_env
from tests.fakes.discord import FakeDiscord, Interaction
from tests.fakes.discord_payloads import CHANNEL_ID, GUILD_ID, MEMBER_PERMISSIONS, USER_ID, Json

EPHEMERAL = 64
MANAGE_CHANNELS = 0x10
TOKEN = "0123456789abcdef"
SUCCESS = 3  # Discord's green button style


@pytest.fixture
def bot(store: Store) -> Recorder:
    return Recorder(store)


@pytest.fixture
async def env(bot: Recorder) -> Any:
    async with discord_env(bot) as pair:
        yield pair


def buttons(message: Json) -> list[Json]:
    return [b for row in message.get("components", []) for b in row["components"]]


async def search_message(fake: FakeDiscord, **options: Any) -> Json:
    ix = await fake.answered(await fake.slash("search", query="diffusion", **options))
    [msg] = ix.messages
    return msg


async def pressed(fake: FakeDiscord, message: Json, label: str, **options: Any) -> Interaction:
    return await fake.answered(await fake.press(message, label, **options))


def test_a_subscribe_action_renders_as_a_green_persistent_button() -> None:
    more = Action("more", "More", encode_action("more", TOKEN, 5))
    subscribe = Action("subscribe", "Subscribe", encode_action("subscribe", TOKEN))
    reply = replace(digest(3), actions=(more, subscribe), ephemeral=True)
    [message] = render_reply(reply)
    assert message.buttons[-2:] == (
        Button("More", f"pb:more:{TOKEN}:5", row=1),
        Button("Subscribe", f"pb:subscribe:{TOKEN}", row=1),
    )
    view = build_view(message)
    assert view is not None
    last = view.children[-1]
    assert isinstance(last, PaperButton)
    assert last.value == f"subscribe:{TOKEN}"
    assert last.item.style is discord.ButtonStyle.success


@pytest.mark.parametrize(
    ("permissions", "can_manage"),
    [(MEMBER_PERMISSIONS, False), (MEMBER_PERMISSIONS | MANAGE_CHANNELS, True)],
    ids=["member", "manager"],
)
async def test_the_subscribe_button_round_trips_to_the_core(
    env: Any, bot: Recorder, store: Store, permissions: int, can_manage: bool
) -> None:
    fake, _ = env
    msg = await search_message(fake)
    [button] = [b for b in buttons(msg) if b["label"] == "Subscribe"]
    assert button["style"] == SUCCESS
    token = button["custom_id"].removeprefix("pb:subscribe:")
    assert await store.pages.load(token) == "diffusion"
    ix = await pressed(fake, msg, "Subscribe", permissions=permissions)
    [(command, caller)] = bot.calls
    assert command == SubscribeSaved(token)
    assert caller is not None
    assert (caller.platform, caller.user_id) == ("discord", str(USER_ID))
    assert (caller.channel_id, caller.workspace_id) == (str(CHANNEL_ID), str(GUILD_ID))
    assert (caller.can_manage, caller.timezone) == (can_manage, None)
    [answer] = ix.messages
    assert answer["content"] == "ok SubscribeSaved"
    assert answer["flags"] & EPHEMERAL  # only the subscriber sees the confirmation


async def test_the_subscribe_button_in_a_dm(env: Any, bot: Recorder) -> None:
    fake, _ = env
    msg = await search_message(fake, dm=True)
    await pressed(fake, msg, "Subscribe")
    [(_, caller)] = bot.calls
    assert caller is not None
    assert (caller.workspace_id, caller.can_manage) == (None, False)


async def test_the_subscribe_button_survives_a_restart(store: Store) -> None:
    async with discord_env(Recorder(store)) as (fake, _):
        msg = await search_message(fake)
    again = Recorder(store)
    async with discord_env(again) as (fake, client):
        await pressed(fake, msg, "Subscribe")
        assert client.persistent_views == []
    [(command, _)] = again.calls
    assert isinstance(command, SubscribeSaved)


@pytest.mark.parametrize("value", ["subscribe:nothex", "subscribe:0123456789ABCDEF", "subscribe:"])
async def test_a_forged_subscribe_button_gets_the_polite_expiry(
    env: Any, bot: Recorder, value: str
) -> None:
    fake, _ = env
    button = {"type": 2, "style": SUCCESS, "label": "Subscribe", "custom_id": f"pb:{value}"}
    old = fake.message(
        CHANNEL_ID, {"content": "old", "components": [{"type": 1, "components": [button]}]}
    )
    ix = await pressed(fake, old, "Subscribe")
    [reply] = ix.messages
    assert reply["flags"] & EPHEMERAL
    assert reply["content"].startswith("⚠️ That button has expired")
    assert bot.calls == []
