"""Neutral values that cross every boundary: papers and their popularity snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field
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
