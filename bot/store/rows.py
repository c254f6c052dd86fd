"""Conversions between :class:`Paper` values and ``papers`` rows, and the rowid scheme."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from bot.model.ids import chronological_key as rowid_for
from bot.model.papers import Paper

__all__ = ["COLUMNS", "paper_params", "row_to_paper", "rowid_for", "ts"]


def ts(value: datetime) -> str:
    """How the store writes an instant: ISO 8601 in UTC (so text order is time order)."""
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(UTC).isoformat()


COLUMNS = (
    "id, title, abstract, authors, keywords, published, daily_day, upvotes, comments, "
    "ai_summary, github_repo, github_stars, project_page, organization, thumbnail, source"
)


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
