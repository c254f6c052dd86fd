"""Rendering replies as Discord messages: limits, splitting, escaping, Discord's schemas."""

from __future__ import annotations

import adapters.discord  # noqa: F401  (first: it imports discord.py without the audioop warning)

# isort: split
import base64
from dataclasses import replace
from typing import Any

import discord
import pytest

from adapters.discord.permissions import (
    application_id_from_token,
    invite_url,
    missing,
    missing_permissions_text,
)
from adapters.discord.render import (
    MAX_CONTENT,
    MAX_EMBED_TOTAL,
    DiscordMessage,
    escape,
    escape_core,
    fit,
    render_reply,
)
from adapters.discord.views import message_kwargs
from bot.model.papers import StoredPaper
from bot.model.replies import Action, Card, Link, Reply
from bot.service.papersbot import PapersBot
from tests.adapters.conftest_discord import assert_inert, digest, evil_paper
from tests.conftest import NOW
from tests.fakes.clock import Clock
from tests.fakes.discord_payloads import embed_chars, validator


def body(message: DiscordMessage) -> dict[str, Any]:
    """The JSON body discord.py would send for *message* (needs a running loop: views)."""
    kwargs = message_kwargs(message)
    out: dict[str, Any] = {"allowed_mentions": kwargs["allowed_mentions"].to_dict()}
    if "content" in kwargs:
        out["content"] = kwargs["content"]
    if "embeds" in kwargs:
        out["embeds"] = [e.to_dict() for e in kwargs["embeds"]]
    if "view" in kwargs:
        out["components"] = kwargs["view"].to_components()
    return out


def check(messages: list[DiscordMessage]) -> list[dict[str, Any]]:
    """Every message valid for Discord: schema, 2000/6000, ≤ 25 buttons in ≤ 5 rows."""
    bodies = [body(m) for m in messages]
    for b in bodies:
        errors = [e.message for e in validator("MessageCreateRequest").iter_errors(b)]
        assert errors == []
        assert len(b.get("content") or "") <= MAX_CONTENT
        assert sum(embed_chars(e) for e in b.get("embeds", [])) <= MAX_EMBED_TOTAL
        assert len(b.get("components", [])) <= 5
        assert b.get("content") or b.get("embeds") or b.get("components")
    return bodies


def card(**changes: Any) -> Card:
    base = Card(
        paper_id="2608.17271",
        title="A title",
        url="https://huggingface.co/papers/2608.17271",
        authors="Ada Lovelace",
        summary="It works.",
        why="▲ 10",
        links=(Link("arXiv", "https://arxiv.org/abs/2608.17271"),),
        actions=(Action("show", "Show", "show:2608.17271"),),
    )
    return replace(base, **changes)


async def test_every_command_renders_within_limits(testbot: PapersBot) -> None:
    for text in ("today 10", "search language models", "show 2608.17271", "help", "status"):
        check(render_reply(await testbot.respond(text)))


@pytest.mark.parametrize("count", range(1, 51))
async def test_digests_of_real_papers_fit_and_keep_every_card(count: int) -> None:
    messages = render_reply(digest(count))
    bodies = check(messages)
    titles = [e["title"] for b in bodies for e in b.get("embeds", [])]
    assert len(titles) == count
    if count > 1:
        assert [t.split(".", 1)[0] for t in titles] == [str(i) for i in range(1, count + 1)]
    assert len(messages) <= count // 4 + 1  # packed, not one message per card


async def test_single_card_gets_link_buttons_and_thumbnail() -> None:
    one = card(thumbnail="https://cdn.example/t.png", links=(Link("PDF", "https://a.b/c.pdf"),))
    [message] = render_reply(Reply(text="x", cards=(one,)))
    assert message.embeds[0].thumbnail.url == "https://cdn.example/t.png"
    assert [(b.label, b.url, b.custom_id) for b in message.buttons] == [
        ("PDF", "https://a.b/c.pdf", None),
        ("Show", None, "pb:show:2608.17271"),
    ]


async def test_list_cards_get_inline_links_and_numbered_buttons() -> None:
    two = render_reply(Reply(text="x", cards=(card(), card(paper_id="2608.00001"))))[0]
    assert "[arXiv](https://arxiv.org/abs/2608.17271)" in (two.embeds[0].description or "")
    assert [b.label for b in two.buttons] == ["Show #1", "Show #2"]
    assert all(b.url is None for b in two.buttons)


async def test_more_goes_on_the_last_message() -> None:
    reply = replace(digest(30), actions=(Action("more", "More", "more:0123456789abcdef:5"),))
    messages = render_reply(reply)
    assert len(messages) > 1
    assert [b.label for b in messages[-1].buttons][-1] == "More"
    assert all("More" not in [b.label for b in m.buttons] for m in messages[:-1])
    check(messages)


async def test_oversized_text_is_cut_at_words_within_every_limit() -> None:
    words = " ".join(f"word{i}" for i in range(3000))
    huge = card(
        title=words,
        authors=words,
        summary=words,
        abstract=words,
        why=words,
        organization=words,
        links=(Link("Code", "https://github.com/" + "x" * 600),),
    )
    [message] = render_reply(Reply(text=words, cards=(huge,)))[-1:]
    [embed] = message.embeds
    assert len(embed.title or "") <= 256
    assert len(embed.description or "") <= 4096
    assert len(embed.footer.text or "") <= 2048
    assert embed.title
    assert embed.title.endswith("…")
    assert all(w.startswith("word") or w in ("…", "*", "**Abstract**") for w in embed.title.split())
    assert message.buttons[0].label == "Show"  # the 600-char URL is not a link button
    check(render_reply(Reply(text=words, cards=(huge,))))


async def test_long_content_is_split_into_messages_at_line_or_word_boundaries() -> None:
    notes = tuple(f"note {i} " + "lorem ipsum " * 30 for i in range(20))
    messages = render_reply(Reply(text="Many notes", notes=notes))
    assert len(messages) > 1
    joined = "\n".join(m.content or "" for m in messages)
    assert all(f"note {i} " in joined for i in range(20))
    for m in messages:
        assert m.content
        assert not m.content.endswith(("lore", "ipsu"))
    check(messages)


async def test_hostile_paper_text_is_inert(store: Any, clock: Clock) -> None:
    await store.papers.upsert([evil_paper()], seen_at=NOW)
    stored = await store.papers.get("2608.99999")
    assert isinstance(stored, StoredPaper)
    bot = PapersBot(store=store, clock=clock)
    for text in ("today 1", "search pwned", "show 2608.99999", "search @everyone"):
        for b in check(render_reply(await bot.respond(text))):
            assert_inert(b)
    bodies = check(render_reply(await bot.respond("show 2608.99999")))
    description = bodies[0]["embeds"][0]["description"]
    assert "\\*\\*bold\\*\\*" in description
    assert "\\`code\\`" in description
    assert "@\u200beveryone" in description
    assert "<\u200b@123>" in description


def test_escaping_keeps_the_cores_code_spans_but_not_its_markdown() -> None:
    assert escape_core("try `today 5` **now** @here") == "try `today 5` \\*\\*now\\*\\* @\u200bhere"
    assert escape("`x` <@1> <#2>") == "\\`x\\` <\u200b@1> <\u200b#2>"
    assert fit("a b c d e f", 6) == "a b c…"
    assert len(fit("**" * 100, 50)) <= 50


def test_custom_ids_that_would_pass_100_chars_are_dropped() -> None:
    long = card(actions=(Action("show", "Show", "show:" + "9" * 96),))
    [message] = render_reply(Reply(text="x", cards=(long,)))
    assert [b.custom_id for b in message.buttons if b.custom_id] == []


def test_heading_replaces_the_text_and_errors_are_marked() -> None:
    [shared] = render_reply(Reply(text="Shared by x", cards=(card(),)), heading="Shared by <@5>")
    assert shared.content == "Shared by <@5>"
    [error] = render_reply(Reply(text="Bad `x`", is_error=True))
    assert error.content == "⚠️ Bad \\`x\\`"


def test_invite_url_and_permission_names() -> None:
    assert invite_url(123) == (
        "https://discord.com/oauth2/authorize?client_id=123"
        "&scope=bot+applications.commands&permissions=84992"
    )
    granted = discord.Permissions(view_channel=True, read_message_history=True)
    assert missing(granted) == ["Send Messages", "Embed Links"]
    assert missing_permissions_text(missing(granted)) == (
        "I can't post in that channel: give papersbot Send Messages and Embed Links there."
    )
    assert "View Channel, Send Messages, Embed Links and Read Message History" in (
        missing_permissions_text()
    )


def test_the_application_id_can_come_from_the_token() -> None:
    head = base64.b64encode(b"1100000000000000001").decode().rstrip("=")
    assert application_id_from_token(f"{head}.GhIjKl.secret-part") == 1100000000000000001
    assert application_id_from_token("not a token") is None
    assert application_id_from_token(base64.b64encode(b"hello").decode() + ".x.y") is None
