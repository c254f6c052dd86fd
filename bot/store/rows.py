"""Conversions between :class:`Paper` values and ``papers`` rows, and the rowid scheme."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Protocol

from bot.model.ids import chronological_key as rowid_for
from bot.model.papers import Paper


class Row(Protocol):
    """A database row read by column name (:class:`sqlite3.Row`, :class:`asyncpg.Record`)."""

    def __getitem__(self, key: str, /) -> Any: ...


__all__ = ["COLUMNS", "Row", "paper_params", "row_to_paper", "rowid_for", "ts"]


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


def row_to_paper(row: Row) -> Paper:
    """Inverse of :func:`paper_params` for a row that selected ``COLUMNS``."""
    return Paper(
        id=row["id"],
        title=row["title"],
        abstract=row["abstract"],
        authors=_lines(row["authors"]),
        ai_keywords=_lines(row["keywords"]),
        published=datetime.fromisoformat(row["published"]) if row["published"] else None,
        daily_day=date.fromisoformat(row["daily_day"]) if row["daily_day"] else None,
        upvotes=row["upvotes"],
        comments=row["comments"],
        ai_summary=row["ai_summary"],
        github_repo=row["github_repo"],
        github_stars=row["github_stars"],
        project_page=row["project_page"],
        organization=row["organization"],
        thumbnail=row["thumbnail"],
        source=row["source"],
    )
