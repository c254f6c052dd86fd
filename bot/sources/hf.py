"""Hugging Face papers API: the Daily Papers feed, keyword search and one paper.

Reads are public; a token only raises the rate-limit tier, so it is sent when set and never
logged. Item parsing lives in :mod:`bot.sources.hf_parse`; this module only fetches.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import httpx

from bot.errors import NotFound, SourceResponseError
from bot.model.ids import require_id
from bot.model.papers import Paper
from bot.sources.hf_parse import MalformedItem, parse_item, parse_items
from bot.sources.http import Fetcher, Params

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # the API's maximum ``limit`` for daily_papers
MAX_PAGES = 20  # a day has had at most ~50 papers; 2,000 means something is looping
QUERY_MAX = 250
SEARCH_MAX = 120


class HuggingFaceSource:
    """Papers from ``{base_url}/api/...`` through *fetcher*."""

    def __init__(self, fetcher: Fetcher, base_url: str, token: str | None = None) -> None:
        self.fetcher = fetcher
        self.name = fetcher.source
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def daily(self, day: date) -> list[Paper]:
        """Every paper listed on Daily Papers for *day*, most upvoted first, across pages."""
        url = f"{self.base_url}/api/daily_papers"
        items: list[object] = []
        for page in range(MAX_PAGES):
            params: dict[str, str | int] = {"date": day.isoformat(), "limit": PAGE_SIZE}
            if page:
                params["p"] = page
            batch = await self._get_list(url, params)
            items.extend(batch)
            if len(batch) < PAGE_SIZE:
                break
        else:
            log.warning("daily papers for %s: stopped after %d pages", day, MAX_PAGES)
        return _unique(parse_items(items, day=day))

    async def search(self, query: str, limit: int = 50) -> list[Paper]:
        """Papers matching *query* (title, authors, content) across all indexed papers."""
        q = query.strip()[:QUERY_MAX]
        if not q:
            return []
        params: Params = {"q": q, "limit": max(1, min(SEARCH_MAX, limit))}
        items = await self._get_list(f"{self.base_url}/api/papers/search", params)
        return _unique(parse_items(items))

    async def paper(self, paper_id: str) -> Paper:
        """One paper by arXiv id or URL; :class:`NotFound` if Hugging Face has not indexed it."""
        pid = require_id(paper_id)
        url = f"{self.base_url}/api/papers/{pid}"
        response = await self.fetcher.get(url, headers=self._headers, accept=(404,))
        if response.status_code == 404:
            raise NotFound(
                f"Hugging Face has no page for paper {pid} (is it on arXiv? "
                f"visiting https://huggingface.co/papers/{pid} indexes it)"
            )
        body = self._json(response)
        try:
            return parse_item(body)
        except MalformedItem as exc:
            raise SourceResponseError(self.name, url, f"unusable paper: {exc}") from None

    async def _get_list(self, url: str, params: Params) -> list[object]:
        response = await self.fetcher.get(url, params=params, headers=self._headers)
        body = self._json(response)
        if not isinstance(body, list):
            kind = type(body).__name__
            raise SourceResponseError(self.name, str(response.url), f"expected a list, got {kind}")
        return body

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
            snippet = " ".join(response.text.split())[:80]
            detail = f"body is not JSON: {snippet!r}"
            raise SourceResponseError(self.name, str(response.url), detail) from None


def _unique(papers: list[Paper]) -> list[Paper]:
    """Drop repeats (pages shift when upvotes change between requests); first one wins."""
    seen: set[str] = set()
    out = []
    for paper in papers:
        if paper.id not in seen:
            seen.add(paper.id)
            out.append(paper)
    return out
