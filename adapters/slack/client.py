"""The Slack Web API client: where it points, who it says it is, and how it retries."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot import ConfigError, Settings, bot_version

USER_AGENT = f"papersbot/{bot_version()}"
RateLimited = Callable[[float], None]  # told the seconds Slack asked us to wait


class ReportingRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (sleeps ``Retry-After`` plus jitter), telling *on_wait* first
    how long Slack asked for, so ``/metrics`` counts the waits the SDK absorbs."""

    def __init__(self, max_retry_count: int, on_wait: RateLimited | None = None) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._on_wait = on_wait

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if self._on_wait is not None and response is not None:
            asked = next(
                (v for k, v in response.headers.items() if k.lower() == "retry-after"), ["1"]
            )
            try:
                self._on_wait(float(asked[0]))
            except (TypeError, ValueError, IndexError):
                self._on_wait(1.0)
        await super().prepare_for_next_attempt_async(
            state=state, request=request, response=response, error=error
        )


def build_client(
    settings: Settings,
    *,
    session: aiohttp.ClientSession | None = None,
    rate_limit_retries: int = 5,
    server_error_retries: int = 2,
    server_error_interval: RetryIntervalCalculator | None = None,
    blind_retries: bool = True,
    token: str | None = None,
    on_rate_limit: RateLimited | None = None,
) -> AsyncWebClient:
    """The Web API client at ``SLACK_API_URL``, retrying 429s (sleeping ``Retry-After``
    plus up to 1 s of jitter) and 500/503s (exponential backoff from 0.5 s with jitter).

    slack_sdk counts attempts once across its retry handlers, so a call gives up after
    *rate_limit_retries* retries in all and retries a 5xx only while fewer than
    *server_error_retries* retries have happened.

    ``blind_retries=False`` is for scheduled posts: a dropped connection or a 5xx may come
    after Slack posted the message, so resending blindly could post it twice. Only 429s
    (rejected, so never posted) are retried; anything else reaches the dispatcher, which
    looks the post up (message metadata) before it tries again. *on_rate_limit* hears the
    seconds of every 429's ``Retry-After``.

    *token* is a workspace's own bot token (OAuth mode), instead of ``SLACK_BOT_TOKEN``.
    """
    if token is None and settings.slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set")
    if token is None and settings.slack_bot_token is not None:
        token = settings.slack_bot_token.get_secret_value()
    client = AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=30,
        session=session,
        user_agent_prefix=USER_AGENT,
    )
    if not blind_retries:
        client.retry_handlers.clear()  # slack_sdk's default resends after connection errors
    client.retry_handlers.append(ReportingRateLimitHandler(rate_limit_retries, on_rate_limit))
    if blind_retries:
        interval = server_error_interval or BackoffRetryIntervalCalculator(backoff_factor=0.5)
        client.retry_handlers.append(AsyncServerErrorRetryHandler(server_error_retries, interval))
    return client


def bolt_client(template: AsyncWebClient, *, token: str | None) -> AsyncWebClient:
    """The client Bolt is given: Bolt may deep-copy it (its lazy listeners do), so it holds no
    shared aiohttp session, and no token when an authorize function supplies one."""
    return AsyncWebClient(
        token=token,
        base_url=template.base_url,
        timeout=template.timeout,
        user_agent_prefix=USER_AGENT,
        retry_handlers=list(template.retry_handlers),
    )
