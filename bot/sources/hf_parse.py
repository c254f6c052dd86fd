"""Parse Hugging Face ``daily_papers`` / search / paper JSON into :class:`Paper` values.

Every schema era from 2024 to 2026 is accepted: fields are absent rather than null, titles
keep arXiv line wraps, URLs may be relative or carry a newline or ``.git``, and authors may
be hidden. One malformed item is skipped and logged with its id; the rest of the batch stands.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from bot.model.ids import canonical_id
from bot.model.papers import HF_BASE, Paper, within_limits
from bot.model.text import valid_text

log = logging.getLogger(__name__)


class MalformedItem(ValueError):
    """One item of a batch cannot be turned into a paper."""


def squash(text: str) -> str:
    """Collapse every run of whitespace (arXiv wraps titles and abstracts) into one space,
    after :func:`~bot.model.text.valid_text` (a lone surrogate cannot reach the store)."""
    return " ".join(valid_text(text).split())


def parse_timestamp(value: object) -> datetime | None:
    """Parse an ISO-8601 timestamp such as ``2026-08-18T00:00:00.000Z``; ``None`` if absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedItem(f"timestamp is {type(value).__name__}, not a string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedItem(f"bad timestamp {value[:40]!r}") from None
    # A timestamp without an offset (or a bare date) is taken as UTC, like the API's own;
    # any other offset (even ``+05:00:30``, which SQLite's date functions cannot read) is
    # converted to UTC.
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise MalformedItem(f"timestamp out of range {value[:40]!r}") from None


def clean_url(value: object, *, base: str = HF_BASE) -> str | None:
    """A usable absolute http(s) URL or ``None``: whitespace removed, relative paths joined."""
    if not isinstance(value, str):
        return None
    url = "".join(valid_text(value).split())
    if "\ufffd" in url:
        return None
    if url.startswith("/"):
        url = base + url
    if not url.startswith(("https://", "http://")) or len(url) > 2000:
        return None
    return url


def clean_repo(value: object) -> str | None:
    """A GitHub repository URL without a newline, trailing slash or ``.git`` suffix."""
    url = clean_url(value)
    if url is None:
        return None
    url = url.rstrip("/")
    if url.endswith(".git"):
        url = url[:-4]
    return url


def _text(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedItem(f"{key} is {type(value).__name__}, not a string")
    return squash(value) or None


def _count(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedItem(f"{key} is {type(value).__name__}, not a number")
    if not math.isfinite(value) or abs(value) > 2**53:
        raise MalformedItem(f"{key} is {value!r}, not a count")
    return max(0, int(value))


def _authors(raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise MalformedItem("authors is not a list")
    names = []
    for author in raw:
        if not isinstance(author, Mapping) or author.get("hidden") is True:
            continue
        name = author.get("name")
        if isinstance(name, str) and squash(name):
            names.append(squash(name))
    return tuple(names)


def _keywords(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(squash(k) for k in raw if isinstance(k, str) and squash(k))


def _organization(*objs: Mapping[str, Any]) -> str | None:
    for obj in objs:
        org = obj.get("organization")
        if isinstance(org, Mapping):
            name = org.get("fullname") or org.get("name")
            if isinstance(name, str) and squash(name):
                return squash(name)
    return None


def parse_item(item: object, *, day: date | None = None) -> Paper:
    """Turn one API item (wrapped in ``paper`` or flat) into a :class:`Paper`.

    *day* is the Daily Papers day the item was listed under, used when the item itself does
    not say (``submittedOnDailyAt`` only exists since 2025-03).
    """
    if not isinstance(item, Mapping):
        raise MalformedItem("item is not an object")
    inner = item.get("paper", item)
    if not isinstance(inner, Mapping):
        raise MalformedItem("paper is not an object")
    raw_id = inner.get("id")
    pid = canonical_id(raw_id) if isinstance(raw_id, str) else None
    if pid is None:
        raise MalformedItem(f"no arXiv id (id={str(raw_id)[:40]!r})")
    try:
        return _parse_fields(pid, item, inner, day)
    except MalformedItem as exc:
        raise MalformedItem(f"{pid}: {exc}") from None


def _parse_fields(
    pid: str, item: Mapping[str, Any], inner: Mapping[str, Any], day: date | None
) -> Paper:
    title = _text(item, "title") or _text(inner, "title")
    if title is None:
        raise MalformedItem("no title")
    on_daily = parse_timestamp(inner.get("submittedOnDailyAt"))
    upvotes = _count(inner, "upvotes")
    comments = _count(item, "numComments") or _count(inner, "numComments")
    paper = Paper(
        id=pid,
        title=title,
        abstract=_text(inner, "summary") or _text(item, "summary") or "",
        authors=_authors(inner.get("authors")),
        published=parse_timestamp(inner.get("publishedAt")),
        daily_day=on_daily.date() if on_daily else day,
        upvotes=upvotes or 0,
        comments=comments or 0,
        ai_summary=_text(inner, "ai_summary"),
        ai_keywords=_keywords(inner.get("ai_keywords")),
        github_repo=clean_repo(inner.get("githubRepo")),
        github_stars=_count(inner, "githubStars"),
        project_page=clean_url(inner.get("projectPage")),
        organization=_organization(inner, item),
        thumbnail=clean_url(item.get("thumbnail")) or clean_url(item.get("mediaUrl")),
        source="hf",
    )
    return within_limits(paper)


def parse_items(items: Iterable[object], *, day: date | None = None) -> list[Paper]:
    """Parse a batch, skipping (and logging) each malformed item instead of failing the batch."""
    papers = []
    for index, item in enumerate(items):
        try:
            papers.append(parse_item(item, day=day))
        except MalformedItem as exc:
            log.warning("skipped Hugging Face item #%d: %s", index, exc)
    return papers
