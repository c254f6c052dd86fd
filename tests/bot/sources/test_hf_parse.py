"""Parsing Hugging Face items of every schema era (2024-2026) into papers."""

from __future__ import annotations

import copy
import gzip
import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.model.papers import Paper
from bot.sources.hf_parse import MalformedItem, parse_item, parse_items

ERAS = {
    "2024-07-23": 23,
    "2025-01-15": 10,
    "2025-06-13": 26,
    "2025-10-14": 39,
    "2026-03-16": 20,
    "2026-08-19": 26,
}


def load_day(data_dir: Path, day: str) -> list[Any]:
    items: list[Any] = json.loads((data_dir / "hf_daily" / f"{day}.json").read_text("utf-8"))
    return items


def item_for(data_dir: Path, day: str, paper_id: str) -> dict[str, Any]:
    for item in load_day(data_dir, day):
        if item["paper"]["id"] == paper_id:
            return copy.deepcopy(item)
    raise AssertionError(f"{paper_id} not recorded on {day}")


def archive_item(archive: Path, paper_id: str) -> tuple[date, dict[str, Any]]:
    with gzip.open(archive, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            for item in record["items"]:
                if item["paper"]["id"] == paper_id:
                    return date.fromisoformat(record["date"]), item
    raise AssertionError(f"{paper_id} not in the archive")


@pytest.mark.parametrize(("day", "count"), ERAS.items())
def test_every_schema_era_parses_fully(data_dir: Path, day: str, count: int) -> None:
    items = load_day(data_dir, day)
    papers = parse_items(items, day=date.fromisoformat(day))
    assert len(items) == count
    assert [p.id for p in papers] == [item["paper"]["id"] for item in items]
    assert [p.upvotes for p in papers] == [item["paper"]["upvotes"] for item in items]
    assert {p.daily_day for p in papers} == {date.fromisoformat(day)}
    for paper in papers:
        assert paper.title
        assert paper.abstract
        assert paper.authors
        assert paper.published is not None
        assert paper.published.tzinfo is not None
        assert paper.source == "hf"
        assert "\n" not in paper.title + paper.abstract
        assert "  " not in paper.title + paper.abstract


def test_whole_archive_parses(archive: Path) -> None:
    total = 0
    ids: set[str] = set()
    with gzip.open(archive, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            day = date.fromisoformat(record["date"])
            papers = parse_items(record["items"], day=day)
            assert len(papers) == len(record["items"]), record["date"]
            assert all(p.daily_day == day for p in papers), record["date"]
            total += len(papers)
            ids.update(p.id for p in papers)
    assert total == 8826
    assert len(ids) == 8824


def test_later_eras_carry_ai_fields_organisation_and_stars(data_dir: Path) -> None:
    paper = parse_item(item_for(data_dir, "2025-10-14", "2510.11027"))
    assert paper.ai_summary
    assert len(paper.ai_keywords) > 3
    assert paper.github_stars == 12
    assert paper.organization == "shanghai ailab"  # squashed, trailing space gone
    assert paper.comments == 1
    assert paper.daily_day == date(2025, 10, 14)


def test_title_line_wraps_are_squashed(data_dir: Path) -> None:
    item = item_for(data_dir, "2025-06-13", "2506.09513")
    assert "\n" in item["paper"]["title"]
    flat = item["paper"]  # /api/papers/{id} answers flat, without the display title
    paper = parse_item(flat)
    assert paper.title == (
        "ReasonMed: A 370K Multi-Agent Generated Dataset for Advancing Medical Reasoning"
    )
    assert parse_item(item).title == paper.title


def test_display_title_wins_over_the_wrapped_one(data_dir: Path) -> None:
    item = item_for(data_dir, "2024-07-23", "2407.15841")
    item["title"] = "Display Title"
    assert parse_item(item).title == "Display Title"


def test_relative_urls_are_made_absolute(data_dir: Path) -> None:
    item = load_day(data_dir, "2026-08-19")[0]
    item["thumbnail"] = "/static/thumbs/x.png"
    item["paper"]["projectPage"] = " /spaces/org/demo\n"
    paper = parse_item(item)
    assert paper.thumbnail == "https://huggingface.co/static/thumbs/x.png"
    assert paper.project_page == "https://huggingface.co/spaces/org/demo"


def test_unusable_urls_become_none(data_dir: Path) -> None:
    item = load_day(data_dir, "2026-08-19")[0]
    item["thumbnail"] = "javascript:alert(1)"
    item.pop("mediaUrl", None)
    item["paper"]["projectPage"] = 42
    item["paper"]["githubRepo"] = "ftp://example.com/repo"
    paper = parse_item(item)
    assert paper.thumbnail is None
    assert paper.project_page is None
    assert paper.github_repo is None


def test_old_media_url_stands_in_for_an_empty_thumbnail(archive: Path) -> None:
    day, item = archive_item(archive, "2405.15738")
    assert not item.get("thumbnail")
    paper = parse_item(item, day=day)
    assert paper.thumbnail == (
        "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2405.15738.png"
    )


def test_project_page_with_leading_space_is_cleaned(archive: Path) -> None:
    day, item = archive_item(archive, "2503.11646")
    assert item["paper"]["projectPage"].startswith(" ")
    assert parse_item(item, day=day).project_page == "https://sites.google.com/view/adc-robot"


@pytest.mark.parametrize(
    ("paper_id", "expected"),
    [
        (
            "2510.05342",
            "https://github.com/sirano1004/Margin-Apative-Direct-Preference-Optimization",
        ),
        ("2510.18940", "https://github.com/FightingFighting/NeuroAda"),  # newline and .git
    ],
)
def test_github_repo_with_newline_is_cleaned(archive: Path, paper_id: str, expected: str) -> None:
    day, item = archive_item(archive, paper_id)
    assert "\n" in item["paper"]["githubRepo"]
    assert parse_item(item, day=day).github_repo == expected


@pytest.mark.parametrize(
    ("paper_id", "expected"),
    [
        ("2510.08886", "https://github.com/The-FinAI/FinAuditing"),
        ("2510.11027", "https://github.com/OpenGVLab/Vlaser"),
    ],
)
def test_github_repo_git_suffix_and_slash_removed(
    data_dir: Path, paper_id: str, expected: str
) -> None:
    assert parse_item(item_for(data_dir, "2025-10-14", paper_id)).github_repo == expected


def test_hidden_authors_are_skipped(data_dir: Path) -> None:
    item = item_for(data_dir, "2024-07-23", "2407.14561")
    hidden = [a["name"] for a in item["paper"]["authors"] if a.get("hidden")]
    assert hidden == ["Caden Juang"]
    paper = parse_item(item)
    assert "Caden Juang" not in paper.authors
    assert paper.authors[:5] == (
        "Jaden Fiotto-Kaufman",
        "Alexander R Loftus",
        "Eric Todd",
        "Jannik Brinkmann",
        "Koyena Pal",
    )
    assert len(paper.authors) == len(item["paper"]["authors"]) - 1


def test_author_entries_without_a_name_are_skipped() -> None:
    paper = parse_item(
        {
            "id": "2608.00001",
            "title": "T",
            "authors": [{"name": " Ada  Lovelace "}, {"name": ""}, {"_id": "x"}, "Bob", None],
        }
    )
    assert paper.authors == ("Ada Lovelace",)


def test_absent_fields_take_defaults() -> None:
    paper = parse_item({"paper": {"id": "2608.17271v2", "title": "Only a title"}})
    assert paper == Paper(id="2608.17271", title="Only a title")
    assert paper.daily_day is None
    assert paper.upvotes == 0
    assert paper.github_stars is None


def test_oldest_era_has_no_ai_fields(data_dir: Path) -> None:
    paper = parse_item(item_for(data_dir, "2024-07-23", "2407.14561"), day=date(2024, 7, 23))
    assert paper.ai_summary is None
    assert paper.ai_keywords == ()
    assert paper.github_repo is None
    assert paper.github_stars is None
    assert paper.organization is None
    assert paper.upvotes == 24
    assert paper.comments == 1
    assert paper.published == datetime(2024, 7, 18, 17, 59, 1, tzinfo=UTC)


def test_negative_counts_are_clamped_to_zero() -> None:
    paper = parse_item({"paper": {"id": "2608.00001", "title": "T", "upvotes": -3}})
    assert paper.upvotes == 0


def test_day_comes_from_submitted_on_daily_at(data_dir: Path) -> None:
    item = load_day(data_dir, "2026-08-19")[0]
    assert item["paper"]["submittedOnDailyAt"].startswith("2026-08-19")
    assert parse_item(item, day=date(2020, 1, 1)).daily_day == date(2026, 8, 19)
    del item["paper"]["submittedOnDailyAt"]
    assert parse_item(item, day=date(2020, 1, 1)).daily_day == date(2020, 1, 1)
    assert parse_item(item).daily_day is None


def _bad_items() -> list[tuple[object, str]]:
    base = {"id": "2608.00010", "title": "T"}
    return [
        ("not an object", "not an object"),
        (["a", "list"], "not an object"),
        ({"paper": "not an object"}, "paper is not an object"),
        ({"paper": {"title": "No id"}}, "no arXiv id"),
        ({"paper": {"id": "nonsense", "title": "Bad id"}}, "no arXiv id"),
        ({"paper": {**base, "id": "2608.00011", "upvotes": "12"}}, "2608.00011"),
        ({"paper": {**base, "id": "2608.00012", "upvotes": True}}, "2608.00012"),
        ({"paper": {**base, "id": "2608.00013", "publishedAt": "yesterday"}}, "2608.00013"),
        ({"paper": {**base, "id": "2608.00014", "publishedAt": 1723939200}}, "2608.00014"),
        ({"paper": {**base, "id": "2608.00015", "authors": "Ada"}}, "2608.00015"),
        ({"paper": {"id": "2608.00016"}}, "2608.00016"),  # no title
        ({"paper": {**base, "id": "2608.00017", "title": 7}}, "2608.00017"),
    ]


@pytest.mark.parametrize(("item", "said"), _bad_items())
def test_malformed_item_raises_naming_it(item: object, said: str) -> None:
    with pytest.raises(MalformedItem, match=said):
        parse_item(item)


def test_malformed_items_are_skipped_and_logged_with_their_id(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = load_day(data_dir, "2026-08-19")[:3]
    bad = [item for item, _ in _bad_items()]
    batch = [good[0], *bad[:6], good[1], *bad[6:], good[2]]
    with caplog.at_level(logging.WARNING, logger="bot.sources.hf_parse"):
        papers = parse_items(batch, day=date(2026, 8, 19))
    assert [p.id for p in papers] == [item["paper"]["id"] for item in good]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == len(bad)
    text = "\n".join(r.getMessage() for r in warnings)
    for paper_id in ("2608.00011", "2608.00013", "2608.00014", "2608.00016", "2608.00017"):
        assert paper_id in text
    assert "#1:" in warnings[0].getMessage()  # the position, when there is no id to name


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "1e400"])
def test_non_finite_count_skips_only_that_item(raw: str) -> None:
    items = json.loads(
        f'[{{"paper": {{"id": "2608.00001", "title": "A", "upvotes": {raw}}}}},'
        ' {"paper": {"id": "2608.00002", "title": "B", "upvotes": 3}}]'
    )
    assert [p.id for p in parse_items(items)] == ["2608.00002"]


@pytest.mark.parametrize("raw", ["2026-08-18T00:00:00", "2026-08-18"])
def test_timestamps_without_offset_are_taken_as_utc(raw: str) -> None:
    paper = parse_item({"paper": {"id": "2608.00001", "title": "T", "publishedAt": raw}})
    assert paper.published == datetime(2026, 8, 18, tzinfo=UTC)
