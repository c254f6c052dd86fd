"""Parsing recorded arXiv API Atom feeds, including its empty result and its error feed."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sources.arxiv_parse import ArxivFeedError, parse_feed


def feed(data_dir: Path, name: str) -> bytes:
    return (data_dir / "arxiv" / name).read_bytes()


def test_error_feed_raises_with_arxivs_message(data_dir: Path) -> None:
    with pytest.raises(ArxivFeedError, match="incorrect id format for abc"):
        parse_feed(feed(data_dir, "error_id_list_abc_http400.xml"))


def test_empty_feed_is_zero_papers(data_dir: Path) -> None:
    page = parse_feed(feed(data_dir, "empty_id_list_0000.0000.xml"))
    assert page.papers == ()
    assert page.total_results == 0
    assert page.start_index == 0


def test_single_entry_feed(data_dir: Path) -> None:
    page = parse_feed(feed(data_dir, "id_list_1605.08386.xml"))
    assert page.total_results == 1
    [paper] = page.papers
    assert paper.id == "1605.08386"  # the entry's id is http://arxiv.org/abs/1605.08386v1
    assert paper.title == "Heat-bath random walks with Markov bases"
    assert paper.authors == ("Caprice Stanley", "Tobias Windisch")
    assert paper.published == datetime(2016, 5, 26, 17, 59, 46, tzinfo=UTC)
    assert paper.abstract.startswith("Graphs on lattice points are studied")
    assert paper.source == "arxiv"
    assert paper.daily_day is None
    assert paper.upvotes == 0


def test_versioned_id_list_is_normalised(data_dir: Path) -> None:
    [paper] = parse_feed(feed(data_dir, "id_list_2104.12255v1.xml")).papers
    assert paper.id == "2104.12255"
    assert paper.title == "0"  # a real title that is falsy-looking but present
    assert paper.authors == ("Quan Thoi Minh Nguyen",)
    assert paper.published == datetime(2021, 4, 20, 16, 7, 14, tzinfo=UTC)


def test_query_feed_parses_every_entry(data_dir: Path) -> None:
    page = parse_feed(feed(data_dir, "query_all-testing_start0_max10.xml"))
    assert page.total_results == 214881
    assert page.start_index == 0
    assert [p.id for p in page.papers] == [
        "2202.12139",
        "2405.13786",
        "2005.14124",
        "2204.08348",
        "2302.03287",
        "1202.4527",
        "2503.05378",
        "1205.1866",
        "2502.07719",
        "1812.11470",
    ]
    for paper in page.papers:
        assert paper.title
        assert "\n" not in paper.title + paper.abstract
        assert paper.authors
        assert paper.published is not None
        assert paper.published.tzinfo is not None


def test_accepts_text_as_well_as_bytes(data_dir: Path) -> None:
    text = feed(data_dir, "id_list_1605.08386.xml").decode("utf-8")
    # ElementTree refuses a str that declares an encoding; the bytes form is what HTTP gives.
    body = text.split("?>", 1)[1]
    assert parse_feed(body).papers[0].id == "1605.08386"


@pytest.mark.parametrize(
    "body",
    [b"", b"not xml at all", b"<feed><entry>", b'{"json": true}'],
)
def test_non_xml_is_rejected(body: bytes) -> None:
    with pytest.raises(ArxivFeedError, match="not valid XML"):
        parse_feed(body)


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Service Unavailable</body></html>",
        b"<feed><entry/></feed>",  # a feed, but not in the Atom namespace
        b'<rss version="2.0"><channel/></rss>',
    ],
)
def test_non_atom_is_rejected(body: bytes) -> None:
    with pytest.raises(ArxivFeedError, match="not an Atom feed"):
        parse_feed(body)


def test_entry_without_id_or_title_is_skipped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = """<feed xmlns="http://www.w3.org/2005/Atom">
      <entry><id>http://arxiv.org/abs/2608.00001v1</id><title>Kept</title></entry>
      <entry><id>http://arxiv.org/abs/2608.00002v1</id><title> </title></entry>
      <entry><id>http://example.com/nothing</id><title>No id</title></entry>
      <entry><id>http://arxiv.org/abs/2608.00003v2</id><title>Bad date</title>
        <published>last week</published></entry>
    </feed>"""
    with caplog.at_level(logging.WARNING, logger="bot.sources.arxiv_parse"):
        page = parse_feed(body)
    assert [p.id for p in page.papers] == ["2608.00001"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "2608.00002" in logged
    assert "2608.00003" in logged
    assert "example.com/nothing" in logged
