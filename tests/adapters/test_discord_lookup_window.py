"""A Discord look-up reads only the delivery's window, and says "cannot tell" (never "not
there") when a busy channel has more messages than it will page through: a resend then
waits instead of risking a second post."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

import adapters.discord  # noqa: F401  (first: it imports discord.py without the audioop warning)
from adapters.discord.courier import DiscordCourier
from adapters.discord.pacing import Pacer
from bot.delivery.courier import LookupFailed
from bot.model.delivery import DeliveryKey, Target
from bot.model.replies import Reply
from bot.service.papersbot import PapersBot
from tests.adapters.conftest_discord import discord_env
from tests.fakes.clock import Clock
from tests.fakes.discord_payloads import CHANNEL_ID

CHANNEL = Target(1, "discord", "guild", "channel", str(CHANNEL_ID))
FAST = {"per_second": 1000, "channel_messages": None}
MISSING = DeliveryKey.digest(date(2026, 8, 20))


async def test_a_look_up_reads_only_the_window_and_says_when_it_cannot_tell(
    testbot: PapersBot, clock: Clock
) -> None:
    async with discord_env(testbot, clock=clock) as (fake, client):
        courier = DiscordCourier(client, pacer=Pacer(**FAST))
        since = clock.now - timedelta(seconds=1)
        for n in range(250):  # a busy channel: a message a minute
            await courier.send(
                CHANNEL,
                Reply(text=f"note {n}", ephemeral=False),
                DeliveryKey.dm(n, date(2026, 8, 19)),
            )
            clock.advance(minutes=1)

        def reads() -> int:
            pattern = re.compile(rf"/channels/{CHANNEL_ID}/messages")
            return sum(1 for m, p, _, _ in fake.requests if m == "GET" and pattern.search(p))

        narrow = DiscordCourier(client, pacer=Pacer(**FAST), window=timedelta(minutes=30))
        before = reads()
        assert await narrow.find_sent(CHANNEL, MISSING, since) is None
        assert reads() - before == 1  # the first page already reaches past the window

        whole = DiscordCourier(client, pacer=Pacer(**FAST))
        before = reads()
        assert await whole.find_sent(CHANNEL, MISSING, since) is None
        assert reads() - before == 3  # 250 messages, 100 a page, all inside 8 hours

        busy = DiscordCourier(client, pacer=Pacer(**FAST), max_pages=2)
        with pytest.raises(LookupFailed, match="more than 200 messages"):
            await busy.find_sent(CHANNEL, MISSING, since)
