"""The 429 waits the platform SDKs absorb reach ``/metrics``: slack_sdk's retry handler and
discord.py's HTTP client, against the loopback fakes."""

from __future__ import annotations

import logging

import adapters.discord  # noqa: F401  (first: it imports discord.py without the audioop warning)
from adapters.discord.courier import DiscordCourier
from adapters.discord.pacing import Pacer
from adapters.discord.waits import RateLimitWaits
from adapters.slack.client import build_client
from bot.config import load_settings
from bot.model.delivery import DeliveryKey, Target
from bot.ops.metrics import Metrics
from bot.service.papersbot import PapersBot
from tests.adapters.conftest_discord import digest, discord_env
from tests.bot.ops.promtext import value
from tests.fakes.clock import Clock
from tests.fakes.discord_payloads import CHANNEL_ID
from tests.fakes.slack import BOT_TOKEN, FakeSlack

CHANNEL = Target(1, "discord", "guild", "channel", str(CHANNEL_ID))


async def test_discord_429s_slept_by_discord_py_are_counted(
    testbot: PapersBot, clock: Clock
) -> None:
    metrics = Metrics()
    waits = RateLimitWaits(metrics)
    waits.attach()
    try:
        async with discord_env(testbot, clock=clock) as (fake, client):
            courier = DiscordCourier(client, pacer=Pacer(per_second=1000, channel_messages=None))
            fake.rate_limit("POST", rf"/channels/{CHANNEL_ID}/messages", retry_after=0.01, times=2)
            key = DeliveryKey.digest(clock().date())
            assert (await courier.send(CHANNEL, digest(1), key)).status.value == "sent"
    finally:
        waits.detach()
    text = metrics.render()
    assert value(text, "papersbot_rate_limit_waits_total", by="discord") == 2
    assert value(text, "papersbot_rate_limit_wait_seconds_total", by="discord") == 0.02
    assert waits not in logging.getLogger("discord.http").filters


async def test_slack_429s_slept_by_slack_sdk_are_counted() -> None:
    asked: list[float] = []
    async with FakeSlack() as slack:
        settings = load_settings(
            env_file=None, slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url
        )
        client = build_client(settings, on_rate_limit=asked.append)
        slack.fail("auth.test", retry_after=0, times=2)
        response = await client.auth_test()
    assert response["ok"]
    assert asked == [0.0, 0.0]
