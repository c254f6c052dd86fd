"""arXiv query API (``export.arxiv.org/api/query``), paced as its terms of use ask.

arXiv wants "no more than one request every three seconds" over a single connection, so
every attempt (retries included) goes through one :class:`~bot.sources.http.Pacer`. Error
feeds (HTTP 400) become :class:`SourceResponseError` with arXiv's own message; a body that is
empty or unparseable, and a first page that is empty when it should not be, are retried once
because arXiv is known to return those now and then when busy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from bot.errors import SourceResponseError
from bot.sources.arxiv_parse import ArxivFeedError, ArxivPage, parse_feed
from bot.sources.http import Fetcher, Pacer, error_detail

log = logging.getLogger(__name__)

MAX_RESULTS = 2000  # per call, per the API manual

SortBy = Literal["relevance", "lastUpdatedDate", "submittedDate"]
SortOrder = Literal["ascending", "descending"]


class ArxivSource:
    """Pages of papers from the arXiv API at *url*, at most one request per *min_interval* s.

    *pacer*, if given, replaces the one built from *min_interval* (tests pass one on their
    own clock).
    """

    def __init__(
        self, fetcher: Fetcher, url: str, min_interval: float = 3.0, *, pacer: Pacer | None = None
    ) -> None:
        self.fetcher = fetcher
        self.url = url
        self.name = fetcher.source
        self._pacer = pacer if pacer is not None else Pacer(min_interval)

    async def query(
        self,
        search_query: str = "",
        id_list: Sequence[str] = (),
        start: int = 0,
        max_results: int = 100,
        *,
        sort_by: SortBy | None = None,
        sort_order: SortOrder = "descending",
    ) -> ArxivPage:
        """One page of results for *search_query* and/or *id_list* (as the API combines them).

        An unknown but well-formed id gives an empty page; a malformed id raises
        :class:`SourceResponseError` carrying arXiv's message.
        """
        if not search_query and not id_list:
            raise ValueError("give a search_query, an id_list or both")
        if start < 0 or not 1 <= max_results <= MAX_RESULTS:
            raise ValueError(f"need start >= 0 and 1 <= max_results <= {MAX_RESULTS}")
        params: dict[str, str | int] = {"start": start, "max_results": max_results}
        if search_query:
            params["search_query"] = search_query
        if id_list:
            params["id_list"] = ",".join(id_list)
        if sort_by:
            params["sortBy"] = sort_by
            params["sortOrder"] = sort_order

        for attempt in (1, 2):
            response = await self.fetcher.get(
                self.url, params=params, accept=(400,), pacer=self._pacer
            )
            url = str(response.url)
            try:
                page = parse_feed(response.content)
            except ArxivFeedError as exc:
                if response.status_code != 200 or attempt == 2:
                    raise SourceResponseError(self.name, url, str(exc)) from None
                log.warning("%s: unusable feed from %s (%s); retrying once", self.name, url, exc)
                continue
            if response.status_code != 200:
                raise SourceResponseError(self.name, url, error_detail(response))
            if attempt == 1 and _looks_truncated(page, start, bool(id_list)):
                log.warning("%s: unexpectedly empty page from %s; retrying once", self.name, url)
                continue
            return page
        raise AssertionError("unreachable: the second attempt returns or raises")


def _looks_truncated(page: ArxivPage, start: int, by_id: bool) -> bool:
    """No entries where some were due: results promised past *start*, or a bare first page.

    An id lookup that finds nothing is a real answer (the id does not exist), so it is
    not retried; a search whose first page is empty is, once.
    """
    if page.papers:
        return False
    return page.total_results > start or (start == 0 and not by_id)
