"""Tier labels, BM25F inside a tier, the bound on scoring work, and empty-result hints."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.grammar.query import parse_query
from bot.model.papers import Paper
from bot.search import engine
from bot.search.engine import SCORED_ANY_WORD, SCORED_PER_TIER, SearchPage, search
from bot.search.hints import edit_distance, no_match_hints
from bot.service import searching
from bot.service.papersbot import PapersBot
from bot.store import Store, section
from tests.fakes.clock import Clock

NOW = datetime(2026, 8, 20, 9, tzinfo=UTC)
BASE = Paper(
    id="2608.00001",
    title="A paper",
    abstract="Nothing in particular.",
    authors=("Ada Lovelace",),
    daily_day=date(2026, 8, 19),
)


def paper(number: int, title: str, abstract: str = "", summary: str | None = None) -> Paper:
    return dataclasses.replace(
        BASE,
        id=f"2608.{number:05d}",
        title=title,
        abstract=abstract or BASE.abstract,
        ai_summary=summary,
    )


PAPERS = [
    paper(1, "Hallucination in vision language model outputs"),
    paper(2, "A vision language model for charts"),
    paper(3, "Hallucination detection for text"),
    paper(4, "Unrelated cooking robots"),
]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "p.db")
    yield opened
    await opened.close()


async def run(store: Store, text: str, limit: int = 10) -> SearchPage:
    return await search(store, parse_query(text, now=NOW), now=NOW, limit=limit)


async def test_each_hit_says_how_it_matched(store: Store) -> None:
    await store.papers.upsert(PAPERS, seen_at=NOW)
    page = await run(store, "vision language model hallucination")
    assert [(h.stored.paper.id, h.kind, h.label) for h in page.hits] == [
        ("2608.00001", "all", None),
        ("2608.00002", "most", "matches 3 of 4 words: no “hallucination”"),
        ("2608.00003", "any", "matches 1 of 4 words: no “vision”, “language”, “model”"),
    ]


async def test_an_or_group_and_a_phrase_count_as_one_word(store: Store) -> None:
    await store.papers.upsert(PAPERS, seen_at=NOW)
    page = await run(store, 'charts OR cooking "language model" hallucination')
    labels = {h.stored.paper.id: h.label for h in page.hits}
    assert labels["2608.00002"] == "matches 2 of 3 words: no “hallucination”"
    assert labels["2608.00004"] == ('matches 1 of 3 words: no “"language model"”, “hallucination”')


async def test_term_frequency_in_the_summary_ranks_inside_a_tier(store: Store) -> None:
    plain = paper(10, "Sparse autoencoders", "We study sparse autoencoders.")
    about = paper(
        11,
        "Sparse autoencoders",
        "We study sparse autoencoders.",
        "Sparse autoencoders, sparse autoencoders everywhere: sparse autoencoders.",
    )
    await store.papers.upsert([about, plain], seen_at=NOW)
    page = await run(store, "sparse autoencoders")
    assert [h.stored.paper.id for h in page.hits] == [about.id, plain.id]


async def test_having_a_summary_is_worth_nothing_by_itself(store: Store) -> None:
    with_summary = paper(20, "Sparse autoencoders", "Sparse autoencoders.", "About cooking.")
    without = paper(21, "Sparse autoencoders", "Sparse autoencoders.")
    await store.papers.upsert([with_summary, without], seen_at=NOW)
    page = await run(store, "sparse autoencoders")
    # equal scores: the tie goes to the newer id, not to the paper with a summary
    assert [h.stored.paper.id for h in page.hits] == [without.id, with_summary.id]


async def test_scoring_reads_a_bounded_number_of_candidates(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = [paper(100 + i, f"Diffusion study {i}") for i in range(SCORED_PER_TIER + 40)]
    await store.papers.upsert(many, seen_at=NOW)
    read: list[tuple[int, int]] = []
    marked = store.fulltext.marked

    async def counting(*args: object, **kwargs: object) -> object:
        found = await marked(*args, **kwargs)  # type: ignore[arg-type]
        read.append((int(kwargs["limit"]), len(found)))  # type: ignore[call-overload]
        return found

    monkeypatch.setattr(store.fulltext, "marked", counting)
    page = await run(store, "diffusion study", limit=SCORED_PER_TIER + 40)
    assert read[0] == (SCORED_PER_TIER, SCORED_PER_TIER)  # the phrase tier, cut at its bound
    assert all(limit in (SCORED_PER_TIER, SCORED_ANY_WORD) for limit, _ in read)
    assert all(rows <= limit for limit, rows in read)
    assert page.total <= sum(limit for limit, _ in read)
    assert engine.SCORED_PER_TIER < engine.CANDIDATES_PER_TIER


def test_edit_distance() -> None:
    assert edit_distance("hallucinaton", "hallucination") == 1
    assert edit_distance("model", "modal") == 1
    assert edit_distance("model", "transformer") == 3  # past the bound of 2


async def test_empty_result_names_unknown_words_and_near_misses(store: Store) -> None:
    await store.papers.upsert(PAPERS, seen_at=NOW)
    query = parse_query("hallucinaton cookng", now=NOW)
    assert await no_match_hints(store, query) == (
        "No paper contains “cookng”; the index has “cooking”.",
        "No paper contains “hallucinaton”; the index has “hallucination”.",
    )
    filtered = parse_query("cooking since:1d -robots", now=NOW)
    assert await no_match_hints(store, filtered) == ("Try without `since:` or the `-` exclusions.",)


async def test_search_on_an_empty_store_says_how_to_fill_it(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "empty.db") as empty:
        reply = await PapersBot(store=empty, clock=Clock()).respond("search diffusion")
    assert "store is empty" in reply.text
    assert "papersbot ingest" in reply.text
    assert "make demo" in reply.text
    assert not reply.is_error


async def test_the_reply_marks_where_all_word_matches_end(store: Store) -> None:
    await store.papers.upsert(PAPERS, seen_at=NOW)
    reply = await PapersBot(store=store, clock=Clock()).respond(
        "search vision language model hallucination"
    )
    assert reply.notes[0] == "Results after 1 have only some of the 4 words."
    assert reply.cards[0].why.startswith("▲")
    assert reply.cards[1].why.startswith("matches 3 of 4 words: no “hallucination” · ▲")


class SteppingClock:
    """A monotonic clock that moves *step* seconds each time it is read: a scan is cut
    after a known number of progress-handler calls, whatever the machine's speed."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


async def test_matching_stops_at_its_time_budget_and_keeps_the_newest_matches(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = [paper(100 + i, f"Diffusion study {i}", "Words " * 40) for i in range(400)]
    await store.papers.upsert(many, seen_at=NOW)
    condition = parse_query("diffusion", now=NOW).strict()
    assert condition is not None
    whole = await store.papers.fts_candidates(condition, limit=2000)
    assert len(whole) == 400
    assert not whole.cut

    # Each progress-handler call (every STEP_GRAIN steps) now takes a tenth of the budget.
    monkeypatch.setattr(section, "clock", SteppingClock(section.MATCH_SECONDS / 10))
    cut = await store.papers.fts_candidates(condition, limit=2000)
    assert cut.cut
    assert 0 < len(cut) < 400
    assert cut == whole[: len(cut)]  # the newest matches, in order
    marked = await store.fulltext.marked(condition, limit=400)
    assert marked.cut
    assert [m.rowid for m in marked] == [c.rowid for c in whole[: len(marked)]]

    # Every call now finds the budget spent: a tier keeps what its first 100 steps found.
    monkeypatch.setattr(section, "clock", SteppingClock(section.MATCH_SECONDS))
    page = await run(store, "diffusion study", limit=5)
    assert page.cut
    assert page.more_unknown
    assert page.hits
    assert [hit.stored.paper.id for hit in page.hits] == [
        p.id for p in many[::-1][: len(page.hits)]
    ]


async def test_garbage_collection_during_a_scan_is_not_counted_as_its_work(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full collection of a large heap can take tens of ms on whichever thread allocates,
    the scan's among them; it would cut the scan for nothing (a test run saw searches
    "stopped early" after many other tests had grown the heap)."""
    many = [paper(100 + i, f"Diffusion study {i}", "Words " * 40) for i in range(400)]
    await store.papers.upsert(many, seen_at=NOW)
    condition = parse_query("diffusion", now=NOW).strict()
    assert condition is not None
    stepping = SteppingClock(section.MATCH_SECONDS / 10_000)
    monkeypatch.setattr(section, "clock", stepping)
    collections = 0

    def slow(phase: str, info: dict[str, int]) -> None:
        """Each collection on the scan's thread takes twice the budget."""
        nonlocal collections
        if phase == "start" and section._collections.scanning:  # on a scanning thread
            stepping.now += section.MATCH_SECONDS * 2
            collections += 1

    async def scan() -> int:
        threshold = gc.get_threshold()
        gc.callbacks.append(slow)
        gc.set_threshold(1)  # collect at almost every allocation, the scan's included
        try:
            found = await store.papers.fts_candidates(condition, limit=2000)
        finally:
            gc.set_threshold(*threshold)
            gc.callbacks.remove(slow)
        return -1 if found.cut else len(found)

    assert await scan() == 400
    assert collections > 0, "collections ran on the scan's thread"
    # the same scan without the accounting is cut by the first of them
    gc.callbacks.remove(section._collecting)
    try:
        assert await scan() == -1
    finally:
        gc.callbacks.insert(0, section._collecting)


async def test_a_cut_search_says_it_did_not_reach_every_paper(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    filler = [paper(100 + i, f"Vision study {i}", "Language " * 60) for i in range(300)]
    await store.papers.upsert([*PAPERS, *filler], seen_at=NOW)
    monkeypatch.setattr(section, "clock", SteppingClock(section.MATCH_SECONDS))
    reply = await PapersBot(store=store, clock=Clock()).respond("search vision language")
    assert reply.cards
    assert "+ for" in reply.text
    assert reply.notes[-1] == searching.CUT_NOTE

    monkeypatch.undo()  # the real clock: nothing is cut, and nothing is said
    reply = await PapersBot(store=store, clock=Clock()).respond("search vision language")
    assert reply.cards
    assert searching.CUT_NOTE not in reply.notes


async def test_a_search_cut_before_any_match_does_not_say_nothing_matches(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    filler = [paper(100 + i, f"Vision study {i}", "Language " * 60) for i in range(300)]
    await store.papers.upsert([*PAPERS, *filler], seen_at=NOW)
    monkeypatch.setattr(section, "clock", SteppingClock(section.MATCH_SECONDS * 2))
    # Every scan is over budget at once and keeps nothing: no results, but not "no match".
    monkeypatch.setattr(section, "STEP_GRAIN", 1)
    reply = await PapersBot(store=store, clock=Clock()).respond("search vision language")
    assert not reply.cards
    assert reply.text == "No results found yet for “vision language”."
    assert reply.notes == (searching.CUT_NOTE,)
