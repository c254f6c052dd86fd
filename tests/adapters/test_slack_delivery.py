"""Slack delivery primitives against the fake: posts with metadata, look-ups, DMs, time
zones, pacing, rate limits and the mapping of every Slack error to a clear outcome."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.client import build_client
from adapters.slack.delivery import (
    EVENT_TYPE,
    ChannelPacer,
    DeliveryError,
    Outcome,
    SlackDelivery,
    classify,
)
from adapters.slack.errors import parse_retry_after
from bot.errors import ConfigError
from bot.model.replies import Reply
from tests.adapters.conftest import CHANNEL, USER, assert_valid, digest, slack_settings
from tests.fakes.clock import Clock
from tests.fakes.slack import BOT_TOKEN, FakeSlack


async def test_post_returns_ts_and_tags_the_digest(
    delivery: SlackDelivery, slack: FakeSlack
) -> None:
    reply = digest(5)
    ts = await delivery.post_to_channel(CHANNEL, reply, digest_key="2026-08-19")
    [message] = slack.messages[CHANNEL]
    assert message["ts"] == ts
    papers = " ".join(card.paper_id for card in reply.cards)
    assert message["metadata"] == {
        "event_type": EVENT_TYPE,
        "event_payload": {"digest_key": "2026-08-19", "part": 1, "parts": 1, "papers": papers},
    }
    assert_valid([message])
    [call] = slack.calls_to("chat.postMessage")
    assert call.args["unfurl_links"] is False


async def test_a_50_paper_digest_goes_out_in_order_in_several_tagged_parts(
    delivery: SlackDelivery, slack: FakeSlack
) -> None:
    first = await delivery.post_to_channel(CHANNEL, digest(50), digest_key="d50")
    posted = slack.messages[CHANNEL]
    assert len(posted) > 1
    assert posted[0]["ts"] == first
    assert [m["metadata"]["event_payload"]["part"] for m in posted] == list(
        range(1, len(posted) + 1)
    )
    assert_valid(posted)
    titles = [c.paper_id for c in digest(50).cards]
    text = "".join(str(m["blocks"]) for m in posted)
    assert [text.index(f"papers/{pid}|") for pid in titles] == sorted(
        text.index(f"papers/{pid}|") for pid in titles
    )


async def test_find_posted_reads_history_with_metadata(
    delivery: SlackDelivery, slack: FakeSlack
) -> None:
    slack.page_size = 2  # force cursor pagination
    for n in range(3):
        await delivery.post_to_channel(CHANNEL, Reply(text=f"other {n}", ephemeral=False))
    ts = await delivery.post_to_channel(CHANNEL, digest(30), digest_key="2026-08-19")
    for n in range(3):
        await delivery.post_to_channel(CHANNEL, digest(1), digest_key=f"2026-08-2{n}")
    assert await delivery.find_posted(CHANNEL, "2026-08-19", oldest=0) == ts
    assert await delivery.find_posted(CHANNEL, "2026-08-18", oldest=0) is None
    assert await delivery.find_posted(CHANNEL, "2026-08-19", oldest=float(ts) + 100) is None
    calls = slack.calls_to("conversations.history")
    assert str(calls[0].args["include_all_metadata"]).lower() in ("1", "true")
    assert len(calls) > 3


async def test_dm_opens_the_conversation_then_posts(
    delivery: SlackDelivery, slack: FakeSlack
) -> None:
    ts = await delivery.send_dm(USER, digest(3), digest_key="sub-1:2026-08-19")
    [opened] = slack.calls_to("conversations.open")
    assert opened.args["users"] == USER
    [message] = slack.messages["D" + USER]
    assert message["ts"] == ts


async def test_user_timezone(delivery: SlackDelivery, slack: FakeSlack) -> None:
    slack.add_user("U0NOTZ", tz=None)
    slack.add_user("U0BAD", tz="Mars/Olympus_Mons")
    slack.add_user("U0DIR", tz="America")  # a directory of the tz database, not a zone
    slack.add_user("U0LOW", tz="america/new_york")
    assert await delivery.user_timezone(USER) == "Europe/Berlin"
    assert await delivery.user_timezone("U0NOTZ") is None
    assert await delivery.user_timezone("U0BAD") is None
    assert await delivery.user_timezone("U0DIR") is None
    assert await delivery.user_timezone("U0LOW") == "America/New_York"
    assert await delivery.user_timezone("U0NOBODY") is None


async def test_user_info_reads_zone_and_workspace_role(
    delivery: SlackDelivery, slack: FakeSlack
) -> None:
    slack.add_user("U0OWN", tz="Asia/Kolkata", is_owner=True, team_id="T0OTHER")
    user = await delivery.user_info("U0OWN")
    assert user is not None
    assert (user.user_id, user.team_id, user.timezone) == ("U0OWN", "T0OTHER", "Asia/Kolkata")
    assert (user.is_admin, user.is_owner, user.is_primary_owner) == (True, True, False)
    assert user.is_workspace_admin
    plain = await delivery.user_info(USER)
    assert plain is not None
    assert not plain.is_workspace_admin
    slack.fail("users.info", "missing_scope")
    assert await delivery.user_info(USER) is None
    slack.fail("users.info", status=500, times=3)
    assert await delivery.user_info(USER) is None


@pytest.mark.parametrize(
    ("setup", "outcome", "says"),
    [
        (lambda s: s.add_channel("C1", member=False), Outcome.NOT_IN_CHANNEL, "/invite @papersbot"),
        (lambda s: None, Outcome.CHANNEL_NOT_FOUND, "can't post in this conversation"),
        (lambda s: s.add_channel("C1", archived=True), Outcome.ARCHIVED, "archived"),
        (lambda s: s.add_channel("C1") or s.fail("chat.postMessage", "msg_too_long"),
         Outcome.BUG, "too long"),
        (lambda s: s.add_channel("C1") or s.fail("chat.postMessage", "invalid_blocks"),
         Outcome.BUG, "could not show"),
        (lambda s: s.add_channel("C1") or setattr(s, "auth_error", "invalid_auth"),
         Outcome.AUTH, "SLACK_BOT_TOKEN"),
        (lambda s: s.add_channel("C1") or s.fail("chat.postMessage", status=500, times=5),
         Outcome.UNAVAILABLE, "try again"),
    ],
)  # fmt: skip
async def test_channel_errors_map_to_clear_outcomes(
    delivery: SlackDelivery, slack: FakeSlack, setup: object, outcome: Outcome, says: str
) -> None:
    setup(slack)  # type: ignore[operator]
    with pytest.raises(DeliveryError) as caught:
        await delivery.post_to_channel("C1", digest(2))
    assert caught.value.outcome is outcome
    assert says in caught.value.user_message
    assert slack.messages["C1"] == []


async def test_a_bot_user_cannot_get_dms(delivery: SlackDelivery, slack: FakeSlack) -> None:
    slack.add_user("U0OTHERBOT", is_bot=True)
    with pytest.raises(DeliveryError) as caught:
        await delivery.send_dm("U0OTHERBOT", digest(1))
    assert caught.value.code == "cannot_dm_bot"
    assert caught.value.outcome is Outcome.UNDELIVERABLE


async def test_rate_limits_and_5xx_are_retried_never_dropped(
    delivery: SlackDelivery, slack: FakeSlack
) -> None:
    slack.fail("chat.postMessage", status=503)
    slack.fail("chat.postMessage", retry_after=0, times=3)
    ts = await delivery.post_to_channel(CHANNEL, digest(1))
    assert [m["ts"] for m in slack.messages[CHANNEL]] == [ts]
    assert len(slack.calls_to("chat.postMessage")) == 5


@pytest.mark.parametrize("code", ["invalid_auth", "token_revoked"])
async def test_check_auth_fails_fast_naming_the_setting(slack: FakeSlack, code: str) -> None:
    slack.auth_error = code
    async with aiohttp.ClientSession() as session:
        sender = SlackDelivery(build_client(slack_settings(slack), session=session))
        with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN") as caught:
            await sender.check_auth()
    assert BOT_TOKEN not in str(caught.value)


async def test_pacing_spaces_messages_per_channel_in_order(clock: Clock) -> None:
    pacer = ChannelPacer(1.0, clock=clock.monotonic, sleep=clock.sleep)
    start = clock.monotonic()
    order: list[str] = []

    async def send(channel: str, label: str) -> None:
        async with pacer.slot(channel):
            order.append(f"{label}@{clock.monotonic() - start:.1f}")

    await asyncio.gather(*(send("C1", f"a{i}") for i in range(3)), send("C2", "b0"))
    assert [o for o in order if o.startswith("a")] == ["a0@0.0", "a1@1.0", "a2@2.0"]
    assert clock.sleeps == [1.0, 1.0]  # only C1 waited: C2 has its own pace
    assert len(order) == 4


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": ["12"]}, 12.0),
        ({"Content-Type": "application/json"}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-1"}, None),
        (None, None),
    ],
)
def test_retry_after_is_read_from_any_header_spelling(
    headers: dict[str, Any] | None, seconds: float | None
) -> None:
    assert parse_retry_after(headers) == seconds


def test_unknown_errors_are_still_explained() -> None:
    error = classify("fatal_error", status=200)
    assert error.outcome is Outcome.UNAVAILABLE
    assert "fatal_error" in error.user_message
    assert classify("ratelimited", status=429).outcome is Outcome.UNAVAILABLE
    assert classify("not_in_channel", bot_name="lab-bot").user_message.startswith(
        "I'm not in this channel yet: type `/invite @lab-bot`"
    )


PLAIN_151 = {"type": "plain_text", "text": "h" * 151}


def _section(n: int) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": "x" * n}}


def _button(text: str = "ok", url: str = "https://a.example") -> dict[str, Any]:
    element = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": text}}
    return {"type": "actions", "elements": [{**element, "url": url}]}


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"text": "t", "blocks": [_section(10)] * 51}, "invalid_blocks"),
        ({"text": "t", "blocks": [_section(3001)]}, "invalid_blocks"),
        ({"text": "t", "blocks": [{"type": "section", "fields": [_section(2001)["text"]]}]},
         "invalid_blocks"),
        ({"text": "t", "blocks": [{"type": "header", "text": PLAIN_151}]},
         "invalid_blocks"),
        ({"text": "t", "blocks": [_button(text="b" * 76)]}, "invalid_blocks"),
        ({"text": "t", "blocks": [_button(url="https://a.example/" + "u" * 3000)]},
         "invalid_blocks"),
        ({"text": "t", "blocks": [{"type": "bogus"}]}, "invalid_blocks"),
        ({"text": "t" * 40_001}, "msg_too_long"),
    ],
)  # fmt: skip
async def test_the_fake_rejects_what_slack_rejects(
    slack: FakeSlack, message: dict[str, Any], code: str
) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=CHANNEL, **message)
    assert caught.value.response["error"] == code
    ok = await client.chat_postMessage(channel=CHANNEL, text="t", blocks=[_section(3000)] * 4)
    assert ok["ok"] is True
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url)
    with pytest.raises(SlackApiError, match="invalid_auth"):
        await wrong.auth_test()


async def test_the_fake_response_url_allows_5_uses_within_30_minutes(slack: FakeSlack) -> None:
    async with aiohttp.ClientSession() as http:
        url = slack.response_url("R1")
        statuses = []
        for _ in range(6):
            async with http.post(url, json={"text": "hi"}) as resp:
                statuses.append((resp.status, await resp.text()))
        assert statuses == [(200, "ok")] * 5 + [(404, "used_url")]
        url = slack.response_url("R2")
        slack.expire("R2")
        async with http.post(url, json={"text": "late"}) as resp:
            assert (resp.status, await resp.text()) == (404, "expired_url")
        async with http.post(slack.response_url("R3"), json={"blocks": [_section(3001)]}) as resp:
            assert (resp.status, await resp.text()) == (400, "invalid_blocks")
        async with http.post(slack.response_url("R4"), json={"text": ""}) as resp:
            assert (resp.status, await resp.text()) == (400, "no_text")


async def test_slack_unreachable_is_a_retryable_outcome_not_a_crash(slack: FakeSlack) -> None:
    """After the client's own connection retries, a dead Slack is UNAVAILABLE (retry later)."""
    async with aiohttp.ClientSession() as session:
        settings = slack_settings(slack)
        client = build_client(settings, session=session)
        client.base_url = "http://127.0.0.1:9/api/"  # nothing listens on the discard port
        sender = SlackDelivery(client, pacer=ChannelPacer(0.0))
        with pytest.raises(DeliveryError) as caught:
            await sender.post_to_channel(CHANNEL, digest(1))
    assert caught.value.outcome is Outcome.UNAVAILABLE
    assert caught.value.code == "network"
