"""Delivery primitives against the fake Discord: channel posts, DMs, nonces and every error."""

from __future__ import annotations

import adapters.discord  # noqa: F401  (first: it imports discord.py without the audioop warning)

# isort: split
from typing import Any

import pytest

from adapters.discord.delivery import Deliverer
from adapters.discord.markers import part_nonce
from adapters.discord.outcomes import Outcome
from bot.service.papersbot import PapersBot
from tests.adapters.conftest_discord import digest, discord_env
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord_payloads import CHANNEL_ID, USER_ID

MESSAGES = rf"/channels/{CHANNEL_ID}/messages"


@pytest.fixture
async def env(testbot: PapersBot) -> Any:
    async with discord_env(testbot) as (fake, client):
        yield fake, Deliverer(client, per_second=1000)


def posts(fake: FakeDiscord, path: str = MESSAGES) -> list[tuple[str, str, Any, int]]:
    return [r for r in fake.requests if r[0] == "POST" and r[1] == path]


async def test_post_to_channel_returns_the_message_ids_and_sends_nonces(env: Any) -> None:
    fake, deliverer = env
    result = await deliverer.post_to_channel(CHANNEL_ID, digest(3), nonce="digest:c1:2026-08-19")
    assert result.outcome is Outcome.SENT
    [msg] = fake.messages[CHANNEL_ID]
    assert result.message_id == int(msg["id"])
    [(_, _, body, status)] = posts(fake)
    assert status == 200
    assert body["nonce"] == part_nonce("digest:c1:2026-08-19", 0)
    assert len(body["nonce"]) == 25
    assert body["enforce_nonce"] is True
    assert body["allowed_mentions"] == {"parse": []}
    assert msg["flags"] == 0  # public
    assert msg["content"] == "**Daily digest · 3 papers**"


async def test_a_retried_post_is_not_duplicated(env: Any) -> None:
    fake, deliverer = env
    first = await deliverer.post_to_channel(CHANNEL_ID, digest(30), nonce="run-7")
    again = await deliverer.post_to_channel(CHANNEL_ID, digest(30), nonce="run-7")
    assert len(first.message_ids) > 1
    assert again.message_ids == first.message_ids
    assert len(fake.messages[CHANNEL_ID]) == len(first.message_ids)
    other = await deliverer.post_to_channel(CHANNEL_ID, digest(1), nonce="run-8")
    assert other.message_id not in first.message_ids


async def test_digests_of_1_to_50_real_archive_papers_are_all_accepted(env: Any) -> None:
    fake, deliverer = env
    for count in range(1, 51):
        before = len(fake.messages.get(CHANNEL_ID, []))
        result = await deliverer.post_to_channel(CHANNEL_ID, digest(count), nonce=f"d{count}")
        assert result.outcome is Outcome.SENT
        new = fake.messages[CHANNEL_ID][before:]
        assert [int(m["id"]) for m in new] == list(result.message_ids)
        assert sum(len(m["embeds"]) for m in new) == count
        assert len(new) <= count // 4 + 1
    assert fake.rejected == []
    assert len(fake.sent) == len(fake.messages[CHANNEL_ID])  # each one validated


async def test_dm_user_opens_the_dm_then_sends(env: Any) -> None:
    fake, deliverer = env
    result = await deliverer.dm_user(USER_ID, digest(2), nonce="sub:1:2026-08-19")
    assert result.outcome is Outcome.SENT
    [(_, _, body, _)] = posts(fake, "/users/@me/channels")
    assert str(body["recipient_id"]) == str(USER_ID)
    dm = fake.dm_channel(USER_ID)
    [msg] = fake.messages[int(dm["id"])]
    assert result.message_id == int(msg["id"])
    assert len(msg["embeds"]) == 2


async def test_blocked_dms_are_undeliverable_and_not_retried(env: Any) -> None:
    fake, deliverer = env
    fake.blocked_dms.add(USER_ID)
    result = await deliverer.dm_user(USER_ID, digest(2))
    assert result.outcome is Outcome.UNDELIVERABLE
    assert not result.retryable
    dm = fake.dm_channel(USER_ID)
    assert [r[3] for r in posts(fake, f"/channels/{dm['id']}/messages")] == [403]
    assert "does not accept DMs" in result.detail


async def test_an_unknown_user_is_undeliverable(env: Any) -> None:
    fake, deliverer = env
    fake.unknown_users.add(42)
    result = await deliverer.dm_user(42, digest(1))
    assert result.outcome is Outcome.UNDELIVERABLE
    assert [r[3] for r in posts(fake, "/users/@me/channels")] == [400]


async def test_missing_permissions_name_what_to_grant(env: Any) -> None:
    fake, deliverer = env
    fake.forbidden.add(CHANNEL_ID)
    result = await deliverer.post_to_channel(CHANNEL_ID, digest(1), nonce="p")
    assert result.outcome is Outcome.FORBIDDEN
    assert "Send Messages" in result.detail
    assert "Embed Links" in result.detail
    assert result.message_ids == ()


async def test_a_deleted_channel_is_gone(env: Any) -> None:
    _, deliverer = env
    result = await deliverer.post_to_channel(999, digest(1), nonce="g")
    assert result.outcome is Outcome.GONE
    assert "10003" in result.detail


async def test_rate_limits_are_waited_out_and_nothing_is_dropped(env: Any) -> None:
    fake, deliverer = env
    fake.rate_limit("POST", MESSAGES, retry_after=0.05, times=2)
    result = await deliverer.post_to_channel(CHANNEL_ID, digest(30), nonce="rl")
    assert result.outcome is Outcome.SENT
    statuses = [r[3] for r in posts(fake)]
    assert statuses[:2] == [429, 429]
    assert statuses.count(200) == len(result.message_ids)
    assert sum(len(m["embeds"]) for m in fake.messages[CHANNEL_ID]) == 30


async def test_other_errors_are_failed_and_retryable(env: Any) -> None:
    fake, deliverer = env
    fake.fail("POST", MESSAGES, 400, 50035, "Invalid Form Body")
    result = await deliverer.post_to_channel(CHANNEL_ID, digest(1), nonce="f")
    assert result.outcome is Outcome.FAILED
    assert result.retryable
    assert "400" in result.detail


def test_missing_permissions_are_named_when_known() -> None:
    import discord

    from adapters.discord.permissions import missing, missing_permissions_text

    granted = discord.Permissions(view_channel=True, send_messages=True, read_message_history=True)
    assert missing(granted) == ["Embed Links"]
    text = missing_permissions_text(missing(granted))
    assert text == "I can't post in that channel: give papersbot Embed Links there."
    assert "Send Messages" in missing_permissions_text(None)
