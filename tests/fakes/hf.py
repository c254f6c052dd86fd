"""A loopback Hugging Face papers API: ``GET /api/daily_papers?date=&limit=&p=`` serving
recorded real days (``../shared/data/hf_daily_archive.jsonl.gz``) under any dates a test
asks for, and ``GET /api/papers/{id}``.

Like the real API: a day nobody featured papers on is ``[]``; pages of at most ``limit``
items (the API's maximum is 100); a bad ``date`` is a 400 with a JSON ``error``. Knobs:
:attr:`FakeHuggingFace.delay` (seconds before each answer), :attr:`failing` (dates that
answer 503), :attr:`rate_limited` (how many requests answer 429 with ``Retry-After``).
Every request is recorded in :attr:`requests` with its arrival time.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from datetime import date
from typing import Any

from aiohttp import web

from tests.shared_data import SHARED_DATA

ARCHIVE = SHARED_DATA / "hf_daily_archive.jsonl.gz"


def recorded_days(count: int) -> list[list[dict[str, Any]]]:
    """The raw items of the newest *count* recorded days of the archive, oldest first."""
    with gzip.open(ARCHIVE, "rt", encoding="utf-8") as stream:
        lines = stream.readlines()
    return [json.loads(line)["items"] for line in lines[-count:]]


class FakeHuggingFace:
    """``async with FakeHuggingFace(days) as hf:`` then point ``HF_API_URL`` at :attr:`url`."""

    def __init__(self, days: dict[date, list[dict[str, Any]]] | None = None) -> None:
        self.days = dict(days or {})
        self.delay = 0.0
        self.failing: set[date] = set()
        self.rate_limited = 0
        self.retry_after = "1"
        self.requests: list[tuple[float, str, dict[str, str]]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @classmethod
    def recorded(cls, dates: list[date]) -> FakeHuggingFace:
        """A fake whose *dates* (any order) carry the newest recorded days, newest to newest."""
        ordered = sorted(dates)
        return cls(dict(zip(ordered, recorded_days(len(ordered)), strict=True)))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def daily_dates(self) -> list[date]:
        """The dates asked for on ``daily_papers``, in order of arrival."""
        return [date.fromisoformat(q["date"]) for _, path, q in self.requests if "daily" in path]

    async def __aenter__(self) -> FakeHuggingFace:
        app = web.Application()
        app.router.add_get("/api/daily_papers", self._daily)
        app.router.add_get("/api/papers/{paper_id}", self._paper)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _daily(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.requests.append((time.monotonic(), request.path, query))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return web.json_response(
                {"error": "rate limited"}, status=429, headers={"Retry-After": self.retry_after}
            )
        try:
            day = date.fromisoformat(query.get("date", ""))
            limit = min(100, int(query.get("limit", "50")))
            page = int(query.get("p", "0"))
        except ValueError:
            return web.json_response({"error": "Invalid date or limit"}, status=400)
        if day in self.failing:
            return web.json_response({"error": "Service Unavailable"}, status=503)
        items = self.days.get(day, [])
        return web.json_response(items[page * limit : (page + 1) * limit])

    async def _paper(self, request: web.Request) -> web.Response:
        self.requests.append((time.monotonic(), request.path, dict(request.query)))
        wanted = request.match_info["paper_id"]
        for items in self.days.values():
            for item in items:
                if item.get("paper", {}).get("id") == wanted:
                    return web.json_response(item["paper"])
        return web.json_response({"error": "Paper not found"}, status=404)
