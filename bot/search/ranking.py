"""The trending score: pure, explainable, with ``now`` passed in.

    points   = upvotes + 2·comments + 1.5·log2(1 + GitHub stars) + velocity
    velocity = upvotes gained per day, from the paper's snapshot history (0 with one snapshot)
    age      = days since the paper was featured on Daily Papers (else published, else first seen)
    score    = points / (1 + age) ** 1.2

Upvotes are the community's verdict; comments and stars are weaker signals (stars are
log-damped because a famous repository can carry tens of thousands). Velocity lets a paper
that is gaining fast today outrank yesterday's paper with a larger but settled total. The
age decay (gravity 1.2, like Hacker News' 1.8 but gentler, because papers live longer than
links) keeps a day's digest about that day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.model.ids import chronological_key
from bot.model.papers import Paper, Snapshot, StoredPaper

GRAVITY = 1.2
COMMENT_WEIGHT = 2.0
STAR_WEIGHT = 1.5


@dataclass(frozen=True, slots=True)
class Trend:
    """A paper's trending score and the one-line reason shown on its card."""

    score: float
    velocity: float
    why: str


def featured_at(stored: StoredPaper) -> datetime:
    """When the paper appeared: its Daily Papers day, else publication, else first sight."""
    paper = stored.paper
    if paper.daily_day is not None:
        return datetime.combine(paper.daily_day, time(), UTC)
    if paper.published is not None:
        return paper.published
    return stored.first_seen


def velocity(history: tuple[Snapshot, ...]) -> float:
    """Upvotes per day over (about) the last day of snapshots; 0 when there is no history."""
    if len(history) < 2:
        return 0.0
    latest = history[-1]
    cutoff = latest.seen_at - timedelta(days=1)
    base = history[0]
    for snap in history:
        if snap.seen_at <= cutoff:
            base = snap
    days = (latest.seen_at - base.seen_at).total_seconds() / 86400
    if days <= 0:
        return 0.0
    return max(0.0, (latest.upvotes - base.upvotes) / max(days, 0.25))


def _age_phrase(day: date, today: date) -> str:
    delta = (today - day).days
    if delta <= 0:
        return "new today"
    if delta == 1:
        return "yesterday"
    if delta < 14:
        return f"{delta} days ago"
    return f"featured {day.isoformat()}"


def explain(paper: Paper, speed: float, featured: datetime, now: datetime) -> str:
    """``▲ 38 · 2 comments · ★ 10 · +12 today · new today``: the facts behind the score."""
    parts = [f"▲ {paper.upvotes}"]
    if paper.comments:
        parts.append(f"{paper.comments} comment{'s' if paper.comments != 1 else ''}")
    if paper.github_stars:
        parts.append(f"★ {paper.github_stars:,}")
    if speed >= 1:
        parts.append(f"+{round(speed)} today")
    parts.append(_age_phrase(featured.astimezone(UTC).date(), now.astimezone(UTC).date()))
    return " · ".join(parts)


_LN2 = math.log(2)


def score(
    *, upvotes: int, comments: int, stars: int | None, age_days: float, speed: float = 0.0
) -> float:
    """The trending score from raw numbers (see the module docstring)."""
    # log2 as ln(x) / ln(2): the databases order sort:trending with these same libm calls
    # (SQLite's own log2 differs from math.log2 in the last bit, which reorders ties).
    points = upvotes + COMMENT_WEIGHT * comments + STAR_WEIGHT * (math.log(1 + (stars or 0)) / _LN2)
    return float((points + speed) / (1 + max(0.0, age_days)) ** GRAVITY)


def trend(stored: StoredPaper, now: datetime) -> Trend:
    """Score *stored* as of *now* (timezone-aware), with the reason for its card."""
    paper = stored.paper
    speed = velocity(stored.history)
    featured = featured_at(stored)
    value = score(
        upvotes=paper.upvotes,
        comments=paper.comments,
        stars=paper.github_stars,
        age_days=(now - featured).total_seconds() / 86400,
        speed=speed,
    )
    return Trend(score=value, velocity=speed, why=explain(paper, speed, featured, now))


def rank(papers: list[StoredPaper], now: datetime) -> list[tuple[StoredPaper, Trend]]:
    """Papers with their trends, best first (ties: more upvotes, then newer id)."""
    scored = [(sp, trend(sp, now)) for sp in papers]
    scored.sort(key=lambda st: chronological_key(st[0].paper.id) or 0, reverse=True)
    scored.sort(key=lambda st: (-st[1].score, -st[0].paper.upvotes))
    return scored
