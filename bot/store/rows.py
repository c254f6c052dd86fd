"""Conversions between :class:`Paper` values and ``papers`` rows, and the rowid scheme."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.models import Paper

_NEW = re.compile(r"(\d{2})(\d{2})\.(\d{4,5})")
_OLD = re.compile(r"([a-z\-]+(?:\.[a-z]{2})?)/(\d{2})(\d{2})(\d{3})")

COLUMNS = (
    "id, title, abstract, authors, keywords, published, daily_day, upvotes, comments, "
    "ai_summary, github_repo, github_stars, project_page, organization, thumbnail, source"
)


def rowid_for(paper_id: str) -> int | None:
    """A rowid that grows with the paper's arXiv submission month and number.

    New-style ids (``2608.17271``) give ``2608_17271``-like integers above every old-style
    id (``hep-th/9901001``, 1991-2007), which are spread over months and archives. ``None``
    for anything else, letting SQLite choose.
    """
    if m := _NEW.fullmatch(paper_id):
        yy, mm, num = (int(g) for g in m.groups())
        return (yy * 100 + mm) * 100_000 + num
    if m := _OLD.fullmatch(paper_id):
        archive, yy_s, mm_s, num_s = m.groups()
        year = 1900 + int(yy_s) if int(yy_s) >= 91 else 2000 + int(yy_s)
        month_index = (year - 1991) * 12 + int(mm_s) - 1
        bucket = zlib.crc32(archive.encode()) % 300
        return month_index * 300_000 + bucket * 1000 + int(num_s)
    return None


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def paper_params(paper: Paper) -> tuple[Any, ...]:
    """Values for the ``COLUMNS`` of one paper, in order."""
    return (
        paper.id,
        paper.title,
        paper.abstract,
        "\n".join(paper.authors),
        "\n".join(paper.ai_keywords),
        _iso(paper.published),
        _iso(paper.daily_day),
        paper.upvotes,
        paper.comments,
        paper.ai_summary,
        paper.github_repo,
        paper.github_stars,
        paper.project_page,
        paper.organization,
        paper.thumbnail,
        paper.source,
    )


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line for line in text.split("\n") if line)


def row_to_paper(row: Sequence[Any]) -> Paper:
    """Inverse of :func:`paper_params` for a row selected as ``COLUMNS``."""
    return Paper(
        id=row[0],
        title=row[1],
        abstract=row[2],
        authors=_lines(row[3]),
        ai_keywords=_lines(row[4]),
        published=datetime.fromisoformat(row[5]) if row[5] else None,
        daily_day=date.fromisoformat(row[6]) if row[6] else None,
        upvotes=row[7],
        comments=row[8],
        ai_summary=row[9],
        github_repo=row[10],
        github_stars=row[11],
        project_page=row[12],
        organization=row[13],
        thumbnail=row[14],
        source=row[15],
    )
