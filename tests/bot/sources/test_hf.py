"""HuggingFaceSource over recorded Daily Papers responses served by ``httpx.MockTransport``."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.errors import NotFound, SourceResponseError
from bot.sources.hf import MAX_PAGES, HuggingFaceSource
from bot.sources.http import Fetcher

MakeFetcher = Callable[..., Fetcher]
BASE = "https://hf.test"
DayLoader = Callable[[str], list[Any]]


def serve(
    route: Callable[[httpx.Request], httpx.Response],
) -> tuple[list[httpx.Request], Callable[[httpx.Request], httpx.Response]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return route(request)

    return seen, handler


def old_archive_items(data_dir: Path, count: int) -> list[Any]:
    """*count* real items from the 2024 archive days (no ``submittedOnDailyAt``)."""
    items: list[Any] = []
    with gzip.open(data_dir / "hf_daily_archive.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            items.extend(json.loads(line)["items"])
            if len(items) >= count:
                return items[:count]
    raise AssertionError("archive too small")


async def test_daily_parses_a_recorded_day(make_fetcher: MakeFetcher, hf_day: DayLoader) -> None:
    items = hf_day("2026-08-19")
    seen, handler = serve(lambda _: httpx.Response(200, json=items))
    papers = await HuggingFaceSource(make_fetcher(handler), BASE).daily(date(2026, 8, 19))
    assert [p.id for p in papers] == [i["paper"]["id"] for i in items]
    assert all(p.daily_day == date(2026, 8, 19) for p in papers)
    assert len(seen) == 1
    assert seen[0].url.path == "/api/daily_papers"
    assert dict(seen[0].url.params) == {"date": "2026-08-19", "limit": "100"}


async def test_daily_old_schema_takes_the_day_asked_for(
    make_fetcher: MakeFetcher, hf_day: DayLoader
) -> None:
    items = hf_day("2024-07-23")
    _, handler = serve(lambda _: httpx.Response(200, json=items))
    papers = await HuggingFaceSource(make_fetcher(handler), BASE).daily(date(2024, 7, 23))
    assert len(papers) == 23
    assert {p.daily_day for p in papers} == {date(2024, 7, 23)}


async def test_daily_pages_through_a_day_of_more_than_100(
    make_fetcher: MakeFetcher, data_dir: Path
) -> None:
    items = old_archive_items(data_dir, 130)
    pages = {None: items[:100], "1": items[100:], "2": []}
    seen, handler = serve(lambda r: httpx.Response(200, json=pages[r.url.params.get("p")]))
    papers = await HuggingFaceSource(make_fetcher(handler), BASE).daily(date(2024, 6, 3))
    assert len(papers) == 130
    assert [p.id for p in papers] == [i["paper"]["id"] for i in items]
    assert [r.url.params.get("p") for r in seen] == [None, "1"]
    assert all(r.url.params["limit"] == "100" for r in seen)


async def test_daily_exactly_100_asks_for_the_next_page(
    make_fetcher: MakeFetcher, data_dir: Path
) -> None:
    items = old_archive_items(data_dir, 100)
    seen, handler = serve(
        lambda r: httpx.Response(200, json=[] if r.url.params.get("p") else items)
    )
    papers = await HuggingFaceSource(make_fetcher(handler), BASE).daily(date(2024, 6, 3))
    assert len(papers) == 100
    assert len(seen) == 2


async def test_daily_stops_at_the_page_cap(
    make_fetcher: MakeFetcher, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    items = old_archive_items(data_dir, 100)
    seen, handler = serve(lambda _: httpx.Response(200, json=items))
    papers = await HuggingFaceSource(make_fetcher(handler), BASE).daily(date(2024, 6, 3))
    assert len(seen) == MAX_PAGES
    assert len(papers) == 100  # the repeats are dropped
    assert "stopped after 20 pages" in caplog.text


@pytest.mark.parametrize(
    ("body", "match"),
    [({"error": "nope"}, "expected a list, got dict"), ("<html>", "body is not JSON")],
)
async def test_daily_unusable_body_is_a_response_error(
    make_fetcher: MakeFetcher, body: object, match: str
) -> None:
    def route(_: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(200, text=body)
        return httpx.Response(200, json=body)

    _, handler = serve(route)
    with pytest.raises(SourceResponseError, match=match):
        await HuggingFaceSource(make_fetcher(handler), BASE).daily(date(2026, 8, 19))


async def test_daily_bad_date_is_a_response_error(make_fetcher: MakeFetcher) -> None:
    error = {"error": "date must be in the past"}
    _, handler = serve(lambda _: httpx.Response(400, json=error))
    with pytest.raises(SourceResponseError, match="HTTP 400: date must be in the past"):
        await HuggingFaceSource(make_fetcher(handler), BASE).daily(date(2099, 1, 1))


async def test_token_is_sent_as_bearer_and_never_logged(
    make_fetcher: MakeFetcher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answers = iter([httpx.Response(503), httpx.Response(200, json=[])])
    seen, handler = serve(lambda _: next(answers))
    await HuggingFaceSource(make_fetcher(handler), BASE, token="hf_secret123").daily(
        date(2026, 8, 19)
    )
    assert [r.headers["Authorization"] for r in seen] == ["Bearer hf_secret123"] * 2
    assert seen[0].headers["User-Agent"].startswith("papersbot/")
    assert "retry 1 of 4" in caplog.text
    assert "hf_secret123" not in caplog.text


async def test_no_authorization_without_token(make_fetcher: MakeFetcher) -> None:
    seen, handler = serve(lambda _: httpx.Response(200, json=[]))
    await HuggingFaceSource(make_fetcher(handler), BASE).search("llama")
    assert "Authorization" not in seen[0].headers
    assert seen[0].headers["User-Agent"].startswith("papersbot/")


async def test_search_reads_wrapped_items(make_fetcher: MakeFetcher, hf_day: DayLoader) -> None:
    items = hf_day("2025-10-14")
    seen, handler = serve(lambda _: httpx.Response(200, json=items))
    papers = await HuggingFaceSource(make_fetcher(handler), BASE).search("  diffusion  ", 10)
    assert [p.id for p in papers] == [i["paper"]["id"] for i in items]
    assert seen[0].url.path == "/api/papers/search"
    assert dict(seen[0].url.params) == {"q": "diffusion", "limit": "10"}


async def test_search_reads_flat_items(make_fetcher: MakeFetcher, hf_day: DayLoader) -> None:
    flat = [item["paper"] for item in hf_day("2026-03-16")]
    _, handler = serve(lambda _: httpx.Response(200, json=flat))
    papers = await HuggingFaceSource(make_fetcher(handler), BASE).search("agents")
    assert [p.id for p in papers] == [f["id"] for f in flat]
    assert all(p.title and "\n" not in p.title for p in papers)


async def test_search_cuts_the_query_and_clamps_the_limit(make_fetcher: MakeFetcher) -> None:
    seen, handler = serve(lambda _: httpx.Response(200, json=[]))
    source = HuggingFaceSource(make_fetcher(handler), BASE)
    await source.search("x" * 400, limit=500)
    await source.search("y", limit=0)
    assert seen[0].url.params["q"] == "x" * 250
    assert [r.url.params["limit"] for r in seen] == ["120", "1"]


async def test_search_blank_query_asks_nothing(make_fetcher: MakeFetcher) -> None:
    seen, handler = serve(lambda _: httpx.Response(200, json=[]))
    assert await HuggingFaceSource(make_fetcher(handler), BASE).search("   ") == []
    assert seen == []


async def test_paper_reads_the_flat_object(make_fetcher: MakeFetcher, hf_day: DayLoader) -> None:
    flat = hf_day("2026-08-19")[0]["paper"]
    seen, handler = serve(lambda _: httpx.Response(200, json=flat))
    paper = await HuggingFaceSource(make_fetcher(handler), BASE).paper(
        f"https://arxiv.org/abs/{flat['id']}v2"
    )
    assert paper.id == flat["id"]
    assert paper.upvotes == flat["upvotes"]
    assert seen[0].url.path == f"/api/papers/{flat['id']}"


async def test_paper_404_is_not_found(make_fetcher: MakeFetcher, sleeps: list[float]) -> None:
    seen, handler = serve(lambda _: httpx.Response(404, json={"error": "Paper not found"}))
    with pytest.raises(NotFound, match=r"1234\.56789"):
        await HuggingFaceSource(make_fetcher(handler), BASE).paper("1234.56789")
    assert len(seen) == 1
    assert sleeps == []
