"""Recorded files that lie or break: future days, odd offsets, deep nesting, huge lines,
whitespace bombs and truncated gzip. One bad item or line is skipped and said; the good
ones beside it are stored; nothing is read whole into memory."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.errors import SourceResponseError
from bot.sources.ingest import Ingestor
from bot.sources.snapshot import MAX_LINE, SnapshotSource
from bot.store import Store
from tests.fakes.clock import Clock

DAYS = ("2025-10-14", "2025-06-13")


def day_items(data_dir: Path, day: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads((data_dir / "hf_daily" / f"{day}.json").read_text())
    return items


def line(day: str, items: list[dict[str, Any]]) -> str:
    return json.dumps({"date": day, "items": items}) + "\n"


@pytest.fixture
async def empty(tmp_path: Path) -> Store:
    store = await Store.open(tmp_path / "fresh.db")
    yield store  # type: ignore[misc]
    await store.close()


async def test_a_day_in_the_future_is_refused_and_the_latest_day_stays_real(
    empty: Store, data_dir: Path, tmp_path: Path
) -> None:
    items = day_items(data_dir, DAYS[0])
    future = json.loads(json.dumps(items[0]))
    future["paper"]["id"] = "2699.99999"
    future["paper"]["submittedOnDailyAt"] = "9999-12-31T00:00:00.000Z"
    path = tmp_path / "days.jsonl"
    path.write_text(line("9999-12-31", items[1:3]) + line(DAYS[0], [*items, future]))
    summary = await Ingestor(store=empty, clock=Clock()).from_file(path)
    assert await empty.papers.latest_day() == date(2025, 10, 14)
    assert await empty.papers.get("2699.99999") is None
    assert summary.papers == len(items)
    assert any("future" in note for note in summary.notes)


async def test_an_offset_with_seconds_is_stored_in_utc_beside_its_good_neighbours(
    empty: Store, data_dir: Path, tmp_path: Path
) -> None:
    items = day_items(data_dir, DAYS[0])
    items[0]["paper"]["publishedAt"] = "2025-10-13T12:00:00+05:00:30"
    path = tmp_path / "days.jsonl"
    path.write_text(line(DAYS[0], items))
    summary = await Ingestor(store=empty, clock=Clock()).from_file(path)
    assert summary.papers == len(items)
    stored = await empty.papers.get(items[0]["paper"]["id"])
    assert stored is not None
    assert stored.paper.published is not None
    assert stored.paper.published.isoformat() == "2025-10-13T06:59:30+00:00"
    search = await empty.papers.fts_candidates(None, limit=5000)
    assert len(search) == len(items)  # its rank row exists (it used to break the batch)


async def test_a_line_nested_too_deep_is_skipped_and_later_lines_are_stored(
    empty: Store, data_dir: Path, tmp_path: Path
) -> None:
    deep = '{"date": "2025-10-13", "items": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    path = tmp_path / "days.jsonl"
    path.write_text(deep + line(DAYS[0], day_items(data_dir, DAYS[0])))
    summary = await Ingestor(store=empty, clock=Clock()).from_file(path)
    assert summary.days == 1
    assert summary.complete
    assert summary.notes[0].startswith("line 1 skipped")


async def test_a_line_longer_than_the_limit_is_skipped_without_holding_it(
    empty: Store, data_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "days.jsonl.gz"
    with gzip.open(path, "wt", compresslevel=1) as out:
        out.write('{"date": "2025-10-13", "items": ["')
        chunk = "x" * 1024 * 1024
        for _ in range(MAX_LINE // len(chunk) + 2):
            out.write(chunk)
        out.write('"]}\n')
        out.write(line(DAYS[0], day_items(data_dir, DAYS[0])))
    summary = await Ingestor(store=empty, clock=Clock()).from_file(path)
    assert summary.days == 1
    assert summary.notes[0] == f"line 1 skipped: longer than {MAX_LINE // 1024 // 1024} MB"


def test_a_file_of_whitespace_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "spaces.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        block = b" " * 1024 * 1024
        for _ in range(100):  # 100 MB of spaces, about 100 KB on disk
            out.write(block)
    with pytest.raises(SourceResponseError, match="neither a JSON array nor JSON lines"):
        list(SnapshotSource(path).days())


async def test_a_truncated_gzip_keeps_the_days_before_the_damage_and_says_so(
    empty: Store, data_dir: Path, tmp_path: Path
) -> None:
    text = "".join(line(day, day_items(data_dir, day)) for day in DAYS)
    whole = gzip.compress(text.encode(), compresslevel=6)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: int(len(whole) * 0.8)])
    summary = await Ingestor(store=empty, clock=Clock()).from_file(path)
    assert summary.days == 1
    assert summary.papers == len(day_items(data_dir, DAYS[0]))
    assert not summary.complete
    assert summary.notes[-1].startswith("reading stopped at line")
    runs = await empty.runs.last()
    last, _ = runs["snapshot"]
    assert last is not None
    assert not last.ok
