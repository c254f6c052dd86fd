"""The one HTTP discipline every source shares: timeouts, a User-Agent, retries, pacing.

:func:`build_client` makes the :class:`httpx.AsyncClient` the composition root opens once.
:class:`Fetcher` wraps it per source: it retries 429, 5xx, timeouts and transport errors with
exponential backoff, honours ``Retry-After`` and Hugging Face's ``RateLimit`` header, refuses
to wait longer than a cap, and turns every failure into a :class:`~bot.errors.SourceError`.
:class:`Pacer` spaces requests for sources with a published rate limit (arXiv).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bot.errors import SourceResponseError, SourceUnavailable
from bot.identity import user_agent
from bot.observe import NULL_OBSERVER, Observer

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Params = Mapping[str, str | int | float]

_RATELIMIT_RESET = re.compile(r"(?:^|;)\s*t=(\d+)")


def build_client(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The shared client: explicit timeouts, our User-Agent, redirects followed."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.papersbot_http_timeout),
        headers={"User-Agent": user_agent()},
        follow_redirects=True,
        transport=transport,
    )


def retry_after_seconds(value: str | None, *, now: datetime) -> float | None:
    """Seconds a ``Retry-After`` (delta-seconds or HTTP-date) asks for; ``None`` if unusable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def ratelimit_reset_seconds(value: str | None) -> float | None:
    """Seconds until reset from an IETF-draft ``RateLimit: "api";r=0;t=55`` header."""
    if value is None:
        return None
    m = _RATELIMIT_RESET.search(value)
    return float(m.group(1)) if m else None


def server_wait(response: httpx.Response, *, now: datetime) -> float | None:
    """How long the server asked us to wait before trying again, if it said."""
    wait = retry_after_seconds(response.headers.get("Retry-After"), now=now)
    if wait is None and response.status_code == 429:
        wait = ratelimit_reset_seconds(response.headers.get("RateLimit"))
    return wait


def error_detail(response: httpx.Response) -> str:
    """``HTTP 400: <message>``, the message taken from a JSON ``error`` or the body's start."""
    detail = f"HTTP {response.status_code}"
    try:
        body: Any = response.json()
        message = body.get("error") if isinstance(body, dict) else None
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        message = None
    if not isinstance(message, str):
        message = response.text
    message = " ".join(message.split())[:200]
    return f"{detail}: {message}" if message else detail


class Pacer:
    """At most one request at a time, starting at least *min_interval* s after the last ended.

    Counting from the end of the previous request (not its start, as a token bucket would)
    keeps the gap even when a response is slow, which is what arXiv's terms ask for.
    """

    def __init__(
        self,
        min_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._last_end: float | None = None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold the only request slot; waits out the interval since the previous request."""
        async with self._lock:
            while self._last_end is not None:
                delay = self._last_end + self.min_interval - self._clock()
                if delay <= 0:
                    break
                await self._sleep(delay)
            try:
                yield
            finally:
                self._last_end = self._clock()


class _RetryableStatus(Exception):
    """A 429 or 5xx answer, carried through tenacity to pick the wait."""

    def __init__(self, response: httpx.Response, wait: float | None) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.wait = wait


class Fetcher:
    """GET with retries for one named source over an injected client.

    *retries* is the number of retries after the first attempt. *sleep* is awaited between
    attempts (tests pass a recorder). A server that asks for a wait above *max_wait* seconds
    gets no retry: the call fails at once rather than hanging a chat command. *observer*
    hears each call's outcome and every wait a 429 asked for, under *label* (``hf``).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        source: str,
        *,
        retries: int = 4,
        sleep: Sleep = asyncio.sleep,
        max_wait: float = 60.0,
        observer: Observer = NULL_OBSERVER,
        label: str = "",
    ) -> None:
        self.client = client
        self.source = source
        self.label = label or source.lower()
        self._observer = observer
        self.retries = retries
        self.max_wait = max_wait
        self._sleep = sleep
        self._backoff = wait_exponential_jitter(multiplier=0.5, max=max_wait, jitter=0.5)

    async def get(
        self,
        url: str,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        accept: Collection[int] = (),
        pacer: Pacer | None = None,
    ) -> httpx.Response:
        """GET *url*; return a 2xx response, or one whose status is in *accept*.

        Raises :class:`SourceUnavailable` when retries run out or the server asks for too
        long a wait, :class:`SourceResponseError` for any other status.
        """
        try:
            response = await self._get(url, params, headers, accept, pacer)
        except SourceUnavailable:
            self._observer.fetch(self.label, "unavailable")
            raise
        except SourceResponseError:
            self._observer.fetch(self.label, "error")
            raise
        self._observer.fetch(self.label, "ok")
        return response

    async def _get(
        self,
        url: str,
        params: Params | None,
        headers: Mapping[str, str] | None,
        accept: Collection[int],
        pacer: Pacer | None,
    ) -> httpx.Response:
        shown = str(httpx.URL(url).copy_merge_params(dict(params))) if params else url
        attempts = self.retries + 1
        retrying = AsyncRetrying(
            sleep=self._sleep,
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            retry=retry_if_exception_type((_RetryableStatus, httpx.TransportError)),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    response = await self._attempt(url, params, headers, accept, pacer, shown)
        except _RetryableStatus as exc:
            code = exc.response.status_code
            raise SourceUnavailable(
                self.source, shown, f"HTTP {code} after {attempts} attempts"
            ) from None
        except httpx.TimeoutException as exc:
            seconds = self.client.timeout.read or self.client.timeout.connect
            detail = f"timed out after {seconds:g} s ({attempts} attempts)"
            raise SourceUnavailable(self.source, shown, detail) from exc
        except httpx.TransportError as exc:
            detail = f"{type(exc).__name__}: {exc} ({attempts} attempts)"
            raise SourceUnavailable(self.source, shown, detail) from exc
        except httpx.HTTPError as exc:  # too many redirects, undecodable body
            raise SourceResponseError(self.source, shown, f"{type(exc).__name__}: {exc}") from exc
        return response

    async def _attempt(
        self,
        url: str,
        params: Params | None,
        headers: Mapping[str, str] | None,
        accept: Collection[int],
        pacer: Pacer | None,
        shown: str,
    ) -> httpx.Response:
        if pacer is None:
            response = await self.client.get(url, params=params, headers=headers)
        else:
            async with pacer.slot():
                response = await self.client.get(url, params=params, headers=headers)
        code = response.status_code
        if response.is_success or code in accept:
            return response
        if code == 429 or code >= 500:
            wait = server_wait(response, now=datetime.now(UTC))
            if wait is not None and wait > self.max_wait:
                detail = (
                    f"HTTP {code}: asked to wait {wait:.0f} s, more than the "
                    f"{self.max_wait:g} s limit"
                )
                raise SourceUnavailable(self.source, shown, detail)
            raise _RetryableStatus(response, wait)
        raise SourceResponseError(self.source, shown, error_detail(response))

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableStatus) and exc.wait is not None:
            if exc.response.status_code == 429:
                self._observer.rate_limited(self.label, exc.wait)
            return exc.wait
        return self._backoff(state)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        what = str(exc) if isinstance(exc, _RetryableStatus) else type(exc).__name__
        log.warning(
            "%s: %s, retry %d of %d in %.1f s",
            self.source,
            what,
            state.attempt_number,
            self.retries,
            state.upcoming_sleep,
        )
