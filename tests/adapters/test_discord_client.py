"""The Discord client end to end: real discord.py, a real gateway connection, the fake Discord."""

from __future__ import annotations

import adapters.discord  # noqa: F401  (first: it imports discord.py without the audioop warning)

# isort: split
import asyncio
import logging
from typing import Any

import discord
import pytest
from discord.gateway import DiscordWebSocket

from adapters.discord.client import create_client, run_discord
from adapters.discord.permissions import can_manage_channels, manager_group
from bot.config import Settings
from bot.errors import ConfigError
from bot.model.papers import Paper
from bot.service.papersbot import PapersBot
from bot.store import Store
from tests.adapters.conftest_discord import EVIL_ID, assert_inert, discord_env, evil_paper
from tests.conftest import NOW
from tests.fakes.clock import Clock
from tests.fakes.discord import FakeDiscord, Interaction, connected
from tests.fakes.discord_payloads import APP_ID, CHANNEL_ID, GUILD_ID, MEMBER_PERMISSIONS, USER_ID

EPHEMERAL = 64
MANAGE_CHANNELS = 0x10


@pytest.fixture
async def env(testbot: PapersBot) -> Any:
    async with discord_env(testbot) as pair:
        yield pair


def ephemeral(message: dict[str, Any]) -> bool:
    return bool(message["flags"] & EPHEMERAL)


async def run(fake: FakeDiscord, sub: str, **options: Any) -> Interaction:
    return await fake.answered(await fake.slash(sub, **options))


async def test_start_up_logs_in_syncs_and_identifies_with_guilds_intent_only(env: Any) -> None:
    fake, client = env
    paths = [(method, path) for method, path, _, _ in fake.requests]
    assert paths == [
        ("GET", "/users/@me"),
        ("GET", "/oauth2/applications/@me"),
        ("PUT", f"/applications/{APP_ID}/commands"),
    ]
    assert fake.identify is not None
    assert fake.identify["intents"] == 1  # GUILDS; nothing privileged
    [papers] = fake.commands[None]
    subs = {o["name"]: o for o in papers["options"]}
    assert list(subs)[:5] == ["today", "search", "show", "status", "help"]  # + subscriptions
    assert all(o["description"] for o in subs.values())
    [count] = subs["today"]["options"]
    assert (count["min_value"], count["max_value"], count["required"]) == (1, 10, False)
    [query] = subs["search"]["options"]
    assert (query["max_length"], query["required"]) == (250, True)
    assert [c["value"] for c in subs["help"]["options"][0]["choices"]] == [
        "search",
        "digest",
        "today",
        "show",
        "status",
    ]
    assert papers["contexts"] == [0, 1]  # servers and DMs with the bot
    assert client.synced[0].name == "papers"


@pytest.mark.parametrize("dm", [False, True], ids=["guild", "dm"])
async def test_every_subcommand_answers_ephemerally(env: Any, dm: bool) -> None:
    fake, _ = env
    today = await run(fake, "today", dm=dm, count=3)
    assert today.callback is not None
    assert today.callback["type"] == 4
    [msg] = today.messages
    assert ephemeral(msg)
    assert msg["content"] == "**Top 3 papers · Daily Papers 2026-08-19**"
    assert len(msg["embeds"]) == 3
    search = await run(fake, "search", dm=dm, query="diffusion")
    assert "Results 1–5" in search.messages[0]["content"]
    assert len(search.messages[0]["embeds"]) == 5
    show = await run(fake, "show", dm=dm, paper="https://arxiv.org/abs/2608.17271v2")
    assert "**Abstract**" in show.messages[0]["embeds"][0]["description"]
    status = await run(fake, "status", dm=dm)
    assert "Papers stored: 595" in status.messages[0]["content"]
    help_ = await run(fake, "help", dm=dm, topic="search")
    assert "author:name" in help_.messages[0]["content"]
    for ix in (today, search, show, status, help_):
        assert all(ephemeral(m) for m in ix.messages)
        assert ix.channel_id == int(ix.messages[0]["channel_id"])
    if dm:
        assert fake.channels[today.channel_id]["type"] == 1


async def test_user_errors_come_back_as_polite_ephemeral_text(env: Any) -> None:
    fake, _ = env
    bad = await run(fake, "show", paper="not a paper")
    assert bad.messages[0]["content"].startswith("⚠️ “not a paper” is not an arXiv id")
    assert ephemeral(bad.messages[0])
    missing = await run(fake, "show", paper="2401.00001")
    assert "not in the store" in missing.messages[0]["content"]
    syntax = await run(fake, "search", query="-x")
    assert syntax.messages[0]["content"].startswith("⚠️ ")


async def test_more_pages_through_thirty_results(env: Any) -> None:
    fake, client = env
    ix = await run(fake, "search", query="language models")
    seen: list[str] = []
    for page in range(6):
        [msg] = ix.messages
        assert f"Results {page * 5 + 1}–{page * 5 + 5} of" in msg["content"]
        seen += [e["footer"]["text"].rsplit(" · ", 1)[1] for e in msg["embeds"]]
        ix = await fake.answered(await fake.press(msg, "More"))
    assert len(seen) == len(set(seen)) == 30
    assert "Results 31–35" in ix.messages[0]["content"]
    assert client.persistent_views == []  # buttons are routed by template, nothing is stored


async def test_share_posts_publicly_attributed_without_a_ping(env: Any) -> None:
    fake, _ = env
    [msg] = (await run(fake, "today", count=2)).messages
    shared = await fake.answered(await fake.press(msg, "Share #2"))
    [post] = shared.messages
    assert not ephemeral(post)
    assert post["content"] == f"Shared by <@{USER_ID}>"
    assert fake.sent[-1]["allowed_mentions"] == {"parse": []}
    assert post["embeds"][0]["title"] == msg["embeds"][1]["title"].split(". ", 1)[1]
    assert all("custom_id" not in b for row in post["components"] for b in row["components"])


async def test_show_button_gives_the_full_paper_in_a_dm(env: Any) -> None:
    fake, _ = env
    [msg] = (await run(fake, "search", dm=True, query="diffusion")).messages
    full = await fake.answered(await fake.press(msg, "Show #1"))
    [card] = full.messages
    assert ephemeral(card)
    assert fake.channels[int(card["channel_id"])]["type"] == 1
    assert "**Abstract**" in card["embeds"][0]["description"]
    labels = [b["label"] for row in card["components"] for b in row["components"]]
    assert labels[:2] == ["arXiv", "PDF"]
    assert "Share to channel" in labels


async def test_buttons_survive_a_restart(store: Store, clock: Clock) -> None:
    async with discord_env(PapersBot(store=store, clock=clock)) as (fake, _):
        [msg] = (await run(fake, "search", query="language models")).messages
    async with discord_env(PapersBot(store=store, clock=clock)) as (fake, _):
        page = await fake.answered(await fake.press(msg, "More"))
        assert "Results 6–10" in page.messages[0]["content"]


@pytest.mark.parametrize(
    "custom_id",
    ["pb:more:0123456789abcdef:5", "pb:share:nonsense", "pb:zap:1", "legacy-v0:show:1"],
)
async def test_stale_or_forged_buttons_get_a_polite_ephemeral_error(
    env: Any, custom_id: str
) -> None:
    fake, _ = env
    button = {"type": 2, "style": 2, "label": "Old", "custom_id": custom_id}
    body = {"content": "old", "components": [{"type": 1, "components": [button]}]}
    old = fake.message(CHANNEL_ID, body)
    ix = await fake.answered(await fake.press(old, custom_id))
    [reply] = ix.messages
    assert ephemeral(reply)
    assert reply["content"].startswith("⚠️ That ")
    assert "expired" in reply["content"]


async def test_unprefixed_values_from_an_older_build_still_work(env: Any) -> None:
    fake, _ = env
    button = {"type": 2, "style": 2, "label": "Show", "custom_id": "show:2608.17271"}
    body = {"content": "old", "components": [{"type": 1, "components": [button]}]}
    old = fake.message(CHANNEL_ID, body)
    ix = await fake.answered(await fake.press(old, "Show"))
    assert "ASI-Bench" in ix.messages[0]["embeds"][0]["title"]


async def test_slow_work_is_deferred_then_followed_up(testbot: PapersBot) -> None:
    async with discord_env(testbot, defer_after=0.0) as (fake, _):
        slash = await run(fake, "today", count=2)
        assert slash.callback == {"type": 5, "data": {"flags": EPHEMERAL}}
        [msg] = slash.messages  # the follow-up replaced the "thinking" message
        assert ephemeral(msg)
        assert len(msg["embeds"]) == 2
        shared = await fake.answered(await fake.press(msg, "Share #1"))
        assert shared.callback == {"type": 6}
        [post] = shared.messages
        assert not ephemeral(post)
        assert post["content"] == f"Shared by <@{USER_ID}>"


async def test_a_long_reply_is_split_across_response_and_follow_ups(
    store: Store, clock: Clock
) -> None:
    wordy = [
        Paper(
            id=f"2608.9{i:04d}",
            title=f"Wordy paper {i} " + "long title words " * 12,
            ai_summary="A summary sentence that goes on. " * 28,
            authors=("A. Author",),
            upvotes=50_000 - i,
            daily_day=NOW.date(),
            published=NOW,
        )
        for i in range(10)
    ]
    await store.papers.upsert(wordy, seen_at=NOW)
    async with discord_env(PapersBot(store=store, clock=clock)) as (fake, _):
        ix = await run(fake, "today", count=10)
        assert len(ix.messages) >= 2
        assert sum(len(m["embeds"]) for m in ix.messages) == 10
        assert all(ephemeral(m) for m in ix.messages)
        assert [r[1].split("/")[1] for r in fake.requests[3:]] == ["interactions"] + [
            "webhooks"
        ] * (len(ix.messages) - 1)


async def test_hostile_paper_text_pings_nobody(store: Store, clock: Clock) -> None:
    await store.papers.upsert([evil_paper()], seen_at=NOW)
    async with discord_env(PapersBot(store=store, clock=clock)) as (fake, _):
        [today] = (await run(fake, "today", count=1)).messages
        await run(fake, "search", query="pwned")
        await run(fake, "show", paper=EVIL_ID)
        await run(fake, "search", query="@everyone <@123> **x** `y`")
        await fake.answered(await fake.press(today, "Share to channel"))
        assert len(fake.sent) == 5
        for body in fake.sent[:-1]:
            assert_inert(body)
        assert_inert(fake.sent[-1], allowed=f"<@{USER_ID}>")


async def test_an_expired_interaction_is_logged_not_retried(
    env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    fake, _ = env
    with caplog.at_level(logging.WARNING, logger="adapters.discord"):
        ix = await run(fake, "status", expired=True)
    assert ix.attempts == 1
    assert ix.callback is None
    assert "expired before it was answered" in caplog.text
    assert [r for r in fake.requests if "webhooks" in r[1]] == []


async def test_a_429_on_the_callback_is_waited_out(env: Any) -> None:
    fake, _ = env
    fake.rate_limit("POST", r"/interactions/\d+/[^/]+/callback", retry_after=0.05)
    ix = await run(fake, "help")
    assert [r[3] for r in fake.requests if r[1].endswith("/callback")] == [429, 200]
    assert ix.messages[0]["content"].startswith("papersbot")


async def test_guild_sync_when_a_guild_is_configured(testbot: PapersBot) -> None:
    async with discord_env(testbot, guild_id=GUILD_ID) as (fake, _):
        puts = [p for m, p, _, _ in fake.requests if m == "PUT"]
        assert puts == [f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands"]
        ix = await run(fake, "today", count=1)
        assert len(ix.messages[0]["embeds"]) == 1


async def test_guild_sync_refused_is_a_config_error(testbot: PapersBot) -> None:
    with pytest.raises(ConfigError, match="DISCORD_GUILD_ID=42"):
        async with connected(testbot, guild_id=42):
            pass


async def test_manage_channels_is_declared_and_checked_server_side(testbot: PapersBot) -> None:
    answers: list[bool] = []

    def prepare(client: Any) -> None:
        group = manager_group("papers-admin", "Channel digest settings (Manage Channels)")

        @group.command(name="check", description="Can I configure this channel?")
        async def check(interaction: Any) -> None:
            answers.append(can_manage_channels(interaction))
            await interaction.response.send_message("ok", ephemeral=True)

        client.tree.add_command(group)

    async with discord_env(testbot, prepare=prepare) as (fake, _):
        admin = next(c for c in fake.commands[None] if c["name"] == "papers-admin")
        assert admin["default_member_permissions"] == "16"
        assert admin["contexts"] == [0]
        papers = next(c for c in fake.commands[None] if c["name"] == "papers")
        for permissions in (MEMBER_PERMISSIONS, MEMBER_PERMISSIONS | MANAGE_CHANNELS):
            ix = await fake.slash("check", command="papers-admin", permissions=permissions)
            await fake.answered(ix)
        assert answers == [False, True]
        assert papers["default_member_permissions"] is None


def keep_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_discord points discord.py at the fake process-wide; restore the URLs afterwards."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", DiscordWebSocket.DEFAULT_GATEWAY)


async def test_run_discord_serves_until_cancelled(
    testbot: PapersBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    keep_urls(monkeypatch)
    fake = FakeDiscord()
    await fake.start()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_token="test-token",
        discord_api_url=fake.api_url,
        discord_gateway_url=fake.gateway_url,
    )
    try:
        client = create_client(testbot, settings, guild_ready_timeout=0)
        task = asyncio.create_task(run_discord(testbot, settings, client=client))
        await asyncio.wait_for(client.wait_until_ready(), 5)
        ix = await run(fake, "today", count=1)
        assert len(ix.messages[0]["embeds"]) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert client.is_closed()
        assert fake.api_url == discord.http.Route.BASE
    finally:
        await fake.close()


async def test_run_discord_names_the_token_setting(
    testbot: PapersBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    keep_urls(monkeypatch)
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is missing"):
        await run_discord(testbot, Settings(_env_file=None))  # type: ignore[call-arg]
    fake = FakeDiscord()
    await fake.start()
    fake.fail("GET", "/users/@me", 401, 0, "401: Unauthorized")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_token="bad",
        discord_api_url=fake.api_url,
        discord_gateway_url=fake.gateway_url,
    )
    try:
        with pytest.raises(ConfigError, match="DISCORD_TOKEN was rejected"):
            await run_discord(testbot, settings)
    finally:
        await fake.close()


async def test_a_refused_answer_gets_an_apology_with_an_error_id(
    env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    fake, _ = env
    fake.fail("POST", r"/interactions/\d+/[^/]+/callback", 400, 50035, "Invalid Form Body")
    with caplog.at_level(logging.ERROR, logger="adapters.discord"):
        ix = await run(fake, "status")
    [apology] = ix.messages
    assert apology["content"].startswith("Sorry, something went wrong (error ")
    assert ephemeral(apology)
    error_id = apology["content"].split("error ")[1].rstrip(").")
    assert f"error {error_id} answering interaction {ix.id}" in caplog.text


async def test_a_command_this_build_does_not_know_gets_a_polite_answer(env: Any) -> None:
    fake, _ = env
    old = {"id": "1", "name": "papers-old", "type": 1, "description": "gone"}
    fake.commands[None].append(old | {"options": [{"name": "x", "type": 1, "options": []}]})
    ix = await fake.answered(await fake.slash("x", command="papers-old"))
    [reply] = ix.messages
    assert reply["content"] == "That command has changed; please try again in a minute."
    assert ephemeral(reply)
