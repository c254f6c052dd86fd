"""Malformed requests to the Slack events URL get 400 (not a 500 with a traceback), and
what Bolt logs about a rejected request stays short."""

from __future__ import annotations

import json
import logging
import time
import urllib.parse

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack import EVENTS_PATH, open_slack
from adapters.slack.guard import MAX_LOG_CHARS
from bot.service.papersbot import PapersBot
from tests.adapters.conftest import slack_settings
from tests.fakes.slack import FakeSlack, command_form, signed_post
from tests.fakes.slack.requests import sign
from tests.fuzz.nasty import NASTY


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, str]:
    async with http.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.text()


@pytest.mark.parametrize(
    "stamp", ["abc", "1e9", "-5", "١٢٣", "9" * 40], ids=["word", "float", "neg", "arabic", "huge"]
)
async def test_a_timestamp_that_is_not_a_number_is_400(
    slack: FakeSlack, testbot: PapersBot, http: aiohttp.ClientSession, stamp: str
) -> None:
    body = urllib.parse.urlencode(
        command_form("today", response_url=slack.response_url("R1"))
    ).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(body, 1),
    }
    async with open_slack(testbot, slack_settings(slack)) as rt:
        status, text = await post(http, f"{rt.url}{EVENTS_PATH}", body, headers)
    assert status == 400
    assert "X-Slack-Request-Timestamp" in text


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"payload=%7Bnot+json"),
        ("application/x-www-form-urlencoded", b"payload=%5B1%2C2%5D"),
        ("application/json", b"{not json"),
        ("application/x-www-form-urlencoded", b"command=%2Fpapers&text=\xff\xfe"),
    ],
    ids=["payload-not-json", "payload-not-object", "json-body", "not-utf8"],
)
async def test_a_signed_body_that_cannot_be_a_slack_request_is_400(
    slack: FakeSlack,
    testbot: PapersBot,
    http: aiohttp.ClientSession,
    content_type: str,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = int(time.time())
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(now),
        "X-Slack-Signature": sign(body, now),
    }
    async with open_slack(testbot, slack_settings(slack)) as rt:
        status, _ = await post(http, f"{rt.url}{EVENTS_PATH}", body, headers)
    assert status == 400
    assert not [r for r in caplog.records if r.exc_info]  # no traceback


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def test_a_rejected_megabyte_is_logged_in_a_few_hundred_characters(
    slack: FakeSlack, testbot: PapersBot, http: aiohttp.ClientSession
) -> None:
    form = command_form("search " + "x" * 900_000, response_url=slack.response_url("R1"))
    kept = Kept()
    bolt = logging.getLogger("slack_bolt")  # Bolt's middleware loggers live under it
    bolt.addHandler(kept)
    old_level = bolt.level
    bolt.setLevel(logging.INFO)
    try:
        async with open_slack(testbot, slack_settings(slack)) as rt:
            status, _, _ = await signed_post(http, f"{rt.url}{EVENTS_PATH}", form, secret="bad")
    finally:
        bolt.removeHandler(kept)
        bolt.setLevel(old_level)
    assert status == 401
    rejected = [m for m in kept.messages if "Invalid request signature" in m]
    assert rejected
    assert all(len(message) <= MAX_LOG_CHARS + 40 for message in kept.messages)


def _bodies(count: int) -> list[tuple[str, bytes]]:
    """*count* (content type, body) pairs from hypothesis, drawn once and deterministically
    (the adapter runs in one event loop for all of them, so hypothesis only generates):
    slash-command forms with fields missing, extra or of any text, ``block_actions``
    payloads of any JSON shape with real and forged action ids and values, JSON bodies, and
    raw bytes, under every content type Bolt distinguishes."""
    text = st.one_of(st.text(max_size=200), st.sampled_from(NASTY))
    json_value = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | text,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
        max_leaves=8,
    )
    form_keys = st.sampled_from(
        ["command", "text", "team_id", "user_id", "channel_id", "response_url", "type", "x"]
    )
    form = st.dictionaries(form_keys, text, max_size=7).map(
        lambda d: urllib.parse.urlencode(d, errors="surrogatepass").encode()
    )
    action = st.fixed_dictionaries(
        {"action_id": st.one_of(st.sampled_from(["papers_more", "papers_show"]), text),
         "value": st.one_of(text, json_value)}
    )  # fmt: skip
    payload = st.fixed_dictionaries(
        {"type": st.one_of(st.just("block_actions"), text)},
        optional={"team": json_value, "user": json_value, "actions": st.lists(action, max_size=2),
                  "response_url": json_value, "container": json_value, "channel": json_value},
    ).map(lambda p: urllib.parse.urlencode({"payload": json.dumps(p)}).encode())  # fmt: skip
    body = st.one_of(form, payload, json_value.map(lambda v: json.dumps(v).encode()), st.binary())
    kind = st.sampled_from(
        ["application/x-www-form-urlencoded", "application/json", "text/plain", ""]
    )
    drawn: list[tuple[str, bytes]] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),  # only drawing here, on a busy machine
    )
    @given(kind, body)
    def draw(content_type: str, raw: bytes) -> None:
        drawn.append((content_type, raw))

    draw()
    return drawn


async def test_generated_signed_bodies_get_a_200_or_a_400_never_a_traceback(
    slack: FakeSlack,
    testbot: PapersBot,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Validly signed (the worst case: a leaked secret, or Slack sending something new):
    the adapter answers every one with 200 or 400, logs no traceback, and goes on serving."""
    statuses: set[int] = set()
    async with open_slack(testbot, slack_settings(slack)) as rt:
        for content_type, body in _bodies(150):
            now = int(time.time())
            headers = {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": sign(body, now)}
            if content_type:
                headers["Content-Type"] = content_type
            status, _ = await post(http, f"{rt.url}{EVENTS_PATH}", body, headers)
            assert status in (200, 400, 404), (status, content_type, body[:200])
            statuses.add(status)
        form = command_form("today 2", response_url=slack.response_url("R1"))
        status, _, _ = await signed_post(http, f"{rt.url}{EVENTS_PATH}", form)
        assert status == 200
        [reply] = await slack.wait_responses("R1", within=10)
        assert "Top 2 papers" in reply["text"]
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    assert 400 in statuses
