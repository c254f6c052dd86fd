"""A thumbnail Slack cannot fetch makes Slack refuse the whole message (invalid_blocks): the
digest still goes out, without pictures, and only once."""

from __future__ import annotations

from datetime import date

import aiohttp
import pytest

from adapters.slack.courier import SlackCourier
from bot.delivery.courier import SendStatus
from bot.model.delivery import DeliveryKey, Target
from tests.adapters.conftest import CHANNEL, connect, digest
from tests.fakes.slack import FakeSlack

KEY = DeliveryKey.digest(date(2026, 8, 19))


async def test_a_refused_thumbnail_does_not_fail_the_digest(slack: FakeSlack) -> None:
    reply = digest(5)
    assert any(card.thumbnail for card in reply.cards)  # real papers carry thumbnails
    slack.fail_channel(
        CHANNEL,
        "invalid_blocks",
        messages=("[ERROR] downloading image failed [json-pointer:/blocks/0/accessory/image_url]",),
    )
    async with aiohttp.ClientSession() as session:
        courier = SlackCourier(await connect(slack, session))
        result = await courier.send(Target(7, "slack", "T1", "channel", CHANNEL), reply, KEY)
    assert result.status is SendStatus.SENT
    [posted] = slack.messages[CHANNEL]
    assert all("accessory" not in block for block in posted["blocks"])
    assert all(block["type"] != "image" for block in posted["blocks"])
    shown = str(posted["blocks"])
    assert all(card.paper_id in shown for card in reply.cards)  # every paper is there


@pytest.mark.parametrize(
    ("error", "messages"),
    [("msg_too_long", ()), ("invalid_blocks", ()), ("invalid_blocks", ("[ERROR] bad type",))],
)
async def test_other_refusals_are_not_retried_without_images(
    slack: FakeSlack, error: str, messages: tuple[str, ...]
) -> None:
    slack.fail_channel(CHANNEL, error, messages=messages)
    async with aiohttp.ClientSession() as session:
        courier = SlackCourier(await connect(slack, session))
        result = await courier.send(Target(7, "slack", "T1", "channel", CHANNEL), digest(5), KEY)
    assert result.status is not SendStatus.SENT
    assert slack.messages.get(CHANNEL, []) == []
