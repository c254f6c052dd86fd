"""DiscordCourier against the fake Discord with the real discord.py client: channel posts and
DMs, nonce idempotency, look-ups by marker from a fresh client, every error class, 429s, the
global request limit, and the fan-out benchmark's core on a few users."""

from __future__ import annotations

import adapters.discord  # noqa: F401  (first: it imports discord.py without the audioop warning)

# isort: split
import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any

import discord
import pytest

from adapters.discord.client import PapersClient
from adapters.discord.courier import DiscordCourier
from adapters.discord.markers import marker, tagged
from adapters.discord.pacing import Pacer
from adapters.discord.render import MAX_EMBED_TOTAL
from bench.fanout import fan_out
from bot.delivery.courier import LookupFailed, SendStatus
from bot.model.delivery import DeliveryKey, Target
from bot.model.replies import Reply
from bot.service.papersbot import PapersBot
from tests.adapters.conftest_discord import digest, discord_env
from tests.fakes.clock import Clock
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord_payloads import CHANNEL_ID, USER_ID
from tests.fakes.discord_rest import GlobalLimit
from tests.fakes.loop import ClockLoop

MESSAGES = rf"/channels/{CHANNEL_ID}/messages"
CHANNEL = Target(1, "discord", "guild", "channel", str(CHANNEL_ID))
USER = Target(2, "discord", "guild", "user", str(USER_ID))
FAST = {"per_second": 1000, "channel_messages": None}
DAY = date(2026, 8, 19)
KEY = DeliveryKey.digest(DAY)  # the channel's digest of DAY


def day(n: int) -> date:
    """*n* days after :data:`DAY`."""
    return DAY + timedelta(days=n)


@pytest.fixture
async def env(
    testbot: PapersBot, clock: Clock
) -> AsyncIterator[tuple[FakeDiscord, DiscordCourier]]:
    async with discord_env(testbot, clock=clock) as (fake, client):
        yield fake, DiscordCourier(client, pacer=Pacer(**FAST))


@asynccontextmanager
async def fresh_client(fake: FakeDiscord, bot: PapersBot) -> AsyncIterator[PapersClient]:
    """A second client logged in to *fake*, as after a restart (no cache, nothing in memory)."""
    client = PapersClient(bot, guild_ready_timeout=0)
    await client.login("test-token")
    task = asyncio.create_task(client.connect(reconnect=False))
    try:
        await asyncio.wait_for(client.wait_until_ready(), 5)
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(task, 5)


def requests_to(fake: FakeDiscord, method: str, path: str) -> list[int]:
    return [status for m, p, _, status in fake.requests if m == method and p == path]


def dm_id(fake: FakeDiscord, user_id: int = USER_ID) -> int:
    return int(fake.dm_channel(user_id)["id"])


async def test_a_channel_post_is_sent_and_tagged_with_its_key(env: Any) -> None:
    fake, courier = env
    result = await courier.send(CHANNEL, digest(3), KEY)
    assert result.status is SendStatus.SENT
    [msg] = fake.messages[CHANNEL_ID]
    assert result.message_id == msg["id"]
    assert msg["embeds"][-1]["footer"]["text"].endswith(" · " + marker(str(KEY)))
    assert msg["content"] == "**Daily digest · 3 papers**"  # the heading is untouched
    assert marker(str(KEY)) == "d:" + hashlib.sha256(str(KEY).encode()).hexdigest()[:8]


async def test_a_dm_opens_the_channel_once_per_user(env: Any) -> None:
    fake, courier = env
    first = await courier.send(USER, digest(2), DeliveryKey.dm(1, DAY))
    second = await courier.send(USER, digest(1), DeliveryKey.dm(1, day(1)))
    assert first.status is second.status is SendStatus.SENT
    assert requests_to(fake, "POST", "/users/@me/channels") == [200]  # the id is cached
    assert [m["id"] for m in fake.messages[dm_id(fake)]] == [first.message_id, second.message_id]


async def test_dm_channels_stay_cached_past_discord_py_s_128(env: Any) -> None:
    fake, courier = env
    users = [Target(i, "discord", "g", "user", str(USER_ID + i)) for i in range(130)]
    note = Reply(text="new papers", ephemeral=False)
    for target in [*users, users[0]]:
        key = DeliveryKey.dm(target.id, DAY)
        assert (await courier.send(target, note, key)).status is SendStatus.SENT
    assert requests_to(fake, "POST", "/users/@me/channels") == [200] * 130


async def test_the_same_key_twice_posts_once(env: Any) -> None:
    fake, courier = env
    first = await courier.send(CHANNEL, digest(1), KEY)
    again = await courier.send(CHANNEL, digest(1), KEY)
    assert again.message_id == first.message_id
    assert len(fake.messages[CHANNEL_ID]) == 1
    await courier.send(USER, digest(1), DeliveryKey.dm(7, DAY))
    await courier.send(USER, digest(1), DeliveryKey.dm(7, DAY))
    assert len(fake.messages[dm_id(fake)]) == 1


async def test_a_fresh_client_finds_the_post_by_its_marker(
    env: Any, testbot: PapersBot, clock: Clock
) -> None:
    fake, courier = env
    before = clock.now - timedelta(seconds=1)
    sub = DeliveryKey.dm(3, DAY)
    posted = await courier.send(CHANNEL, digest(2), KEY)
    dm = await courier.send(USER, digest(1), sub)
    async with fresh_client(fake, testbot) as client:
        fresh = DiscordCourier(client, pacer=Pacer(**FAST))
        assert await fresh.find_sent(CHANNEL, KEY, before) == posted.message_id
        assert await fresh.find_sent(USER, sub, before) == dm.message_id
        assert await fresh.find_sent(CHANNEL, DeliveryKey.digest(day(1)), before) is None
        assert await fresh.find_sent(USER, KEY, before) is None  # in the channel, not the DM
        later = clock.now + timedelta(seconds=1)
        assert await fresh.find_sent(CHANNEL, KEY, later) is None
    reads = [p for m, p, _, _ in fake.requests if m == "GET" and p.endswith("/messages")]
    assert reads  # found by reading history (which carries no nonce), not from any cache


async def test_a_multi_part_post_is_found_only_when_every_part_is_there(
    env: Any, clock: Clock
) -> None:
    fake, courier = env
    before = clock.now - timedelta(seconds=1)
    result = await courier.send(CHANNEL, digest(30), KEY)
    parts = fake.messages[CHANNEL_ID]
    assert len(parts) > 1
    tag = marker(str(KEY))
    footers = [m["embeds"][-1]["footer"]["text"] for m in parts]
    assert [f.rsplit(" · ", 1)[1] for f in footers] == [
        f"{tag} {i}/{len(parts)}" for i in range(1, len(parts) + 1)
    ]
    assert await courier.find_sent(CHANNEL, KEY, before) == result.message_id
    parts.pop()  # the last part never arrived
    assert await courier.find_sent(CHANNEL, KEY, before) is None


async def test_look_ups_page_through_long_histories(env: Any, clock: Clock) -> None:
    fake, courier = env
    before = clock.now - timedelta(seconds=1)
    keys = [DeliveryKey.digest(day(n)) for n in range(130)]
    for n, key in enumerate(keys):
        await courier.send(CHANNEL, Reply(text=f"note {n}", ephemeral=False), key)
    found = await courier.find_sent(CHANNEL, keys[-1], before)
    assert found == fake.messages[CHANNEL_ID][-1]["id"]
    assert len(requests_to(fake, "GET", MESSAGES)) == 2
    assert fake.messages[CHANNEL_ID][0]["content"] == f"note 0\n-# {marker(str(keys[0]))}"


async def test_other_authors_carrying_the_marker_are_ignored(env: Any, clock: Clock) -> None:
    fake, courier = env
    before = clock.now - timedelta(seconds=1)
    msg = fake.message(CHANNEL_ID, {"content": f"copied -# {marker(str(KEY))}"})
    msg["author"] = {**msg["author"], "id": str(USER_ID), "bot": False}
    assert await courier.find_sent(CHANNEL, KEY, before) is None


async def test_a_failed_look_up_raises(
    env: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    fake, courier = env
    fake.forbidden.add(CHANNEL_ID)
    with pytest.raises(LookupFailed):
        await courier.find_sent(CHANNEL, KEY, clock.now)
    assert requests_to(fake, "GET", MESSAGES) == [403]
    assert f"look-up of {KEY} " in caplog.text


async def test_closed_dms_gone_channels_and_missing_permissions_are_permanent(env: Any) -> None:
    fake, courier = env
    fake.blocked_dms.add(USER_ID)
    blocked = await courier.send(USER, digest(1), DeliveryKey.dm(1, DAY))
    assert blocked.status is SendStatus.PERMANENT
    assert "does not accept DMs" in blocked.detail
    gone = Target(3, "discord", "guild", "channel", "999")
    assert (await courier.send(gone, digest(1), KEY)).status is SendStatus.PERMANENT
    fake.forbidden.add(CHANNEL_ID)
    forbidden = await courier.send(CHANNEL, digest(1), KEY)
    assert forbidden.status is SendStatus.PERMANENT
    assert "Send Messages" in forbidden.detail
    fake.unknown_users.add(42)
    nobody = Target(4, "discord", "guild", "user", "42")
    unknown = await courier.send(nobody, digest(1), DeliveryKey.dm(4, DAY))
    assert unknown.status is SendStatus.PERMANENT
    bad = Target(5, "discord", "guild", "channel", "general")
    assert (await courier.send(bad, digest(1), KEY)).status is SendStatus.PERMANENT


async def test_server_errors_are_retried_later(env: Any) -> None:
    fake, courier = env
    fake.fail("POST", MESSAGES, 503, 0, "Service Unavailable", headers={"Retry-After": "7"})
    result = await courier.send(CHANNEL, digest(1), KEY)
    assert result.status is SendStatus.RETRY
    assert "503" in result.detail
    assert fake.messages.get(CHANNEL_ID, []) == []


async def test_429s_are_waited_out_and_never_surface(env: Any) -> None:
    fake, courier = env
    fake.rate_limit("POST", MESSAGES, retry_after=0.01, times=2)
    assert (await courier.send(CHANNEL, digest(1), KEY)).status is SendStatus.SENT
    # More 429s in a row than discord.py's five tries: the courier tries again itself.
    fake.rate_limit("POST", MESSAGES, retry_after=0.01, times=6)
    fake.rate_limit("POST", "/users/@me/channels", retry_after=0.01, times=6)
    next_day = DeliveryKey.digest(day(1))
    assert (await courier.send(CHANNEL, digest(1), next_day)).status is SendStatus.SENT
    assert (await courier.send(USER, digest(1), DeliveryKey.dm(1, DAY))).status is SendStatus.SENT
    assert requests_to(fake, "POST", MESSAGES).count(429) == 8
    assert len(fake.messages[CHANNEL_ID]) == 2


async def test_an_unpaced_flood_is_held_back_by_global_429s_without_loss(env: Any) -> None:
    fake, courier = env
    limit = fake.limit_requests(per_second=10)
    users = [Target(i, "discord", "g", "user", str(USER_ID + i)) for i in range(1, 16)]
    sends = (courier.send(t, digest(1), DeliveryKey.dm(t.id, DAY)) for t in users)
    results = await asyncio.gather(*sends)
    assert {r.status for r in results} == {SendStatus.SENT}
    assert limit.refused > 0
    assert all(len(fake.messages[dm_id(fake, int(t.address))]) == 1 for t in users)


def test_the_fake_global_limit_is_a_sliding_second_per_token() -> None:
    limit = GlobalLimit(per_second=2)
    assert limit.retry_after("Bot a", "/users/@me", 10.0) is None
    assert limit.retry_after("Bot a", "/users/@me", 10.4) is None
    assert limit.retry_after("Bot a", "/users/@me", 10.5) == pytest.approx(0.5)
    assert limit.retry_after("Bot b", "/users/@me", 10.5) is None  # another bot
    assert limit.retry_after("Bot a", "/interactions/1/t/callback", 10.5) is None  # exempt
    assert limit.retry_after("Bot a", "/users/@me", 11.01) is None
    assert limit.refused == 1
    status, body, headers = GlobalLimit.answer(0.5)
    assert (status, body["global"], headers["X-RateLimit-Scope"]) == (429, True, "global")
    assert headers["Via"]


def on_clock(clock: Clock, pace: Callable[[], Awaitable[None]], times: int) -> list[float]:
    """Seconds on *clock* at which each of *times* calls of *pace* returned, run in a row on
    a loop that keeps the clock's time (so the pacer's waits take no real time)."""

    async def run() -> list[float]:
        start, done = clock.monotonic(), []
        for _ in range(times):
            await pace()
            done.append(clock.monotonic() - start)
        return done

    with asyncio.Runner(loop_factory=lambda: ClockLoop(clock)) as runner:
        return runner.run(run())


def test_channel_buckets_space_posts_to_one_channel() -> None:
    pacer = Pacer(1000, channel_messages=2, channel_period=0.2)
    done = on_clock(Clock(), lambda: pacer.message(CHANNEL_ID), 4)
    assert done == pytest.approx([0, 0, 0.1, 0.2], abs=1e-5)  # the burst, then 0.1 s apart


def test_the_global_bucket_holds_any_second_to_per_second_plus_burst() -> None:
    pacer = Pacer(48)  # burst 2
    done = on_clock(Clock(), pacer.request, 100)
    assert done[:3] == pytest.approx([0, 0, 1 / 48], abs=1e-5)
    assert done[-1] == pytest.approx(98 / 48, abs=1e-4)  # 48 a second after the burst
    assert max(sum(t <= s <= t + 1 for s in done) for t in done) <= 48 + 2


def test_the_marker_goes_where_there_is_room() -> None:
    embed = discord.Embed(title="t", description="d").set_footer(text="why · 2608.00001")
    out = tagged({"content": "head", "embeds": [embed]}, "d:0123abcd")
    assert out["embeds"][0].footer.text == "why · 2608.00001 · d:0123abcd"
    assert embed.footer.text == "why · 2608.00001"  # the rendered embed is not changed
    full = discord.Embed(description="x" * (MAX_EMBED_TOTAL - 5))
    out = tagged({"content": "head", "embeds": [full]}, "d:0123abcd")
    assert out["content"] == "head\n-# d:0123abcd"
    assert out["embeds"][0].footer.text is None
    assert tagged({"content": "x" * 2000}, "d:0123abcd") == {"content": "x" * 2000}


def test_targets_of_another_platform_are_refused() -> None:
    courier = DiscordCourier(discord.Client(intents=discord.Intents.none()))
    with pytest.raises(ValueError, match="not discord"):
        asyncio.run(courier.send(Target(1, "slack", "T1", "channel", "C1"), digest(1), KEY))


async def test_the_fan_out_bench_loses_and_duplicates_nothing() -> None:
    result = await fan_out(60, concurrency=16)
    assert result.failures == {}
    assert (result.lost, result.duplicated) == (0, 0)
    assert result.needed == 120  # one create_dm and one message per user
