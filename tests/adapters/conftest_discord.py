"""Helpers shared by the Discord adapter tests (imported, not a pytest conftest).

Real data: digests are built from the first papers of the real Daily Papers archive, and
the hostile paper is a real-looking paper whose every text field tries to ping or format.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.grammar.commands import (
    Command,
    DigestOff,
    DigestOn,
    DigestStatus,
    Subscribe,
    SubscribeSaved,
    Subscriptions,
    Unsubscribe,
)
from bot.model.caller import Caller
from bot.model.papers import Paper, StoredPaper
from bot.model.replies import Reply
from bot.search import ranking
from bot.search.cards import card_for
from bot.service.papersbot import PapersBot
from bot.sources.snapshot import SnapshotSource
from bot.store import Store
from tests.conftest import NOW
from tests.fakes.clock import Clock
from tests.fakes.discord import FakeDiscord, connected
from tests.shared_data import SHARED_DATA

ARCHIVE = SHARED_DATA / "hf_daily_archive.jsonl.gz"
HOSTILE = (
    "@everyone @here <@123> <@!123456789012345678> <@&456> <#789> **bold** `code` "
    "```block``` __under__ ||spoiler|| ~~gone~~ [click](https://evil.example) > quote"
)
EVIL_ID = "2608.99999"
_LIVE_MENTION = re.compile(r"@(everyone|here)|<[@#]")
RECORDED = (
    Subscribe,
    SubscribeSaved,
    Subscriptions,
    Unsubscribe,
    DigestOn,
    DigestOff,
    DigestStatus,
)


@functools.cache
def archive_papers(limit: int = 50) -> tuple[Paper, ...]:
    """The first *limit* distinct papers of the real archive, in file order."""
    found: dict[str, Paper] = {}
    for _day, papers in SnapshotSource(ARCHIVE).days():
        for paper in papers:
            found.setdefault(paper.id, paper)
            if len(found) == limit:
                return tuple(found.values())
    return tuple(found.values())


def digest(count: int) -> Reply:
    """A public digest reply of the first *count* archive papers, as the core builds cards."""
    cards = []
    for paper in archive_papers()[:count]:
        stored = StoredPaper(paper, first_seen=NOW)
        cards.append(card_for(stored, ranking.trend(stored, NOW)))
    noun = "paper" if count == 1 else "papers"
    return Reply(text=f"Daily digest · {count} {noun}", cards=tuple(cards), ephemeral=False)


def evil_paper() -> Paper:
    """A paper whose title, abstract, authors, summary and organisation are all hostile."""
    return Paper(
        id=EVIL_ID,
        title=f"Pwned {HOSTILE}",
        abstract=f"First sentence {HOSTILE}. Second sentence {HOSTILE}.",
        authors=("@everyone", "<@123>", "**Mallory**", "`rm -rf`"),
        ai_summary=f"Summary {HOSTILE}",
        organization="@here **Org**",
        upvotes=100_000,
        daily_day=NOW.date(),
        published=NOW,
    )


def texts(body: dict[str, Any]) -> list[str]:
    """Every piece of text a message body would show."""
    found = [body.get("content") or ""]
    for embed in body.get("embeds") or []:
        found += [embed.get("title") or "", embed.get("description") or ""]
        found.append((embed.get("footer") or {}).get("text") or "")
        found += [f["name"] + f["value"] for f in embed.get("fields") or []]
    found += [
        c.get("label") or "" for row in body.get("components") or [] for c in row["components"]
    ]
    return found


def assert_inert(body: dict[str, Any], *, allowed: str = "") -> None:
    """No live mention syntax or raw hostile markdown anywhere in *body*; no mention parsed."""
    assert body["allowed_mentions"] == {"parse": []}
    for text in texts(body):
        text = text.replace(allowed, "") if allowed else text
        assert not _LIVE_MENTION.search(text), text
        for raw in ("**bold**", "`code`", "__under__", "||spoiler||", "[click](", "**Mallory**"):
            assert not re.search(r"(?<!\\)" + re.escape(raw), text), (raw, text)


@asynccontextmanager
async def discord_env(bot: PapersBot, **options: Any) -> AsyncIterator[tuple[FakeDiscord, Any]]:
    """:func:`tests.fakes.discord.connected`, then check every payload the bot sent."""
    async with connected(bot, **options) as (fake, client):
        yield fake, client
        assert fake.rejected == []
        for body in fake.sent:
            assert body["allowed_mentions"] == {"parse": []}


class Recorder(PapersBot):
    """The real core, except that the subscription and digest commands are only recorded.

    It answers them with ``ok <Command>`` so adapter tests see exactly which core command
    and :class:`~bot.model.caller.Caller` a slash command or button produced; every other
    command (search, today, ...) runs for real. Calls still go through the public entry points
    (:meth:`PapersBot.respond`, :meth:`PapersBot.press`), budget and error handling included.
    """

    def __init__(self, store: Store) -> None:
        super().__init__(store=store, clock=Clock())
        self.calls: list[tuple[Command, Caller | None]] = []

    async def execute(self, command: Command, caller: Caller | None = None) -> Reply:
        if not isinstance(command, RECORDED):
            return await super().execute(command, caller)
        self.calls.append((command, caller))
        return Reply(text=f"ok {type(command).__name__}")
