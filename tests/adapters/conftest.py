"""Fixtures for the Slack adapter tests: a loopback fake Slack, settings pointing at it, a
running adapter (HTTP mode), the delivery primitives and courier against the fake, and
payload checks shared by the Slack test modules."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Iterator
from datetime import date
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from slack_sdk.http_retry import builtin_async_handlers
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.models.blocks import Block

from adapters.slack import SlackRuntime, open_slack
from adapters.slack.client import build_client
from adapters.slack.delivery import ChannelPacer, SlackDelivery
from adapters.slack.render import MAX_BLOCKS, MAX_TEXT, MESSAGE_BUDGET, SlackMessage
from bot.config import Settings, load_settings
from bot.model.papers import Paper, StoredPaper
from bot.model.replies import Reply
from bot.search.cards import card_for
from bot.search.ranking import trend
from bot.service.papersbot import PapersBot
from bot.sources.snapshot import SnapshotSource
from bot.store import Store
from tests.adapters.conftest_oauth import oauth  # noqa: F401 (the OAuth-mode fixture)
from tests.conftest import NOW
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, message_errors
from tests.shared_data import SHARED_DATA

CHANNEL, USER = "C0LAB", "U0ANN"
ARCHIVE = SHARED_DATA / "hf_daily_archive.jsonl.gz"
EVIL_ID = "2608.99999"
_MENTION = re.compile(r"<[!@#]|(?<!\w)@(here|channel|everyone)\b")


@functools.cache
def digest(count: int) -> Reply:
    """A public reply with *count* real cards from the shared archive."""
    for _, papers in SnapshotSource(ARCHIVE).days():
        if len(papers) >= count:
            stored = [StoredPaper(p, first_seen=NOW) for p in papers[:count]]
            cards = tuple(card_for(sp, trend(sp, NOW)) for sp in stored)
            return Reply(text=f"Top {count} papers · Daily Papers", cards=cards, ephemeral=False)
    raise AssertionError(f"no archive day with {count} papers")


def slack_settings(fake: FakeSlack, **overrides: Any) -> Settings:
    """Settings for the adapter against *fake*: HTTP mode on a free loopback port."""
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_app_token": None,
        "slack_api_url": fake.api_url,
        "slack_http_host": "127.0.0.1",
        "slack_http_port": 0,
    }
    return load_settings(None, **{**values, **overrides})


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A fake Slack with one channel the bot is in and one user in Berlin."""
    async with FakeSlack() as fake:
        fake.add_channel(CHANNEL)
        fake.add_user(USER, tz="Europe/Berlin")
        yield fake


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the random jitter out of slack_sdk's 429 wait (it sleeps Retry-After + random())."""
    monkeypatch.setattr(builtin_async_handlers, "random", SimpleNamespace(random=lambda: 0.01))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def connect(
    fake: FakeSlack, session: aiohttp.ClientSession, *, rate_limit_retries: int = 5
) -> SlackDelivery:
    """Delivery primitives against *fake* (unpaced, quick 5xx retries), after ``auth.test``."""
    quick = FixedValueRetryIntervalCalculator(0.001)
    client = build_client(
        slack_settings(fake),
        session=session,
        rate_limit_retries=rate_limit_retries,
        server_error_interval=quick,
    )
    sender = SlackDelivery(client, pacer=ChannelPacer(0.0))
    await sender.check_auth()
    return sender


@pytest.fixture
async def delivery(slack: FakeSlack, quick_retries: None) -> AsyncIterator[SlackDelivery]:
    async with aiohttp.ClientSession() as session:
        yield await connect(slack, session)


@pytest.fixture
async def running(slack: FakeSlack, testbot: PapersBot) -> AsyncIterator[SlackRuntime]:
    """The Slack adapter in HTTP mode on a loopback port, talking to the fake."""
    async with open_slack(testbot, slack_settings(slack)) as runtime:
        yield runtime


@pytest.fixture
async def evil_store(store: Store) -> Store:
    """The snapshot store plus a paper whose every field tries to ping someone."""
    paper = Paper(
        id=EVIL_ID,
        title="<!channel> Loud & <@U024BE7LH> <https://evil.example|click> @here now",
        abstract="We study <!everyone> & <script>alert(1)</script>. @here again; <#C123|general>.",
        authors=("@everyone", "<!here>", "Eve & <Mallory>", "<!subteam^S1|@team>"),
        ai_summary="@channel says <!channel> & &lt;escaped&gt; <@W999>",
        github_repo="javascript:alert(1)",
        project_page="https://ok.example/<!here>",
        organization="<@W123> Org",
        thumbnail="https://evil.example/<!channel>.png",
        daily_day=date(2026, 8, 19),
        upvotes=999,
    )
    await store.papers.upsert([paper], seen_at=NOW)
    return store


def strings(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every (key, string) pair in a JSON-like payload."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from strings(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item, key)
    elif isinstance(node, str):
        yield key, node


def mentions(payload: dict[str, Any], allowed: tuple[str, ...] = ()) -> list[str]:
    """Text in *payload* that Slack could turn into a mention or broadcast."""
    found = []
    for key, value in strings(payload):
        if key in ("text",):
            for ok in allowed:
                value = value.replace(ok, "")
            found += [value] if _MENTION.search(value) else []
        if key in ("url", "image_url") and not value.startswith(("http://", "https://")):
            found.append(value)
    return found


def block_text_size(node: Any) -> int:
    return sum(len(v) for k, v in strings(node) if k == "text")


def assert_valid(messages: list[SlackMessage] | list[dict[str, Any]]) -> None:
    """Every message passes slack_sdk's Block Kit models and every limit Slack applies."""
    for message in messages:
        payload = message.payload() if isinstance(message, SlackMessage) else message
        blocks = payload.get("blocks") or []
        assert payload.get("text"), "no top-level text fallback"
        assert len(payload["text"]) <= MAX_TEXT
        assert len(blocks) <= MAX_BLOCKS
        assert block_text_size(blocks) <= MESSAGE_BUDGET
        for block in blocks:
            parsed = Block.parse(block)
            assert parsed is not None, block
            parsed.validate_json()
        assert message_errors(payload) is None, message_errors(payload)
