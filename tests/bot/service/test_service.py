"""The bot end to end at the core boundary: text in, neutral Reply out (errbot's testbot)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.errors import NotFound, SourceUnavailable
from bot.grammar.commands import VERBS, Show
from bot.model.caller import Caller
from bot.model.papers import Paper
from bot.service.papersbot import PapersBot
from bot.store import Store
from tests.fakes.clock import Clock


async def test_today_ranks_latest_day(testbot: PapersBot) -> None:
    reply = await testbot.respond("/papers today 3")
    assert reply.text == "Top 3 papers · Daily Papers 2026-08-19"
    assert len(reply.cards) == 3
    assert reply.ephemeral
    assert not reply.is_error
    first = reply.cards[0]
    assert first.url.startswith("https://huggingface.co/papers/")
    assert first.why.startswith("▲ ")
    assert {link.label for link in first.links} >= {"arXiv", "PDF"}


async def test_today_on_an_empty_store(tmp_path: Path, clock: Clock) -> None:
    async with await Store.open(tmp_path / "empty.db") as store:
        reply = await PapersBot(store=store, clock=clock).respond("today")
    assert "store is empty" in reply.text
    assert not reply.cards


async def test_search_pages_through_results_without_repeats(testbot: PapersBot) -> None:
    reply = await testbot.respond("search language models")
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        assert not reply.is_error, reply.text
        seen += [card.paper_id for card in reply.cards]
        more = [a for a in reply.actions if a.kind == "more"]
        if not more or pages == 7:
            break
        assert len(more[0].value) <= 100
        reply = await testbot.press(more[0].value)
    assert pages == 7
    assert len(seen) == 35 == len(set(seen))


async def test_search_heading_counts(testbot: PapersBot) -> None:
    reply = await testbot.respond('search "video generation"')
    assert reply.text.startswith("Results 1–5 of ")
    assert '“"video generation"”' in reply.text


async def test_search_without_matches_and_bad_syntax(testbot: PapersBot) -> None:
    none = await testbot.respond("search zzzyxq")
    assert "No papers match" in none.text
    assert not none.cards
    bad = await testbot.respond('search "unclosed')
    assert bad.is_error
    assert "quote is not closed" in bad.text


async def test_show_and_share(testbot: PapersBot) -> None:
    shown = await testbot.respond("show https://arxiv.org/abs/2608.17271v1")
    assert shown.text == "ASI-Bench: At the Dawn of Artificial Superintelligence"
    card = shown.cards[0]
    assert card.abstract
    assert card.abstract.startswith("Artificial superintelligence")
    shared = await testbot.press("share:2608.17271", Caller(user_name="Ada"))
    assert shared.text == "Shared by Ada"
    assert not shared.ephemeral
    assert shared.cards[0].paper_id == "2608.17271"
    assert shared.cards[0].actions == ()


async def test_show_unknown_paper(testbot: PapersBot) -> None:
    reply = await testbot.respond("show 2101.00001")
    assert reply.is_error
    assert "not in the store" in reply.text


class _Lookup:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.asked: list[str] = []

    async def paper(self, paper_id: str) -> Paper:
        self.asked.append(paper_id)
        if self.error:
            raise self.error
        return Paper(id=paper_id, title="Fetched on demand", upvotes=4)


async def test_show_fetches_a_missing_paper_and_keeps_it(store: Store, clock: Clock) -> None:
    lookup = _Lookup()
    bot = PapersBot(store=store, clock=clock, lookup=lookup)
    reply = await bot.respond("show 2101.00001")
    assert reply.cards[0].title == "Fetched on demand"
    assert await store.papers.get("2101.00001") is not None
    assert lookup.asked == ["2101.00001"]


@pytest.mark.parametrize(
    ("error", "needle"),
    [
        (NotFound("Paper 2101.00001 was not found on Hugging Face."), "not found"),
        (SourceUnavailable("Hugging Face", "https://hf.example/x", "HTTP 503"), "not answering"),
    ],
)
async def test_show_lookup_failures_are_explained(
    store: Store, clock: Clock, error: Exception, needle: str
) -> None:
    bot = PapersBot(store=store, clock=clock, lookup=_Lookup(error))
    reply = await bot.respond("show 2101.00001")
    assert reply.is_error
    assert needle in reply.text


async def test_stale_buttons(testbot: PapersBot) -> None:
    expired = await testbot.press("more:0123456789abcdef:5")
    assert expired.is_error
    assert "expired" in expired.text
    forged = await testbot.press("more:<!channel>:5")
    assert forged.is_error
    assert "not valid" in forged.text


async def test_unexpected_errors_are_logged_once_with_an_id(
    store: Store, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(_Lookup):
        async def paper(self, paper_id: str) -> Paper:
            raise RuntimeError("boom")

    bot = PapersBot(store=store, clock=clock, lookup=Broken())
    with caplog.at_level(logging.ERROR):
        reply = await bot.run_command(Show("2101.00001"))
    assert reply.is_error
    assert reply.text.startswith("Sorry, something went wrong (error ")
    error_id = reply.text.rsplit(" ", 1)[-1].rstrip(").")
    records = [r for r in caplog.records if error_id in r.getMessage()]
    assert len(records) == 1
    assert records[0].exc_info is not None


async def test_help_lists_every_command(testbot: PapersBot) -> None:
    reply = await testbot.respond("help")
    joined = "\n".join(reply.notes)
    for verb in VERBS:
        assert f"/papers {verb}" in joined
    options = await testbot.respond("help digest")
    assert any("empty-days" in n for n in options.notes)
    syntax = await testbot.respond("help search")
    assert any("author:" in n for n in syntax.notes)


async def test_no_more_button_beyond_the_last_valid_offset(
    testbot: PapersBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.service.papersbot.MAX_OFFSET", 4)
    first = await testbot.respond("search language models")
    assert first.cards
    assert not [a for a in first.actions if a.kind == "more"]
