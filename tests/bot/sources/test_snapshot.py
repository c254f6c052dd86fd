"""SnapshotSource over the recorded daily files and the gzipped JSON-lines archive."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.errors import SourceResponseError, SourceUnavailable
from bot.sources.snapshot import SnapshotSource


def archive_lines(data_dir: Path, count: int) -> list[str]:
    with gzip.open(data_dir / "hf_daily_archive.jsonl.gz", "rt", encoding="utf-8") as lines:
        return [next(lines) for _ in range(count)]


def test_array_file_takes_its_day_from_the_name(data_dir: Path) -> None:
    days = list(SnapshotSource(data_dir / "hf_daily" / "2024-07-23.json").days())
    assert len(days) == 1
    day, papers = days[0]
    assert day == date(2024, 7, 23)
    assert len(papers) == 23
    assert {p.daily_day for p in papers} == {date(2024, 7, 23)}


def test_array_file_without_a_date_in_its_name(data_dir: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    new = tmp_path / "new.json"
    shutil.copy(data_dir / "hf_daily" / "2024-07-23.json", old)
    shutil.copy(data_dir / "hf_daily" / "2026-08-19.json", new)
    [(day, papers)] = SnapshotSource(old).days()
    assert day is None
    assert {p.daily_day for p in papers} == {None}
    [(day, papers)] = SnapshotSource(new).days()
    assert day is None
    assert {p.daily_day for p in papers} == {date(2026, 8, 19)}  # from submittedOnDailyAt


def test_gzip_is_detected_by_magic_not_name(data_dir: Path, tmp_path: Path) -> None:
    packed = tmp_path / "2025-06-13.dat"
    packed.write_bytes(gzip.compress((data_dir / "hf_daily" / "2025-06-13.json").read_bytes()))
    [(day, papers)] = SnapshotSource(packed).days()
    assert day == date(2025, 6, 13)
    assert len(papers) == 26


def test_whole_archive_parses(data_dir: Path) -> None:
    days = list(SnapshotSource(data_dir / "hf_daily_archive.jsonl.gz").days())
    papers = [p for _, batch in days for p in batch]
    assert len(days) == 520
    assert len(papers) == 8826
    assert len({p.id for p in papers}) == 8824
    assert days[0][0] == date(2024, 5, 27)
    assert days[-1][0] == date(2026, 6, 30)
    assert all(p.daily_day is not None for p in papers)


def test_plain_jsonl_named_like_gzip(data_dir: Path, tmp_path: Path) -> None:
    plain = tmp_path / "archive.jsonl.gz"  # the name lies; the bytes decide
    lines = archive_lines(data_dir, 5)
    plain.write_text("".join(lines), encoding="utf-8")
    days = list(SnapshotSource(plain).days())
    assert [d for d, _ in days] == [date.fromisoformat(json.loads(x)["date"]) for x in lines]
    assert [len(b) for _, b in days] == [len(json.loads(x)["items"]) for x in lines]


def test_bad_lines_are_skipped_and_named(
    data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = archive_lines(data_dir, 2)
    path = tmp_path / "archive.jsonl"
    bad = ['{"date": "2024-05-2', "\n", '{"date": "someday", "items": []}\n', "[1, 2]\n"]
    path.write_text(good[0] + bad[0] + "\n" + bad[1] + bad[2] + bad[3] + good[1], encoding="utf-8")
    days = list(SnapshotSource(path).days())
    assert len(days) == 2
    assert "line 2 skipped" in caplog.text
    assert "line 4 skipped: no valid date" in caplog.text
    assert "line 5 skipped: not a JSON object" in caplog.text


async def test_daily_picks_one_day(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "archive.jsonl"
    lines = archive_lines(data_dir, 3)
    path.write_text("".join(lines), encoding="utf-8")
    second = json.loads(lines[1])
    source = SnapshotSource(path)
    papers = await source.daily(date.fromisoformat(second["date"]))
    assert [p.id for p in papers] == [i["paper"]["id"] for i in second["items"]]
    assert await source.daily(date(2000, 1, 1)) == []


async def test_daily_on_an_undated_array_filters_by_paper_day(
    data_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "latest.json"
    shutil.copy(data_dir / "hf_daily" / "2026-03-16.json", path)
    assert len(await SnapshotSource(path).daily(date(2026, 3, 16))) == 20


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"hello", "neither a JSON array nor JSON lines"),
        (b"", "neither a JSON array nor JSON lines"),
        (b"[1, 2", "not valid JSON"),
        (b'{"no": "date"}\n', "none of its 1 lines"),
        (gzip.compress(b'[{"paper": {}}]')[:-6], "unreadable"),
    ],
    ids=["text", "empty", "broken-array", "no-good-line", "truncated-gzip"],
)
def test_unreadable_files_are_clear_errors(
    tmp_path: Path, content: bytes, match: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "snapshot.json"
    path.write_bytes(content)
    with pytest.raises(SourceResponseError, match=match) as caught:
        list(SnapshotSource(path).days())
    assert caught.value.url == str(path)


def test_missing_file_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match="file not found"):
        list(SnapshotSource(tmp_path / "nope.jsonl.gz").days())
