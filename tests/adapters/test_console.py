"""The console adapter end to end: typed lines in, rendered terminal text out."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich.console import Console

from adapters.console import ConsoleSession, render, render_lines
from bot.model.papers import Paper
from bot.service.papersbot import PapersBot
from bot.store import Store
from tests.conftest import NOW
from tests.fakes.clock import Clock


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=120, force_terminal=False, color_system=None), out


def _reader(lines: list[str]):  # type: ignore[no-untyped-def]
    feed: Iterator[str] = iter(lines)

    async def read(prompt: str) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    return read


async def test_session_runs_commands_until_quit(testbot: PapersBot) -> None:
    console, out = _console()
    script = ["/papers today 2", "", "search diffusion", "more", "show 2608.17271", "quit", "x"]
    await ConsoleSession(testbot, console, _reader(script)).run()
    text = out.getvalue()
    assert "Top 2 papers · Daily Papers 2026-08-19" in text
    assert "Results 1–5 of" in text
    assert "Results 6–10 of" in text
    assert "Type `more` for the next page." in text
    assert "ASI-Bench: At the Dawn of Artificial Superintelligence" in text
    assert "2608.17271" in text
    assert "Unknown command `x`" not in text  # stopped at quit


async def test_more_without_a_search_and_errors(testbot: PapersBot) -> None:
    console, out = _console()
    await ConsoleSession(testbot, console, _reader(["more", "tody", "search -x"])).run()
    text = out.getvalue()
    assert "Nothing more to show; run a search first." in text
    assert "Did you mean `today`?" in text
    assert "Add at least one word to look for" in text


async def test_paper_text_is_never_parsed_as_markup(store: Store) -> None:
    evil = Paper(
        id="2608.99999",
        title="[bold red]Loud[/] [link=https://evil.example]click[/link] <!channel> @everyone",
        abstract="[blink]x[/blink]",
        authors=("[i]Mallory[/i]",),
        upvotes=1000,
        daily_day=NOW.date(),
    )
    await store.papers.upsert([evil], seen_at=NOW)
    console, out = _console()
    bot = PapersBot(store=store, clock=Clock())
    render(await bot.respond("today 1"), console)
    render_lines(await bot.respond("search Loud"), console)
    text = out.getvalue()
    assert "[bold red]Loud[/] [link=https://evil.example]click[/link] <!channel> @everyone" in text
    assert "[i]Mallory[/i]" in text
    # once on the card, once at the start of the search line; the links are plain URLs
    assert text.count("   2608.99999") == 1
    assert "\n2608.99999  [bold red]Loud" in text
    assert "https://evil.example" not in text.replace("[link=https://evil.example]", "")


async def test_links_are_clickable_on_a_capable_terminal(
    testbot: PapersBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    for multiplexer in ("TMUX", "STY"):
        monkeypatch.delenv(multiplexer, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True, color_system="truecolor")
    render(await testbot.respond("show 2608.17271"), console)
    raw = out.getvalue()
    # OSC 8 hyperlinks carry the target URLs.
    assert "\x1b]8;" in raw
    assert "https://huggingface.co/papers/2608.17271" in raw
    assert "https://arxiv.org/pdf/2608.17271" in raw


async def test_stdin_reader_hands_ctrl_c_and_eof_to_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from adapters import console

    for error in (KeyboardInterrupt, EOFError):

        def raise_it(prompt: str, error: type[BaseException] = error) -> str:
            raise error

        monkeypatch.setattr("builtins.input", raise_it)
        with pytest.raises(error):
            await console.read_stdin("> ")
    monkeypatch.setattr("builtins.input", lambda prompt: "today")
    assert await console.read_stdin("> ") == "today"
