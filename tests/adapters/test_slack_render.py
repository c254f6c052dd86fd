"""Block Kit rendering: every command's reply and digests of 1-50 real papers stay inside
Slack's limits, and no paper or user text can mention anyone."""

from __future__ import annotations

from dataclasses import replace
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack.render import (
    ACTION_IDS,
    MAX_BLOCKS,
    MAX_HEADER,
    SlackMessage,
    escape,
    fit,
    render_reply,
    safe_url,
    user_mention,
)
from bot.model.caller import Caller
from bot.model.papers import StoredPaper
from bot.model.replies import Action, ActionKind, Card, Link, Reply
from bot.search.cards import card_for
from bot.search.ranking import trend
from bot.service.papersbot import PapersBot
from bot.sources.snapshot import SnapshotSource
from bot.store import Store
from tests.adapters.conftest import EVIL_ID, assert_valid, mentions, strings
from tests.conftest import NOW
from tests.fakes.clock import Clock
from tests.shared_data import SHARED_DATA

ARCHIVE = SHARED_DATA / "hf_daily_archive.jsonl.gz"
COMMANDS = [
    "help",
    "help search",
    "help nonsense",
    "today",
    "today 1",
    "today 10",
    "search language models",
    "search diffusion -video sort:new",
    'search "mixture of experts" OR moe since:30d',
    "search zzzzqqqq",
    "show 2608.17271",
    "status",
    "tody",
    "search -x",
    "show not-an-id",
    "today 99",
]


@pytest.fixture(scope="module")
def fifty_papers() -> list[StoredPaper]:
    """The papers of a real 50-paper Daily Papers day from the archive."""
    for _day, papers in SnapshotSource(ARCHIVE).days():
        if len(papers) >= 50:
            return [StoredPaper(p, first_seen=NOW) for p in papers[:50]]
    raise AssertionError("the archive has no 50-paper day")


def digest(papers: list[StoredPaper]) -> Reply:
    cards = tuple(card_for(sp, trend(sp, NOW)) for sp in papers)
    return Reply(text=f"Top {len(cards)} papers · Daily Papers 2026-08-19", cards=cards)


def texts(messages: list[SlackMessage]) -> str:
    return "\n".join(value for m in messages for _, value in strings(m.payload()))


@pytest.mark.parametrize("command", COMMANDS)
async def test_every_command_renders_one_valid_message(testbot: PapersBot, command: str) -> None:
    reply = await testbot.respond(command, Caller("slack", "U0ANN", "ann", "C0LAB", "T0FAKE"))
    messages = render_reply(reply)
    assert_valid(messages)
    assert len(messages) == 1
    assert not mentions(messages[0].payload())


async def test_buttons_and_links_on_a_search_page(testbot: PapersBot) -> None:
    reply = await testbot.respond("search language models")
    [message] = render_reply(reply)
    actions = [b for b in message.blocks if b["type"] == "actions"]
    buttons = [e for b in actions for e in b["elements"]]
    by_id = {}
    for e in buttons:
        by_id.setdefault(e["action_id"], []).append(e)
    assert len(by_id["papers_show"]) == len(by_id["papers_share"]) == 5
    assert [e["text"]["text"] for e in by_id["papers_more"]] == ["More"]
    more = next(a for a in reply.actions if a.kind == "more")
    assert by_id["papers_more"][0]["value"] == more.value
    assert {e["text"]["text"] for e in buttons if "url" in e} >= {"arXiv", "PDF"}
    assert message.blocks[0]["type"] == "header"
    first = message.blocks[1]
    assert first["text"]["text"].startswith("*<https://huggingface.co/papers/")
    assert first["text"]["verbatim"] is True
    assert first["accessory"]["type"] == "image"


@pytest.mark.parametrize("count", range(1, 51))
def test_digests_of_1_to_50_real_papers(fifty_papers: list[StoredPaper], count: int) -> None:
    reply = digest(fifty_papers[:count])
    messages = render_reply(reply)
    assert_valid(messages)
    # Every card arrives once, in order, whole (its title section, context and buttons).
    blob = texts(messages)
    positions = [blob.index(f"papers/{c.paper_id}|") for c in reply.cards]
    assert positions == sorted(positions)
    for message in messages:
        kinds = [b["type"] for b in message.blocks if b["type"] != "header"]
        assert kinds[-1] == "actions"
    assert messages[0].blocks[0]["type"] == "header"
    assert len(messages) <= 1 + count // 10
    if len(messages) > 1:
        assert messages[1].text.startswith(f"(2/{len(messages)}) Top {count} papers")


async def test_paper_text_cannot_mention_anyone(evil_store: Store, clock: Clock) -> None:
    bot = PapersBot(store=evil_store, clock=clock)
    replies = [
        await bot.respond("today 10"),
        await bot.respond(f"show {EVIL_ID}"),
        await bot.respond("search Loud"),
        await bot.press(f"share:{EVIL_ID}", Caller("slack", "U0ANN", "<!channel>", "C0LAB")),
    ]
    for reply in replies:
        assert any(c.paper_id == EVIL_ID for c in reply.cards)
        messages = render_reply(reply, shared_by="U0ANN" if not reply.ephemeral else None)
        assert_valid(messages)
        payload = messages[0].payload()
        assert not mentions(payload, allowed=("<@U0ANN>",)), mentions(payload)
        blob = " ".join(value for _, value in strings(payload))
        assert "&lt;!channel&gt; Loud &amp; &lt;@\u2060U024BE7LH&gt;" in blob
        assert "@\u2060here" in blob
        assert "javascript:" not in blob  # unusable link dropped, not escaped into a button
        assert "evil.example/<" not in blob  # thumbnail with markup in its URL dropped


def test_share_is_attributed_with_a_mention_from_the_user_id_only() -> None:
    reply = Reply(text="Shared by <!channel>", ephemeral=False)
    [message] = render_reply(reply, shared_by="U0ANN")
    assert message.blocks[0]["elements"][0]["text"] == "Shared by <@U0ANN>"
    assert message.text.startswith("Shared by <@U0ANN>")
    for bad in ("<!channel>", "U0ANN> <!here", "here", ""):
        [message] = render_reply(reply, shared_by=bad)
        assert not mentions(message.payload())
    assert user_mention("W012ABC") == "<@W012ABC>"


def test_oversized_text_is_cut_at_words_and_links_are_checked() -> None:
    long_title = "Attention " * 40 + "&" * 300
    card = Card(
        paper_id="2608.00001",
        title=long_title,
        url="https://huggingface.co/papers/2608.00001",
        authors="A. Author, " * 400,
        summary="word " * 1000,
        why="▲ 1",
        links=(
            Link("arXiv " * 30, "https://arxiv.org/abs/2608.00001"),
            Link("Code", "https://github.com/" + "x" * 3000),
            Link("Project page", "ftp://example.org"),
            Link("PDF", "https://example.org/a b"),
        ),
        thumbnail="https://img.example/" + "y" * 3000,
        abstract=("Long abstract sentence. " * 700),
        actions=(Action("share", "Share to channel " * 10, "share:2608.00001"),),
    )
    reply = Reply(text="Results for " + "q" * 400, cards=(card,), notes=("n " * 2000,))
    messages = render_reply(reply)
    assert_valid(messages)
    header = messages[0].blocks[0]
    assert header["type"] == "header"
    assert len(header["text"]["text"]) <= MAX_HEADER
    assert header["text"]["text"].endswith("…")
    blob = texts(messages)
    assert "x" * 3000 not in blob
    assert "ftp://" not in blob
    assert "y" * 3000 not in blob
    assert blob.count("Long abstract sentence.") == 700  # split across sections, not cut
    buttons = [
        e for m in messages for b in m.blocks if b["type"] == "actions" for e in b["elements"]
    ]
    assert all(len(e["text"]["text"]) <= 75 for e in buttons)


def test_a_reply_over_50_blocks_is_split_with_more_on_the_last_message(
    fifty_papers: list[StoredPaper],
) -> None:
    reply = replace(
        digest(fifty_papers), actions=(Action("more", "More", "more:" + "a" * 16 + ":5"),)
    )
    messages = render_reply(reply)
    assert len(messages) > 1
    assert all(len(m.blocks) <= MAX_BLOCKS for m in messages)
    assert messages[-1].blocks[-1]["elements"][0]["action_id"] == "papers_more"
    assert all("papers_more" not in str(m.blocks) for m in messages[:-1])


def test_every_action_kind_has_a_button() -> None:
    assert set(ACTION_IDS) == set(get_args(ActionKind))
    assert len(set(ACTION_IDS.values())) == len(ACTION_IDS)


def test_subscribe_renders_as_a_button_beside_more() -> None:
    token = "0123456789abcdef"
    actions = (
        Action("more", "More", f"more:{token}:5"),
        Action("subscribe", "Subscribe", f"subscribe:{token}"),
    )
    [message] = render_reply(Reply(text="Results 1–5 of 9 for “x”", actions=actions))
    assert_valid([message])
    [row] = [b for b in message.blocks if b["type"] == "actions"]
    assert [(e["action_id"], e["text"]["text"], e["value"]) for e in row["elements"]] == [
        ("papers_more", "More", f"more:{token}:5"),
        ("papers_subscribe", "Subscribe", f"subscribe:{token}"),
    ]
    assert "style" not in row["elements"][1]  # More stays the one primary button


def test_errors_render_as_a_warning_section() -> None:
    [message] = render_reply(Reply(text="Unknown command `<!here>`.", is_error=True))
    assert message.blocks == (
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": ":warning: Unknown command `&lt;!here&gt;`.",
                "verbatim": True,
            },
        },
    )


def test_escape_fit_and_urls() -> None:
    assert escape("a & <b> @here x@y.org") == "a &amp; &lt;b&gt; @\u2060here x@y.org"
    assert fit("&&&& &&&&", 22) == "&amp;&amp;&amp;&amp;…"
    assert len(fit("word " * 100, 50)) <= 50
    assert safe_url("https://arxiv.org/abs/1") == "https://arxiv.org/abs/1"
    for bad in (None, "", "javascript:alert(1)", "https://a b", "https://a/<x>", "https://a|b"):
        assert safe_url(bad) is None


@settings(max_examples=60, deadline=None)
@given(
    title=st.text(min_size=1, max_size=400),
    summary=st.text(max_size=4000),
    authors=st.text(max_size=3000),
    note=st.text(max_size=5000),
)
def test_any_text_renders_valid_and_mention_free(
    title: str, summary: str, authors: str, note: str
) -> None:
    card = Card("2608.00002", title, "https://huggingface.co/papers/2608.00002", authors,
                summary or "x", "▲ 2")  # fmt: skip
    reply = Reply(text=title, cards=(card,) * 3, notes=(note,) if note.strip() else ())
    messages = render_reply(reply)
    assert_valid(messages)
    for message in messages:
        assert not mentions(message.payload())
