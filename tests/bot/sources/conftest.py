"""Fixtures for the source tests: the recorded data and fetchers over ``httpx.MockTransport``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import load_settings
from bot.sources.http import Fetcher, build_client
from tests.fakes.clock import Clock

Handler = Callable[[httpx.Request], Any]
MakeFetcher = Callable[..., Fetcher]


@pytest.fixture
def hf_day(data_dir: Path) -> Callable[[str], list[Any]]:
    """Load one recorded ``/api/daily_papers?date=`` response by its day."""

    def load(day: str) -> list[Any]:
        items: list[Any] = json.loads((data_dir / "hf_daily" / f"{day}.json").read_text("utf-8"))
        return items

    return load


@pytest.fixture
def sleeps(clock: Clock) -> list[float]:
    """Every wait the fetcher asked for, in order (the fetchers sleep on the test clock)."""
    return clock.sleeps


@pytest.fixture
async def make_fetcher(clock: Clock) -> AsyncIterator[MakeFetcher]:
    """Build a :class:`Fetcher` whose client talks to *handler* and whose sleep only moves
    the test clock."""
    clients: list[httpx.AsyncClient] = []

    def make(handler: Handler, *, source: str = "huggingface", **kwargs: Any) -> Fetcher:
        settings = load_settings(env_file=None, papersbot_http_timeout=15.0)
        client = build_client(settings, transport=httpx.MockTransport(handler))
        clients.append(client)
        return Fetcher(client, source, sleep=clock.sleep, **kwargs)

    yield make
    for client in clients:
        await client.aclose()
