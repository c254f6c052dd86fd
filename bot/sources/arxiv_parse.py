"""Parse arXiv API Atom feeds by namespace.

The API reports errors as a feed with one entry titled ``Error`` (HTTP 400 for a bad id);
that becomes :class:`ArxivFeedError`, never an empty result. An entry that cannot be
turned into a paper is skipped and logged with its id.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from bot.model.ids import canonical_id
from bot.model.papers import Paper, within_limits
from bot.sources.hf_parse import MalformedItem, parse_timestamp, squash

log = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"


class ArxivFeedError(ValueError):
    """The feed is arXiv's error document, or not an Atom feed at all."""


@dataclass(frozen=True, slots=True)
class ArxivPage:
    """One page of arXiv results."""

    papers: tuple[Paper, ...]
    total_results: int
    start_index: int


def _child_text(elem: ET.Element, tag: str) -> str:
    child = elem.find(tag)
    return squash(child.text or "") if child is not None else ""


def _entry_to_paper(entry: ET.Element) -> Paper:
    raw_id = _child_text(entry, f"{ATOM}id")
    pid = canonical_id(raw_id)
    if pid is None:
        raise MalformedItem(f"no arXiv id in {raw_id[:60]!r}")
    title = _child_text(entry, f"{ATOM}title")
    if not title:
        raise MalformedItem(f"{pid}: no title")
    authors = tuple(
        name
        for author in entry.findall(f"{ATOM}author")
        if (name := _child_text(author, f"{ATOM}name"))
    )
    try:
        published = parse_timestamp(_child_text(entry, f"{ATOM}published") or None)
    except MalformedItem as exc:
        raise MalformedItem(f"{pid}: {exc}") from None
    paper = Paper(
        id=pid,
        title=title,
        abstract=_child_text(entry, f"{ATOM}summary"),
        authors=authors,
        published=published,
        source="arxiv",
    )
    return within_limits(paper)


def parse_feed(xml_text: str | bytes) -> ArxivPage:
    """Parse one Atom response. Raises :class:`ArxivFeedError` for error feeds and non-feeds."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise ArxivFeedError(f"not valid XML: {exc}") from None
    if root.tag != f"{ATOM}feed":
        raise ArxivFeedError(f"not an Atom feed (root element {root.tag!r})")
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        if _child_text(entry, f"{ATOM}title") == "Error" and "/api/errors" in _child_text(
            entry, f"{ATOM}id"
        ):
            message = _child_text(entry, f"{ATOM}summary") or "unknown error"
            raise ArxivFeedError(f"arXiv reported an error: {message}")
    papers = []
    for entry in entries:
        try:
            papers.append(_entry_to_paper(entry))
        except MalformedItem as exc:
            log.warning("skipped arXiv entry: %s", exc)

    def _int(tag: str) -> int:
        text = _child_text(root, f"{OPENSEARCH}{tag}")
        return int(text) if text.isascii() and text.isdigit() else 0

    return ArxivPage(tuple(papers), _int("totalResults"), _int("startIndex"))
