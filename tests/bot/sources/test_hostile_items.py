"""Text from a source that SQLite cannot take, and a day the store refuses: the refresh
records what happened and goes on."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

from bot.model.papers import (
    MAX_ABSTRACT,
    MAX_AUTHORS,
    MAX_NAME,
    MAX_POPULARITY,
    MAX_SUMMARY,
    MAX_TITLE,
    Paper,
)
from bot.sources.hf_parse import parse_items
from bot.sources.ingest import Ingestor
from bot.store import Store
from tests.conftest import NOW
from tests.fakes.clock import Clock

DAY = "2025-10-14"


def recorded(data_dir: Path) -> list[dict[str, object]]:
    items: list[dict[str, object]] = json.loads((data_dir / "hf_daily" / f"{DAY}.json").read_text())
    return items


async def test_a_lone_surrogate_in_a_recorded_item_is_stored_as_a_replacement_character(
    store: Store, data_dir: Path
) -> None:
    items = recorded(data_dir)
    paper = dict(items[0]["paper"])  # type: ignore[arg-type]
    paper["title"] = "Sparse \ud800 autoencoders\x00"
    paper["summary"] = "Abstract with a \udfff lone half."
    items[0] = {**items[0], "paper": paper, "title": paper["title"]}
    parsed = parse_items(items)
    assert len(parsed) == len(items)  # nothing dropped
    await store.papers.upsert(parsed, seen_at=NOW)
    stored = await store.papers.get(parsed[0].id)
    assert stored is not None
    assert stored.paper.title == "Sparse \ufffd autoencoders"
    assert "\ufffd lone half" in stored.paper.abstract


class Source:
    """Daily Papers days from memory; one of them carries text no store can take."""

    def __init__(self, days: dict[date, list[Paper]]) -> None:
        self.days = days

    async def daily(self, day: date) -> list[Paper]:
        return self.days[day]


async def test_a_day_the_store_refuses_is_recorded_failed_and_the_next_day_is_stored(
    store: Store, data_dir: Path
) -> None:
    good = parse_items(recorded(data_dir))
    bad = [replace(good[0], id="2699.00001", title="Raw \ud800 text")]  # not through the parser
    first, second = date(2025, 10, 13), date(2025, 10, 14)
    summary = await Ingestor(store=store, clock=Clock()).fetch_days(
        Source({first: bad, second: good}), [first, second]
    )
    assert [day for day, _ in summary.failed_days] == [first]
    assert summary.papers == len(good)
    runs = await store.runs.last()
    last, last_ok = runs["hf"]
    assert last is not None
    assert last.day == second
    assert last.ok
    assert last_ok == last


def test_every_field_is_capped_at_ingest(data_dir: Path) -> None:
    """A 5 MB abstract (and 5,000 authors, a huge title) is cut to the limits the README
    states before it is stored, indexed or rendered."""
    items = recorded(data_dir)
    paper = dict(items[0]["paper"])  # type: ignore[arg-type]
    paper["summary"] = "word " * 1_000_000
    paper["title"] = "T" * 100_000
    paper["ai_summary"] = "s" * 100_000
    paper["authors"] = [{"name": f"Author {n} " + "x" * 500} for n in range(5_000)]
    paper["upvotes"] = 10**15
    [parsed] = parse_items([{**items[0], "paper": paper, "title": paper["title"]}])
    assert len(parsed.abstract) == MAX_ABSTRACT
    assert len(parsed.title) == MAX_TITLE
    assert parsed.ai_summary is not None
    assert len(parsed.ai_summary) == MAX_SUMMARY
    assert len(parsed.authors) == MAX_AUTHORS
    assert all(len(name) <= MAX_NAME for name in parsed.authors)
    assert parsed.upvotes == MAX_POPULARITY
