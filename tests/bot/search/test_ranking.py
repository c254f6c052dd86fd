"""The trending score: pure arithmetic on a paper, its history and an injected ``now``."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.model.papers import Paper, Snapshot, StoredPaper
from bot.search import ranking

NOW = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)
TODAY = NOW.date()


def stored(
    paper_id: str = "2608.00001",
    *,
    upvotes: int = 10,
    comments: int = 0,
    stars: int | None = None,
    day: date | None = TODAY,
    published: datetime | None = None,
    first_seen: datetime = NOW - timedelta(hours=6),
    history: tuple[Snapshot, ...] = (),
) -> StoredPaper:
    paper = Paper(
        id=paper_id,
        title=f"Paper {paper_id}",
        upvotes=upvotes,
        comments=comments,
        github_stars=stars,
        daily_day=day,
        published=published,
    )
    return StoredPaper(paper=paper, first_seen=first_seen, history=history)


def snaps(*points: tuple[float, int]) -> tuple[Snapshot, ...]:
    """Snapshots at (hours before NOW, upvotes)."""
    return tuple(Snapshot(NOW - timedelta(hours=h), votes) for h, votes in points)


def test_score_formula() -> None:
    assert ranking.score(upvotes=10, comments=0, stars=None, age_days=0) == 10.0
    assert ranking.score(upvotes=10, comments=3, stars=0, age_days=0) == 16.0
    assert ranking.score(upvotes=0, comments=0, stars=7, age_days=0) == pytest.approx(
        ranking.STAR_WEIGHT * 3
    )
    assert ranking.score(upvotes=10, comments=0, stars=None, age_days=1) == pytest.approx(
        10 / 2**ranking.GRAVITY
    )
    assert ranking.score(upvotes=10, comments=0, stars=None, age_days=0, speed=5) == 15.0


def test_future_age_counts_as_zero() -> None:
    assert ranking.score(upvotes=10, comments=0, stars=None, age_days=-3) == 10.0


def test_stars_are_log_damped() -> None:
    famous = ranking.score(upvotes=0, comments=0, stars=50_000, age_days=0)
    assert famous < 30  # tens of thousands of stars do not outweigh a few dozen upvotes
    assert famous > ranking.score(upvotes=0, comments=0, stars=100, age_days=0)


def test_trend_is_pure_given_now() -> None:
    paper = stored(upvotes=38, comments=2, stars=10, history=snaps((30, 1), (2, 30)))
    first = ranking.trend(paper, NOW)
    assert ranking.trend(paper, NOW) == first
    later = ranking.trend(paper, NOW + timedelta(days=3))
    assert later.score < first.score
    assert later.why != first.why


def test_newer_beats_older_at_equal_votes() -> None:
    today = stored("2608.00001", upvotes=20, day=TODAY)
    yesterday = stored("2608.00002", upvotes=20, day=TODAY - timedelta(days=1))
    assert ranking.trend(today, NOW).score > ranking.trend(yesterday, NOW).score
    assert [sp.paper.id for sp, _ in ranking.rank([yesterday, today], NOW)] == [
        "2608.00001",
        "2608.00002",
    ]


def test_age_decays_smoothly() -> None:
    scores = [
        ranking.trend(stored(upvotes=50, day=TODAY - timedelta(days=d)), NOW).score
        for d in range(10)
    ]
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) == len(scores)


def test_featured_at_prefers_daily_day_then_published_then_first_seen() -> None:
    published = datetime(2026, 8, 10, 12, tzinfo=UTC)
    first_seen = datetime(2026, 8, 18, 9, tzinfo=UTC)
    midnight = datetime(2026, 8, 19, tzinfo=UTC)
    both = stored(day=TODAY, published=published, first_seen=first_seen)
    assert ranking.featured_at(both) == midnight
    assert ranking.featured_at(stored(day=None, published=published)) == published
    only_seen = stored(day=None, published=None, first_seen=first_seen)
    assert ranking.featured_at(only_seen) == first_seen


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ((), 0.0),
        (snaps((5, 10)), 0.0),  # one snapshot: no velocity
        (snaps((24, 10), (0, 30)), 20.0),  # +20 over one day
        (snaps((12, 10), (0, 20)), 20.0),  # +10 over half a day
        (snaps((48, 0), (24, 10), (0, 30)), 20.0),  # the last day only
        (snaps((72, 0), (30, 12), (6, 20), (0, 36)), 24 / (30 / 24)),
        (snaps((2, 10), (0, 12)), 8.0),  # short spans count as at least 6 hours
        (snaps((24, 30), (0, 20)), 0.0),  # never negative
        (snaps((0, 10), (0, 30)), 0.0),  # no time between them
    ],
)
def test_velocity_from_history(history: tuple[Snapshot, ...], expected: float) -> None:
    assert ranking.velocity(history) == pytest.approx(expected)


def test_gaining_paper_outranks_a_settled_larger_total() -> None:
    settled = stored("2608.00001", upvotes=30, history=snaps((24, 30), (0, 30)))
    rising = stored("2608.00002", upvotes=25, history=snaps((24, 5), (0, 25)))
    ranked = ranking.rank([settled, rising], NOW)
    assert [sp.paper.id for sp, _ in ranked] == ["2608.00002", "2608.00001"]
    assert ranked[0][1].velocity == pytest.approx(20.0)
    assert ranked[1][1].velocity == 0.0


def test_why_line() -> None:
    paper = stored(upvotes=38, comments=2, stars=10)
    assert ranking.trend(paper, NOW).why == "▲ 38 · 2 comments · ★ 10 · new today"


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"upvotes": 0}, "▲ 0 · new today"),
        ({"upvotes": 5, "comments": 1}, "▲ 5 · 1 comment · new today"),
        ({"upvotes": 5, "stars": 12_345}, "▲ 5 · ★ 12,345 · new today"),
        ({"upvotes": 5, "stars": 0}, "▲ 5 · new today"),
        ({"upvotes": 5, "day": date(2026, 8, 18)}, "▲ 5 · yesterday"),
        ({"upvotes": 5, "day": date(2026, 8, 16)}, "▲ 5 · 3 days ago"),
        ({"upvotes": 5, "day": date(2026, 7, 1)}, "▲ 5 · featured 2026-07-01"),
        (
            {"upvotes": 30, "history": snaps((24, 18), (0, 30))},
            "▲ 30 · +12 today · new today",
        ),
        ({"upvotes": 30, "history": snaps((48, 29), (0, 30))}, "▲ 30 · new today"),  # +0.5/day
    ],
)
def test_why_line_variants(kwargs: dict[str, Any], why: str) -> None:
    assert ranking.trend(stored(**kwargs), NOW).why == why


def test_why_line_uses_utc_days_for_any_now_timezone() -> None:
    # 00:30 on the 20th in UTC+2 is still the 19th in UTC: the paper is new today.
    local_now = datetime(2026, 8, 20, 0, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert ranking.trend(stored(upvotes=1), local_now).why == "▲ 1 · new today"


def test_rank_orders_best_first_with_reasons() -> None:
    papers = [
        stored("2608.00001", upvotes=5),
        stored("2608.00002", upvotes=50),
        stored("2608.00003", upvotes=20, comments=10),
        stored("2608.00004", upvotes=80, day=TODAY - timedelta(days=5)),
    ]
    ranked = ranking.rank(papers, NOW)
    assert [sp.paper.id for sp, _ in ranked] == [
        "2608.00002",
        "2608.00003",
        "2608.00004",
        "2608.00001",
    ]
    assert [t.score for _, t in ranked] == sorted((t.score for _, t in ranked), reverse=True)
    assert all(t.why.startswith(f"▲ {sp.paper.upvotes}") for sp, t in ranked)
    assert papers[0].paper.id == "2608.00001"  # the input list is left alone


def test_equal_scores_break_on_upvotes_then_newer_id() -> None:
    # 10 upvotes and 8 upvotes + 1 comment both make 10 points.
    more_votes = stored("2608.00001", upvotes=10)
    fewer_votes = stored("2608.00009", upvotes=8, comments=1)
    twin_old = stored("2608.00002", upvotes=10)
    twin_new = stored("2608.00003", upvotes=10)
    ranked = ranking.rank([fewer_votes, more_votes, twin_old, twin_new], NOW)
    assert [sp.paper.id for sp, _ in ranked] == [
        "2608.00003",
        "2608.00002",
        "2608.00001",
        "2608.00009",
    ]
    assert len({t.score for _, t in ranked}) == 1


def test_newer_id_across_the_four_and_five_digit_eras() -> None:
    old = stored("1412.9999", upvotes=10)
    new = stored("1501.00001", upvotes=10)
    assert [sp.paper.id for sp, _ in ranking.rank([old, new], NOW)] == ["1501.00001", "1412.9999"]


def test_tie_break_treats_old_style_ids_as_older() -> None:
    old_style = stored("hep-th/9901001", upvotes=10)
    new_style = stored("0704.0001", upvotes=10)
    ranked = ranking.rank([old_style, new_style], NOW)
    assert [sp.paper.id for sp, _ in ranked] == ["0704.0001", "hep-th/9901001"]


def test_rank_of_nothing_is_empty() -> None:
    assert ranking.rank([], NOW) == []


def test_score_is_finite_for_extreme_inputs() -> None:
    huge = ranking.score(upvotes=10**9, comments=10**9, stars=10**12, age_days=10**6)
    assert math.isfinite(huge)
    assert huge > 0
