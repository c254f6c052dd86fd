"""Fetcher retries, waits and error mapping against ``httpx.MockTransport``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from bot.config import load_settings
from bot.errors import SourceResponseError, SourceUnavailable
from bot.sources.http import (
    Fetcher,
    Pacer,
    build_client,
    ratelimit_reset_seconds,
    retry_after_seconds,
)
from tests.fakes.clock import Clock

MakeFetcher = Callable[..., Fetcher]
URL = "https://hf.test/api/daily_papers"
UA = re.compile(r"^papersbot/\S+ \(\+https://github\.com/papersbot/papersbot\)$")


def scripted(
    *responses: httpx.Response | Exception,
) -> tuple[list[httpx.Request], Callable[[httpx.Request], httpx.Response]]:
    """A handler answering with *responses* in turn (the last one forever) and its request log."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = responses[min(len(seen), len(responses)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return seen, handler


async def test_build_client_sets_timeout_user_agent_and_redirects() -> None:
    seen, handler = scripted(
        httpx.Response(301, headers={"Location": "https://hf.test/moved"}),
        httpx.Response(200, json=[]),
    )
    settings = load_settings(env_file=None, papersbot_http_timeout=7.5)
    async with build_client(settings, transport=httpx.MockTransport(handler)) as client:
        assert client.timeout == httpx.Timeout(7.5)
        response = await client.get(URL)
    assert response.status_code == 200
    assert [str(r.url) for r in seen] == [URL, "https://hf.test/moved"]
    assert UA.match(seen[0].headers["User-Agent"])


async def test_429_waits_out_retry_after_then_succeeds(
    make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    seen, handler = scripted(
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json=[])
    )
    response = await make_fetcher(handler).get(URL)
    assert response.status_code == 200
    assert sleeps == [7.0]
    assert len(seen) == 2


async def test_429_waits_for_hugging_face_ratelimit_reset(
    make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    limited = httpx.Response(
        429,
        headers={
            "RateLimit": '"api";r=0;t=42',
            "RateLimit-Policy": '"fixed window";"api";q=500;w=300',
        },
    )
    _, handler = scripted(limited, httpx.Response(200, json=[]))
    await make_fetcher(handler).get(URL)
    assert sleeps == [42.0]


async def test_5xx_backs_off_exponentially_then_succeeds(
    make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    _, handler = scripted(httpx.Response(502), httpx.Response(503), httpx.Response(200))
    response = await make_fetcher(handler).get(URL)
    assert response.status_code == 200
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0
    assert 1.0 <= sleeps[1] <= 1.5


async def test_5xx_forever_names_source_url_and_attempts(
    make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    seen, handler = scripted(httpx.Response(503))
    with pytest.raises(SourceUnavailable) as caught:
        await make_fetcher(handler, retries=4).get(URL, params={"date": "2026-08-19"})
    err = caught.value
    assert err.source == "huggingface"
    assert err.url == f"{URL}?date=2026-08-19"
    assert err.detail == "HTTP 503 after 5 attempts"
    assert "huggingface" in str(err)
    assert URL in str(err)
    assert len(seen) == 5
    assert len(sleeps) == 4


async def test_backoff_never_exceeds_the_cap(
    make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    _, handler = scripted(httpx.Response(500))
    with pytest.raises(SourceUnavailable):
        await make_fetcher(handler, retries=8, max_wait=2.0).get(URL)
    assert len(sleeps) == 8
    assert max(sleeps) <= 2.0


async def test_timeout_becomes_a_clear_source_unavailable(
    make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    seen, handler = scripted(httpx.ReadTimeout("read timed out"))
    with pytest.raises(SourceUnavailable, match=r"timed out after 15 s") as caught:
        await make_fetcher(handler, retries=2).get(URL)
    assert caught.value.url == URL
    assert len(seen) == 3
    assert len(sleeps) == 2


async def test_connection_error_is_retried(make_fetcher: MakeFetcher) -> None:
    seen, handler = scripted(httpx.ConnectError("refused"), httpx.Response(200))
    response = await make_fetcher(handler).get(URL)
    assert response.status_code == 200
    assert len(seen) == 2


async def test_connection_error_forever_names_the_failure(make_fetcher: MakeFetcher) -> None:
    _, handler = scripted(httpx.ConnectError("connection refused"))
    with pytest.raises(SourceUnavailable, match=r"ConnectError: connection refused \(2 attempts\)"):
        await make_fetcher(handler, retries=1).get(URL)


@pytest.mark.parametrize(
    "headers",
    [{"Retry-After": "3600"}, {"RateLimit": '"api";r=0;t=290'}],
    ids=["retry-after", "ratelimit"],
)
async def test_wait_longer_than_cap_gives_up_at_once(
    make_fetcher: MakeFetcher, sleeps: list[float], headers: dict[str, str]
) -> None:
    seen, handler = scripted(httpx.Response(429, headers=headers))
    with pytest.raises(SourceUnavailable, match=r"asked to wait \d+ s, more than the 60 s limit"):
        await make_fetcher(handler, max_wait=60.0).get(URL)
    assert len(seen) == 1
    assert sleeps == []


async def test_4xx_is_not_retried_and_carries_the_message(
    make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    seen, handler = scripted(httpx.Response(400, json={"error": "Invalid date"}))
    with pytest.raises(SourceResponseError) as caught:
        await make_fetcher(handler).get(URL)
    assert caught.value.detail == "HTTP 400: Invalid date"
    assert len(seen) == 1
    assert sleeps == []


async def test_accepted_status_is_returned(make_fetcher: MakeFetcher) -> None:
    _, handler = scripted(httpx.Response(400, text="<feed/>"))
    response = await make_fetcher(handler).get(URL, accept=(400,))
    assert response.status_code == 400


def test_retry_after_parses_seconds_and_http_dates() -> None:
    now = datetime(2026, 8, 19, 8, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now=now) == 120.0
    assert retry_after_seconds("Wed, 19 Aug 2026 08:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Wed, 19 Aug 2026 07:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None, now=now) is None


def test_ratelimit_header_reset() -> None:
    assert ratelimit_reset_seconds('"api";r=0;t=55') == 55.0
    assert ratelimit_reset_seconds('"api";r=12') is None
    assert ratelimit_reset_seconds(None) is None


async def test_pacer_spaces_requests_from_the_end_of_the_last(clock: Clock) -> None:
    pacer = Pacer(3.0, clock=clock.monotonic, sleep=clock.sleep)
    async with pacer.slot():
        clock.advance(seconds=1.0)  # a slow response
    clock.advance(seconds=0.5)
    async with pacer.slot():
        pass
    assert clock.sleeps == [2.5]
