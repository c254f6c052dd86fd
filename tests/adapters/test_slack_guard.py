"""Malformed requests to the Slack events URL get 400 (not a 500 with a traceback), and
what Bolt logs about a rejected request stays short."""

from __future__ import annotations

import logging
import time
import urllib.parse

import aiohttp
import pytest

from adapters.slack import EVENTS_PATH, open_slack
from adapters.slack.guard import MAX_LOG_CHARS
from bot.service.papersbot import PapersBot
from tests.adapters.conftest import slack_settings
from tests.fakes.slack import FakeSlack, command_form, signed_post
from tests.fakes.slack.requests import sign


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
