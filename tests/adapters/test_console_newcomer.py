"""The console a newcomer meets first: `show` in full, page numbers, `more` after other
commands, and links people can see on every terminal."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from adapters.console import ConsoleSession, hyperlinks_visible, render, render_lines
from bot.service.papersbot import PapersBot
from bot.store import Store

PAPER = "2608.17271"  # ASI-Bench: many authors, an AI summary, code and a project page


def _plain() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    # as the CLI makes it for pipes: one line per item, no wrapping
    console = Console(file=out, width=100, force_terminal=False, color_system=None, soft_wrap=True)
    return console, out


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200, force_terminal=True, color_system="truecolor"), out


@pytest.fixture
def bare_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal emulator, not inside tmux or screen (whatever runs the tests)."""
    for key in ("TMUX", "STY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


async def test_show_prints_the_title_once_and_every_author(
    testbot: PapersBot, store: Store
) -> None:
    stored = await store.papers.get(PAPER)
    assert stored is not None
    authors = stored.paper.authors
    assert len(authors) > 3  # the list view cuts it to three and "et al."
    console, out = _plain()
    render(await testbot.respond(f"show {PAPER}"), console)
    text = out.getvalue()
    assert text.count(stored.paper.title) == 1
    assert ", ".join(authors) in text
    assert "et al." not in text


async def test_the_list_view_still_cuts_authors(testbot: PapersBot) -> None:
    console, out = _plain()
    render(await testbot.respond("today 5"), console)
    assert "et al." in out.getvalue()


async def test_page_two_is_numbered_six_to_ten(testbot: PapersBot) -> None:
    console, out = _plain()
    session = ConsoleSession(testbot, console)
    await session.handle("search diffusion")
    second = await session.handle("more")
    assert second is not None
    render(second, console)
    numbers = re.findall(r"^\s*(\d+)\. ", out.getvalue(), re.M)
    assert numbers == ["6", "7", "8", "9", "10"]


async def test_more_continues_the_last_search_after_other_commands(
    testbot: PapersBot,
) -> None:
    console, _ = _plain()
    session = ConsoleSession(testbot, console)
    first = await session.handle("search diffusion")
    assert first is not None
    assert first.text.startswith("Results 1–5 of")
    for other in ("today 2", f"show {PAPER}", "status", "help", "tody"):
        await session.handle(other)
    second = await session.handle("/papers more")
    assert second is not None
    assert second.text.startswith("Results 6–10 of")
    assert "diffusion" in second.text
    third = await session.handle("MORE")
    assert third is not None
    assert third.text.startswith("Results 11–15 of")


async def test_a_new_search_replaces_the_one_more_continues(testbot: PapersBot) -> None:
    console, _ = _plain()
    session = ConsoleSession(testbot, console)
    await session.handle("search diffusion")
    only = await session.handle(f"search {PAPER}")  # one result: no next page
    assert only is not None
    assert not only.actions or all(a.kind != "more" for a in only.actions)
    after = await session.handle("more")
    assert after is not None
    assert after.is_error
    assert after.text == "That was the last page of the search; run a new one."


async def test_more_before_any_search(testbot: PapersBot) -> None:
    console, _ = _plain()
    reply = await ConsoleSession(testbot, console).handle("more")
    assert reply is not None
    assert reply.text == "Nothing more to show; run a search first."


async def test_links_are_plain_urls_when_not_a_terminal(testbot: PapersBot) -> None:
    console, out = _plain()
    render(await testbot.respond(f"show {PAPER}"), console)
    render(await testbot.respond("today 2"), console)
    render_lines(await testbot.respond("search diffusion"), console)
    text = out.getvalue()
    assert "\x1b]8;" not in text
    assert f"Page https://huggingface.co/papers/{PAPER}" in text
    assert f"arXiv https://arxiv.org/abs/{PAPER}" in text
    assert f"PDF https://arxiv.org/pdf/{PAPER}" in text
    search_lines = re.findall(r"^(\d{4}\.\d{4,5}) .*$", text, re.M)
    assert len(search_lines) == 5
    for line in text.splitlines():
        if m := re.match(r"(\d{4}\.\d{4,5}) ", line):
            assert line.endswith(f"https://huggingface.co/papers/{m[1]}")


@pytest.mark.parametrize(
    ("env", "visible"),
    [
        ({"TERM": "xterm-256color"}, True),
        ({"TERM": "xterm-256color", "TMUX": "/tmp/tmux-0/default,1,0"}, False),
        ({"TERM": "tmux-256color"}, False),
        ({"TERM": "screen", "STY": "1234.pts-0.host"}, False),
        ({"TERM": "screen.xterm-256color"}, False),
    ],
)
def test_hyperlinks_only_where_they_show(env: dict[str, str], visible: bool) -> None:
    terminal, _ = _terminal()
    assert hyperlinks_visible(terminal, env) is visible
    piped, _ = _plain()
    assert hyperlinks_visible(piped, env) is False


async def test_inside_tmux_links_are_urls_even_on_a_terminal(
    testbot: PapersBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    console, out = _terminal()
    render(await testbot.respond(f"show {PAPER}"), console)
    raw = out.getvalue()
    assert "\x1b]8;" not in raw
    assert f"https://arxiv.org/abs/{PAPER}" in raw


async def test_a_capable_terminal_gets_hyperlinks_not_urls(
    testbot: PapersBot, bare_terminal: None
) -> None:
    console, out = _terminal()
    render(await testbot.respond("today 1"), console)
    raw = out.getvalue()
    assert "\x1b]8;" in raw
    assert "Page https://" not in raw
