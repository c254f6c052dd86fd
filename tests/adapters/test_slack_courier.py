"""The Slack courier against the fake: channel and DM sends tagged with the delivery key,
``find_sent`` after a crash, and what every Slack failure means for the dispatcher."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

from adapters.slack import SlackRuntime
from adapters.slack.courier import SlackCourier, send_status
from adapters.slack.delivery import EVENT_TYPE, Outcome, SlackDelivery
from bot.delivery.courier import Courier, LookupFailed, SendStatus
from bot.model.delivery import DeliveryKey, Kind, Target
from bot.model.replies import Reply
from tests.adapters.conftest import CHANNEL, USER, assert_valid, connect, digest
from tests.fakes.slack import FakeSlack

DAY = date(2026, 8, 19)
KEY = DeliveryKey.digest(DAY)
SINCE = datetime(2026, 1, 1, tzinfo=UTC)  # the fake's ts are in mid-2026
OUTCOME_STATUS = {
    Outcome.NOT_IN_CHANNEL: SendStatus.PERMANENT,
    Outcome.CHANNEL_NOT_FOUND: SendStatus.PERMANENT,
    Outcome.ARCHIVED: SendStatus.PERMANENT,
    Outcome.UNDELIVERABLE: SendStatus.PERMANENT,
    Outcome.AUTH: SendStatus.RETRY,  # an operator fixes the token; the targets stay
    Outcome.BUG: SendStatus.RETRY,  # not the target's fault; the grace window bounds it
    Outcome.UNAVAILABLE: SendStatus.RETRY,
}


def target(kind: Kind = "channel", address: str = CHANNEL, *, platform: str = "slack") -> Target:
    return Target(id=7, platform=platform, workspace="T0FAKE", kind=kind, address=address)


def key_for(where: Target, day: date = DAY) -> DeliveryKey:
    """The key of *where*'s post of *day*: the channel's digest, or subscription 1's DM."""
    return DeliveryKey.digest(day) if where.kind == "channel" else DeliveryKey.dm(1, day)


@pytest.fixture
def courier(delivery: SlackDelivery) -> SlackCourier:
    return SlackCourier(delivery)


@pytest.fixture
async def bare(slack: FakeSlack, quick_retries: None) -> AsyncIterator[SlackCourier]:
    """A courier whose client does not retry 429s itself, to see Slack's Retry-After."""
    async with aiohttp.ClientSession() as session:
        yield SlackCourier(await connect(slack, session, rate_limit_retries=0))


def test_it_is_a_courier(courier: SlackCourier) -> None:
    typed: Courier = courier  # mypy checks the protocol; this checks the attribute at runtime
    assert typed.platform == "slack"


async def test_send_to_a_channel_tags_every_part_with_the_key(
    courier: SlackCourier, slack: FakeSlack
) -> None:
    result = await courier.send(target(), digest(50), KEY)
    posted = slack.messages[CHANNEL]
    assert len(posted) > 1
    assert result.status is SendStatus.SENT
    assert result.message_id == posted[0]["ts"]
    assert {m["metadata"]["event_type"] for m in posted} == {EVENT_TYPE}
    assert {m["metadata"]["event_payload"]["digest_key"] for m in posted} == {str(KEY)}
    assert_valid(posted)


async def test_send_to_a_user_goes_to_their_dm(courier: SlackCourier, slack: FakeSlack) -> None:
    user = target("user", USER)
    key = key_for(user)
    result = await courier.send(user, digest(3), key)
    [opened] = slack.calls_to("conversations.open")
    assert opened.args["users"] == USER
    [message] = slack.messages["D" + USER]
    assert result.status is SendStatus.SENT
    assert result.message_id == message["ts"]
    assert message["metadata"]["event_payload"]["digest_key"] == str(key)
    assert slack.messages[CHANNEL] == []


@pytest.mark.parametrize(("kind", "address"), [("channel", CHANNEL), ("user", USER)])
async def test_find_sent_after_a_crash(
    courier: SlackCourier, slack: FakeSlack, kind: Kind, address: str
) -> None:
    where = target(kind, address)
    key = key_for(where)
    other = key_for(where, DAY - timedelta(days=1))  # another delivery's key
    await courier.send(where, Reply(text="someone else's key", ephemeral=False), other)
    sent = await courier.send(where, digest(30), key)
    async with aiohttp.ClientSession() as session:  # a new process: nothing in memory
        restarted = SlackCourier(await connect(slack, session))
        assert await restarted.find_sent(where, key, SINCE) == sent.message_id
        next_day = key_for(where, DAY + timedelta(days=1))
        assert await restarted.find_sent(where, next_day, SINCE) is None
        assert sent.message_id is not None
        later = datetime.fromtimestamp(float(sent.message_id) + 60, UTC)
        assert await restarted.find_sent(where, key, later) is None
    history = slack.calls_to("conversations.history")
    assert {c.args["channel"] for c in history} == {"D" + USER if kind == "user" else CHANNEL}


async def test_find_sent_ignores_other_senders(courier: SlackCourier, slack: FakeSlack) -> None:
    await courier.send(target(), digest(1), KEY)
    slack.messages[CHANNEL][0].update(user="U0HUMAN", bot_id=None)  # same metadata, not us
    assert await courier.find_sent(target(), KEY, SINCE) is None


@pytest.mark.parametrize(
    ("where", "setup"),
    [
        (target(address="C0GONE"), lambda s: None),
        (target(), lambda s: s.fail_channel(CHANNEL, retry_after=0, times=9)),
        (target("user", "U0NOBODY"), lambda s: None),
        (target("user", USER), lambda s: s.fail_channel("D" + USER, status=500, times=9)),
    ],
)
async def test_find_sent_raises_when_slack_cannot_say(
    courier: SlackCourier,
    slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    where: Target,
    setup: Callable[[FakeSlack], None],
) -> None:
    setup(slack)
    with pytest.raises(LookupFailed):
        await courier.find_sent(where, key_for(where), SINCE)
    assert any("look-up of" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("where", "setup", "code"),
    [
        (target(address="C0GONE"), lambda s: None, "channel_not_found"),
        (target(address="C0OUT"), lambda s: s.add_channel("C0OUT", member=False),
         "not_in_channel"),
        (target(address="C0OLD"), lambda s: s.add_channel("C0OLD", archived=True), "is_archived"),
        (target(), lambda s: s.fail_channel(CHANNEL, "channel_not_found"), "channel_not_found"),
        (target("user", "U0NOBODY"), lambda s: None, "user_not_found"),
        (target("user", "U0GONE"), lambda s: s.add_user("U0GONE", deleted=True),
         "user_disabled"),
        (target("user", "U0ROBOT"), lambda s: s.add_user("U0ROBOT", is_bot=True),
         "cannot_dm_bot"),
        (target("user", USER), lambda s: s.fail_channel("D" + USER, "channel_not_found"),
         "channel_not_found"),
    ],
)  # fmt: skip
async def test_a_closed_conversation_is_permanent(
    courier: SlackCourier,
    slack: FakeSlack,
    where: Target,
    setup: Callable[[FakeSlack], None],
    code: str,
) -> None:
    setup(slack)
    result = await courier.send(where, digest(1), key_for(where))
    assert result.status is SendStatus.PERMANENT
    assert result.message_id is None
    assert result.detail.endswith(f"(slack: {code})")
    assert all(not messages for messages in slack.messages.values())


@pytest.mark.parametrize(
    ("setup", "code", "level"),
    [
        (lambda s: s.fail_channel(CHANNEL, status=503, times=9), "internal_error",
         logging.WARNING),
        (lambda s: setattr(s, "auth_error", "token_revoked"), "token_revoked", logging.ERROR),
        (lambda s: setattr(s, "auth_error", "account_inactive"), "account_inactive",
         logging.ERROR),
        (lambda s: s.fail_channel(CHANNEL, "invalid_blocks"), "invalid_blocks", logging.ERROR),
        (lambda s: s.fail_channel(CHANNEL, "msg_blocks_too_long"), "msg_blocks_too_long",
         logging.ERROR),
        (lambda s: s.fail_channel(CHANNEL, "fatal_error"), "fatal_error", logging.WARNING),
    ],
)  # fmt: skip
async def test_everything_else_is_retried(
    courier: SlackCourier,
    slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    setup: Callable[[FakeSlack], None],
    code: str,
    level: int,
) -> None:
    setup(slack)
    result = await courier.send(target(), digest(1), KEY)
    assert result.status is SendStatus.RETRY
    assert result.detail.endswith(f"(slack: {code})")
    assert result.retry_after is None
    [record] = [r for r in caplog.records if r.name == "adapters.slack.courier"]
    assert record.levelno == level
    assert code in record.getMessage()
    assert str(KEY) in record.getMessage()


@pytest.mark.parametrize(("kind", "address"), [("channel", CHANNEL), ("user", USER)])
async def test_a_retry_after_a_partial_post_sends_only_the_rest(
    courier: SlackCourier, slack: FakeSlack, kind: Kind, address: str
) -> None:
    where = target(kind, address)
    channel = "D" + USER if kind == "user" else CHANNEL
    slack.fail_channel(channel, "msg_blocks_too_long", after=1)
    failed = await courier.send(where, digest(50), key_for(where))
    assert failed.status is SendStatus.RETRY
    [first] = slack.messages[channel]
    sent = await courier.send(where, digest(50), key_for(where))  # the same key again
    assert sent.status is SendStatus.SENT
    assert sent.message_id == first["ts"]
    posted = slack.messages[channel]
    parts = [m["metadata"]["event_payload"]["part"] for m in posted]
    assert parts == list(range(1, posted[0]["metadata"]["event_payload"]["parts"] + 1))
    assert len(parts) > 1


async def test_a_partial_post_is_not_sent_and_a_restarted_courier_resumes_the_rest(
    courier: SlackCourier, slack: FakeSlack
) -> None:
    """Part 2 of a two-part digest failed, then the process died: the restarted courier
    must not call the delivery sent (its papers were never all delivered); its next send
    posts only the missing parts, and then the post is found."""
    slack.fail_channel(CHANNEL, "fatal_error", after=1)  # part 2 fails once
    failed = await courier.send(target(), digest(50), KEY)
    assert failed.status is SendStatus.RETRY
    [first] = slack.messages[CHANNEL]
    restarted = SlackCourier(courier.delivery)
    assert await restarted.find_sent(target(), KEY, SINCE) is None
    sent = await restarted.send(target(), digest(50), KEY)
    assert sent.status is SendStatus.SENT
    assert sent.message_id == first["ts"]
    posted = slack.messages[CHANNEL]
    parts = [m["metadata"]["event_payload"]["part"] for m in posted]
    assert parts == list(range(1, len(posted) + 1))  # every part once, in order
    assert len(posted) > 1
    assert await restarted.find_sent(target(), KEY, SINCE) == first["ts"]


async def test_a_rate_limit_then_success_is_sent(courier: SlackCourier, slack: FakeSlack) -> None:
    slack.fail_channel(CHANNEL, retry_after=0)
    result = await courier.send(target(), digest(1), KEY)
    assert result.status is SendStatus.SENT
    assert [m["ts"] for m in slack.messages[CHANNEL]] == [result.message_id]
    assert len(slack.calls_to("chat.postMessage")) == 2


async def test_a_rate_limit_that_persists_passes_on_retry_after(
    bare: SlackCourier, slack: FakeSlack
) -> None:
    slack.fail_channel("D" + USER, retry_after=42)
    user = target("user", USER)
    result = await bare.send(user, digest(1), key_for(user))
    assert result.status is SendStatus.RETRY
    assert result.retry_after == 42.0
    assert result.detail == "Slack is busy or unreachable; retrying later (slack: ratelimited)"


async def test_slack_unreachable_is_retried(slack: FakeSlack) -> None:
    async with aiohttp.ClientSession() as session:
        delivery = await connect(slack, session)
        delivery.client.base_url = "http://127.0.0.1:9/api/"  # nothing listens there
        result = await SlackCourier(delivery).send(target(), digest(1), KEY)
    assert (result.status, result.detail[-16:]) == (SendStatus.RETRY, "(slack: network)")


def test_every_outcome_has_a_status() -> None:
    assert {outcome: send_status(outcome) for outcome in Outcome} == OUTCOME_STATUS


async def test_a_target_on_another_platform_is_a_bug(courier: SlackCourier) -> None:
    with pytest.raises(ValueError, match="discord"):
        await courier.send(target(platform="discord"), digest(1), KEY)


async def test_the_runtime_exposes_the_courier(running: SlackRuntime, slack: FakeSlack) -> None:
    assert running.courier.platform == "slack"
    posting = running.courier.delivery
    assert posting.pacer is running.delivery.pacer  # one per-channel pace for everything
    assert posting.identity == running.delivery.identity
    # Scheduled posts only retry 429s (never posted), not dropped connections or 5xx.
    handlers = posting.client.retry_handlers
    assert len(handlers) == 1
    assert isinstance(handlers[0], AsyncRateLimitErrorRetryHandler)
    result = await running.courier.send(target(), digest(1), KEY)
    assert result.status is SendStatus.SENT
    assert await running.courier.find_sent(target(), KEY, SINCE) == result.message_id


async def test_a_lost_response_is_not_resent_blindly_and_is_found_later() -> None:
    """Slack posts the message, then the connection drops before the response: the courier
    reports RETRY (never a second post), and the dispatcher's look-up then finds it."""
    from adapters.slack.client import build_client
    from adapters.slack.delivery import ChannelPacer
    from tests.adapters.conftest import slack_settings

    slack = FakeSlack()
    original = slack._api
    dropped: list[int] = []

    async def flaky(request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        response = await original(request)
        if request.match_info["method"] == "chat.postMessage" and not dropped:
            dropped.append(1)
            assert request.transport is not None
            request.transport.close()  # Slack posted it; the response never arrives
        return response

    slack._api = flaky  # type: ignore[method-assign]
    async with slack, aiohttp.ClientSession() as session:
        slack.add_channel(CHANNEL)
        client = build_client(slack_settings(slack), session=session, blind_retries=False)
        posting = SlackDelivery(client, pacer=ChannelPacer(0.0))
        await posting.check_auth()
        courier = SlackCourier(posting)
        target = Target(1, "slack", "T0FAKE", "channel", CHANNEL)
        key = DeliveryKey.digest(date(2026, 11, 29))
        result = await courier.send(target, Reply(text="digest", ephemeral=False), key)
        assert result.status is SendStatus.RETRY
        assert len(slack.calls_to("chat.postMessage")) == 1
        assert await courier.find_sent(target, key, datetime(2000, 1, 1, tzinfo=UTC))


async def test_a_users_dm_channel_is_opened_once(courier: SlackCourier, slack: FakeSlack) -> None:
    """conversations.open is Tier 3 (about 50 a minute): daily DMs must not spend it."""
    user = target("user", USER)
    keys = [key_for(user, DAY + timedelta(days=n)) for n in range(3)]
    for key in keys:
        result = await courier.send(user, digest(1), key)
        assert result.status is SendStatus.SENT
    assert len(slack.calls_to("conversations.open")) == 1
    assert await courier.find_sent(user, keys[-1], SINCE) is not None
    assert len(slack.calls_to("conversations.open")) == 1


def _shown_in(posted: list[dict[str, Any]], paper_id: str) -> int:
    """In how many of *posted* messages the card of *paper_id* appears."""
    return sum(f"`{paper_id}`" in json.dumps(m["blocks"]) for m in posted)


@pytest.mark.parametrize("restart", [False, True], ids=["retry", "after-restart"])
@pytest.mark.parametrize("change", ["shorter", "longer"])
async def test_a_resumed_post_shows_every_paper_once_though_its_cards_changed(
    courier: SlackCourier, slack: FakeSlack, restart: bool, change: str
) -> None:
    """Between the failed part and the retry the cards' text changed (a refresh brought new
    counts), so a fresh render would cut the messages elsewhere: re-sending "parts k+1.."
    of it would post a card twice or never. The resumed post shows each paper once."""
    first = digest(50)
    slack.fail_channel(CHANNEL, "fatal_error", after=1)  # part 2 fails once
    assert (await courier.send(target(), first, KEY)).status is SendStatus.RETRY
    [part_one] = slack.messages[CHANNEL]
    shown = {c.paper_id for c in first.cards if _shown_in([part_one], c.paper_id)}
    assert 0 < len(shown) < len(first.cards)
    why = (lambda card: "") if change == "shorter" else (lambda card: card.why + " ·" * 400)
    changed = replace(first, cards=tuple(replace(c, why=why(c)) for c in first.cards))
    sender = courier
    if restart:
        sender = SlackCourier(courier.delivery)
        assert await sender.find_sent(target(), KEY, SINCE) is None
    result = await sender.send(target(), changed, KEY)
    assert result.status is SendStatus.SENT
    assert result.message_id == part_one["ts"]
    posted = slack.messages[CHANNEL]
    assert [_shown_in(posted, c.paper_id) for c in first.cards] == [1] * len(first.cards)
    parts = [m["metadata"]["event_payload"]["part"] for m in posted]
    assert parts == list(range(1, len(posted) + 1))
    assert_valid(posted)
    assert await SlackCourier(courier.delivery).find_sent(target(), KEY, SINCE) == part_one["ts"]
