"""ArxivSource over recorded Atom responses served by ``httpx.MockTransport``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from bot.errors import SourceResponseError
from bot.sources.arxiv import ArxivSource
from bot.sources.http import Fetcher, Pacer
from tests.fakes.clock import Clock

MakeFetcher = Callable[..., Fetcher]
URL = "https://arxiv.test/api/query"
Route = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def feed(data_dir: Path) -> Callable[[str], bytes]:
    return lambda name: (data_dir / "arxiv" / name).read_bytes()


def serve(*answers: tuple[int, bytes]) -> tuple[list[httpx.Request], Route]:
    """Answer with (status, body) pairs in turn, the last one forever."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = answers[min(len(seen), len(answers)) - 1]
        return httpx.Response(status, content=body)

    return seen, handler


def source(make_fetcher: MakeFetcher, handler: object, min_interval: float = 0) -> ArxivSource:
    return ArxivSource(make_fetcher(handler, source="arxiv"), URL, min_interval=min_interval)


async def test_id_list_lookup(make_fetcher: MakeFetcher, feed: Callable[[str], bytes]) -> None:
    seen, handler = serve((200, feed("id_list_1605.08386.xml")))
    page = await source(make_fetcher, handler).query(id_list=["1605.08386"])
    assert [p.id for p in page.papers] == ["1605.08386"]
    assert page.papers[0].source == "arxiv"
    assert dict(seen[0].url.params) == {"start": "0", "max_results": "100", "id_list": "1605.08386"}


async def test_search_page(make_fetcher: MakeFetcher, feed: Callable[[str], bytes]) -> None:
    seen, handler = serve((200, feed("query_all-testing_start0_max10.xml")))
    page = await source(make_fetcher, handler).query(
        "all:testing", max_results=10, sort_by="submittedDate"
    )
    assert len(page.papers) == 10
    assert page.total_results == 214881
    params = seen[0].url.params
    assert params["search_query"] == "all:testing"
    assert (params["sortBy"], params["sortOrder"]) == ("submittedDate", "descending")


async def test_error_feed_carries_arxivs_message(
    make_fetcher: MakeFetcher, feed: Callable[[str], bytes], sleeps: list[float]
) -> None:
    seen, handler = serve((400, feed("error_id_list_abc_http400.xml")))
    with pytest.raises(SourceResponseError, match="incorrect id format for abc") as caught:
        await source(make_fetcher, handler).query(id_list=["abc"])
    assert caught.value.source == "arxiv"
    assert "id_list=abc" in caught.value.url
    assert len(seen) == 1
    assert sleeps == []


async def test_unknown_id_is_an_empty_page(
    make_fetcher: MakeFetcher, feed: Callable[[str], bytes]
) -> None:
    seen, handler = serve((200, feed("empty_id_list_0000.0000.xml")))
    page = await source(make_fetcher, handler).query(id_list=["0000.0000"])
    assert page.papers == ()
    assert page.total_results == 0
    assert len(seen) == 1


async def test_empty_body_is_retried_once(
    make_fetcher: MakeFetcher, feed: Callable[[str], bytes]
) -> None:
    seen, handler = serve((200, b""), (200, feed("id_list_2104.12255v1.xml")))
    page = await source(make_fetcher, handler).query(id_list=["2104.12255v1"])
    assert [p.id for p in page.papers] == ["2104.12255"]
    assert len(seen) == 2


async def test_unparseable_twice_is_a_response_error(make_fetcher: MakeFetcher) -> None:
    seen, handler = serve((200, b"<html>busy</html>"))
    with pytest.raises(SourceResponseError, match="not an Atom feed"):
        await source(make_fetcher, handler).query("cat:cs.LG")
    assert len(seen) == 2


async def test_empty_first_search_page_is_retried_once(
    make_fetcher: MakeFetcher, feed: Callable[[str], bytes]
) -> None:
    empty = feed("empty_id_list_0000.0000.xml")
    seen, handler = serve((200, empty), (200, feed("query_all-testing_start0_max10.xml")))
    page = await source(make_fetcher, handler).query("all:testing", max_results=10)
    assert len(page.papers) == 10
    assert len(seen) == 2


async def test_search_with_no_match_is_empty_after_one_retry(
    make_fetcher: MakeFetcher, feed: Callable[[str], bytes]
) -> None:
    seen, handler = serve((200, feed("empty_id_list_0000.0000.xml")))
    page = await source(make_fetcher, handler).query('ti:"no such title"')
    assert page.papers == ()
    assert len(seen) == 2


async def test_server_error_goes_through_the_fetcher_retries(
    make_fetcher: MakeFetcher, feed: Callable[[str], bytes], sleeps: list[float]
) -> None:
    _, handler = serve((503, b"busy"), (200, feed("id_list_1605.08386.xml")))
    page = await source(make_fetcher, handler).query(id_list=["1605.08386"])
    assert len(page.papers) == 1
    assert len(sleeps) == 1


async def test_requests_are_paced(
    make_fetcher: MakeFetcher, feed: Callable[[str], bytes], clock: Clock
) -> None:
    times: list[float] = []
    body = feed("id_list_1605.08386.xml")

    def handler(_: httpx.Request) -> httpx.Response:
        times.append(clock.monotonic())
        return httpx.Response(200, content=body)

    pacer = Pacer(0.2, clock=clock.monotonic, sleep=clock.sleep)
    arxiv = ArxivSource(make_fetcher(handler, source="arxiv"), URL, pacer=pacer)
    await arxiv.query(id_list=["1605.08386"])
    await arxiv.query(id_list=["1605.08386"])
    assert times[1] - times[0] == pytest.approx(0.2)  # virtual seconds, not wall time
    assert clock.sleeps == [pytest.approx(0.2)]  # the second request waited out the interval


async def test_one_request_at_a_time(
    make_fetcher: MakeFetcher, feed: Callable[[str], bytes]
) -> None:
    body = feed("id_list_1605.08386.xml")
    in_flight = peak = 0

    async def handler(_: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)  # let the other queries run: none may get in meanwhile
        in_flight -= 1
        return httpx.Response(200, content=body)

    arxiv = source(make_fetcher, handler)
    calls: list[Awaitable[object]] = [arxiv.query(id_list=["1605.08386"]) for _ in range(3)]
    await asyncio.gather(*calls)
    assert peak == 1


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"search_query": "x", "max_results": 0}, {"search_query": "x", "start": -1}],
)
async def test_bad_arguments_are_rejected(
    make_fetcher: MakeFetcher, kwargs: dict[str, object]
) -> None:
    _, handler = serve((200, b""))
    with pytest.raises(ValueError, match=r"give|need"):
        await source(make_fetcher, handler).query(**kwargs)  # type: ignore[arg-type]
