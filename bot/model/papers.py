"""Neutral values that cross every boundary: papers and their popularity snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

HF_BASE = "https://huggingface.co"
ARXIV_BASE = "https://arxiv.org"


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper under its canonical id (see :mod:`bot.model.ids`).

    Only ``id`` and ``title`` are always known; the sources omit absent fields and changed
    their schema every few months, so everything else is optional.
    """

    id: str
    title: str
    abstract: str = ""
    authors: tuple[str, ...] = ()
    published: datetime | None = None
    daily_day: date | None = None
    upvotes: int = 0
    comments: int = 0
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    organization: str | None = None
    thumbnail: str | None = None
    source: str = "hf"

    @property
    def hf_url(self) -> str:
        return f"{HF_BASE}/papers/{self.id}"

    @property
    def arxiv_url(self) -> str:
        return f"{ARXIV_BASE}/abs/{self.id}"

    @property
    def pdf_url(self) -> str:
        return f"{ARXIV_BASE}/pdf/{self.id}"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Popularity of a paper at one moment, kept as history so trending can mean velocity."""

    seen_at: datetime
    upvotes: int
    comments: int = 0
    stars: int | None = None


@dataclass(frozen=True, slots=True)
class StoredPaper:
    """A paper as the store returns it: the paper plus what the store knows about it."""

    paper: Paper
    first_seen: datetime
    history: tuple[Snapshot, ...] = field(default=())


# What a paper may hold, at most (a source's item is cut to these at ingest; the longest
# real values in the recorded archive are a fraction of each). A 50 MB abstract would
# otherwise be stored, indexed and rendered into thousands of messages.
MAX_TITLE = 500
MAX_ABSTRACT = 8_000
MAX_AUTHORS = 1_000
MAX_NAME = 200  # one author, keyword or organization
MAX_SUMMARY = 4_000
MAX_KEYWORDS = 50
MAX_POPULARITY = 10**9  # upvotes, comments, stars


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def within_limits(paper: Paper) -> Paper:
    """*paper* with every field cut to the limits above (unchanged when within them)."""
    summary = paper.ai_summary
    organization = paper.organization
    stars = paper.github_stars
    return replace(
        paper,
        title=_cut(paper.title, MAX_TITLE),
        abstract=_cut(paper.abstract, MAX_ABSTRACT),
        authors=tuple(_cut(a, MAX_NAME) for a in paper.authors[:MAX_AUTHORS]),
        ai_summary=_cut(summary, MAX_SUMMARY) if summary is not None else None,
        ai_keywords=tuple(_cut(k, MAX_NAME) for k in paper.ai_keywords[:MAX_KEYWORDS]),
        organization=_cut(organization, MAX_NAME) if organization is not None else None,
        upvotes=min(paper.upvotes, MAX_POPULARITY),
        comments=min(paper.comments, MAX_POPULARITY),
        github_stars=None if stars is None else min(stars, MAX_POPULARITY),
    )
