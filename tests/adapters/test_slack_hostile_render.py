"""Hostile paper text through the Slack renderer: it always terminates, in one pass, and
every piece stays inside Slack's limits, however much escaping expands the text."""

from __future__ import annotations

import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack.render import MAX_SECTION, render_reply
from bot.model.papers import MAX_ABSTRACT
from bot.model.replies import Card, Reply
from tests.adapters.conftest import assert_valid, mentions, strings


def shown(abstract: str) -> Reply:
    card = Card(
        paper_id="2608.17271",
        title="A hostile paper",
        url="https://huggingface.co/papers/2608.17271",
        authors="Mallory",
        summary="Summary.",
        why="new today",
        abstract=abstract,
    )
    return Reply(text="A hostile paper", cards=(card,))


def sections(reply: Reply) -> list[str]:
    return [
        value
        for message in render_reply(reply)
        for key, value in strings(message.payload())
        if key == "text"
    ]


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "abstract",
    [
        "<" * 3000,  # each '<' becomes '&lt;': the window that used to loop forever
        "<" * 750 + "x" * 2250,
        "&" * MAX_ABSTRACT,  # fivefold
        "<>" * (MAX_ABSTRACT // 2),
        ("@here " * 2000)[:MAX_ABSTRACT],
        "@" + "a" * (MAX_ABSTRACT - 1),
        "word " * 1600,
        "x" * MAX_ABSTRACT,
    ],
    ids=["3000-lt", "lt-then-x", "amp", "ltgt", "at-here", "long-at-word", "words", "one-word"],
)
def test_an_expanding_abstract_renders_within_the_limits(abstract: str) -> None:
    reply = shown(abstract)
    messages = render_reply(reply)
    assert_valid(messages)
    assert all(len(text) <= MAX_SECTION for text in sections(reply))
    assert not any(mentions(m.payload()) for m in messages)


def in_order(needle: str, haystack: str) -> bool:
    """Whether *needle*'s characters appear in *haystack* in the same order."""
    chars = iter(haystack)
    return all(char in chars for char in needle)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="<>&@ ab\n", max_size=MAX_ABSTRACT))
def test_every_piece_fits_and_no_text_is_lost(abstract: str) -> None:
    reply = shown(abstract)
    texts = sections(reply)
    assert all(len(text) <= MAX_SECTION for text in texts)
    shown_text = "".join(html.unescape(t).replace("@\u2060", "@") for t in texts)
    assert in_order("".join(abstract.split()), "".join(shown_text.split()))
