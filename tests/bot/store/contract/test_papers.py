"""Papers on both stores: the upsert's merge rules and snapshots, the look-ups, and the
bounded candidate scans (newest first), with the same answers from SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from datetime import UTC, date, datetime, time, timedelta

from bot.grammar.query import AllOf, AnyOf, Term, Without
from bot.model.papers import Paper
from bot.search import ranking
from bot.store import Database, open_database
from bot.store.records import OrderedPage, Ordering, UpsertResult
from bot.store.rows import rowid_for

T0 = datetime(2026, 8, 19, 8, 0, tzinfo=UTC)
BASE = Paper(
    id="2608.00001",
    title="Sparse Autoencoders for Vision",
    abstract="We train sparse autoencoders on vision transformers.",
    authors=("Neel Nanda", "Ada Lovelace"),
    ai_keywords=("interpretability", "SAE"),
    daily_day=date(2026, 8, 19),
    upvotes=10,
    comments=2,
    github_stars=5,
    ai_summary="Features in ViTs, found with SAEs.",
)


def paper(number: int, **fields: object) -> Paper:
    fields.setdefault("id", f"2608.{number:05d}")
    return dataclasses.replace(BASE, **fields)  # type: ignore[arg-type]


def word(*tokens: str, column: str | None = None) -> Term:
    return Term(tokens, column)


async def rowids(db: Database, cond: object, **kw: object) -> list[int]:
    cands = await db.papers.fts_candidates(cond, limit=kw.pop("limit", 100), **kw)  # type: ignore[arg-type]
    return [c.rowid for c in cands]


async def test_upsert_counts_new_and_updated_and_is_idempotent(database: Database) -> None:
    assert await database.papers.upsert([], seen_at=T0) == UpsertResult(0, 0)
    first = await database.papers.upsert([paper(1), paper(2), paper(2)], seen_at=T0)
    assert (first.new, first.updated) == (2, 0)
    again = await database.papers.upsert([paper(1), paper(3)], seen_at=T0)
    assert (again.new, again.updated) == (1, 1)
    assert await database.papers.count() == 3
    assert await database.papers.exists()


async def test_merge_keeps_counts_growing_and_text_only_replaced_by_text(
    database: Database,
) -> None:
    await database.papers.upsert([paper(1)], seen_at=T0)
    older = paper(
        1,
        title="Sparse Autoencoders for Vision (v2)",
        abstract="",
        authors=(),
        ai_keywords=(),
        upvotes=3,
        comments=9,
        github_stars=None,
        ai_summary=None,
        daily_day=date(2026, 8, 20),
        published=datetime(2026, 8, 18, tzinfo=UTC),
        source="arxiv",
    )
    await database.papers.upsert([older], seen_at=T0 + timedelta(hours=1))
    stored = await database.papers.get(BASE.id)
    assert stored is not None
    got = stored.paper
    assert got.title == "Sparse Autoencoders for Vision (v2)"
    assert got.abstract == BASE.abstract
    assert got.authors == BASE.authors
    assert got.ai_keywords == BASE.ai_keywords
    assert got.ai_summary == BASE.ai_summary
    assert (got.upvotes, got.comments, got.github_stars) == (10, 9, 5)
    assert got.daily_day == BASE.daily_day  # the first featured day stays
    assert got.published == datetime(2026, 8, 18, tzinfo=UTC)
    assert got.source == "hf"  # a Daily Papers paper stays one
    assert stored.first_seen == T0
    await database.papers.upsert([paper(1, github_stars=50)], seen_at=T0)
    stored = await database.papers.get(BASE.id)
    assert stored is not None
    assert stored.paper.github_stars == 50


async def test_snapshots_only_go_forward_and_only_on_change(database: Database) -> None:
    await database.papers.upsert([paper(1)], seen_at=T0)
    await database.papers.upsert([paper(1)], seen_at=T0 + timedelta(hours=1))  # no change
    await database.papers.upsert([paper(1, upvotes=20)], seen_at=T0 - timedelta(hours=1))
    await database.papers.upsert([paper(1, upvotes=30)], seen_at=T0 + timedelta(hours=2))
    await database.papers.upsert([paper(2, source="arxiv")], seen_at=T0)
    stored = await database.papers.get(BASE.id)
    assert stored is not None
    assert [(s.seen_at, s.upvotes, s.stars) for s in stored.history] == [
        (T0, 10, 5),
        (T0 + timedelta(hours=2), 30, 5),
    ]
    arxiv = await database.papers.get(paper(2).id)
    assert arxiv is not None
    assert arxiv.history == ()


async def test_look_ups(database: Database) -> None:
    day2 = date(2026, 8, 20)
    await database.papers.upsert([paper(1), paper(2, upvotes=50)], seen_at=T0)
    await database.papers.upsert([paper(3, daily_day=day2)], seen_at=T0 + timedelta(days=1))
    assert await database.papers.get("2608.99999") is None
    assert await database.papers.latest_day() == day2
    assert [s.paper.id for s in await database.papers.for_day(BASE.daily_day)] == [  # type: ignore[arg-type]
        "2608.00002",
        "2608.00001",
    ]
    assert [s.paper.id for s in await database.papers.seen_since(T0)] == ["2608.00003"]
    since = await database.papers.seen_since(T0 - timedelta(seconds=1), limit=2)
    assert [s.paper.id for s in since] == ["2608.00003", "2608.00002"]
    found = await database.papers.by_id(["2608.00003", "nope", "2608.00001"])
    assert [s.paper.id for s in found] == ["2608.00003", "2608.00001"]
    one = rowid_for("2608.00001")
    assert one is not None
    by_rowid = await database.papers.by_rowid([one, 1])
    assert list(by_rowid) == [one]
    assert by_rowid[one].paper == paper(1)
    assert len(by_rowid[one].history) == 1


async def test_an_empty_store(database: Database) -> None:
    assert not await database.papers.exists()
    assert await database.papers.count() == 0
    assert await database.papers.latest_day() is None
    assert await database.papers.by_rowid([]) == {}
    assert await rowids(database, None) == []


async def test_ids_without_a_date_get_rowids_above_the_others(database: Database) -> None:
    odd = dataclasses.replace(BASE, id="acl-2024-long-17", title="Old venue paper")
    await database.papers.upsert([paper(5), odd], seen_at=T0)
    newest = await rowids(database, None, limit=1)
    by_rowid = await database.papers.by_rowid(newest)
    assert by_rowid[newest[0]].paper.id == odd.id
    assert newest[0] > (rowid_for(paper(5).id) or 0)


async def test_candidates_newest_first_bounded_and_filtered(database: Database) -> None:
    papers = [
        paper(1, title="Diffusion for video", daily_day=date(2026, 1, 5)),
        paper(2, title="Video diffusion survey", daily_day=date(2026, 3, 5)),
        paper(3, title="Language models", abstract="A survey.", daily_day=date(2026, 6, 1)),
        paper(4, title="Diffusion language models", daily_day=None, published=None),
    ]
    await database.papers.upsert(papers, seen_at=T0)
    r = [rowid_for(p.id) for p in papers]
    assert await rowids(database, None) == r[::-1]
    assert await rowids(database, word("diffusion")) == [r[3], r[1], r[0]]
    assert await rowids(database, word("diffusion"), limit=2) == [r[3], r[1]]
    assert await rowids(database, word("video", "diffusion")) == [r[1]]
    both = AllOf((word("diffusion"), word("language")))
    assert await rowids(database, both) == [r[3]]
    either = AnyOf((word("video"), word("language")))
    assert await rowids(database, either) == [r[3], r[2], r[1], r[0]]
    without = Without(word("diffusion"), word("survey"))
    assert await rowids(database, without) == [r[3], r[0]]
    since = datetime(2026, 3, 1, tzinfo=UTC)
    assert await rowids(database, word("diffusion"), since=since) == [r[3], r[1]]
    cands = await database.papers.fts_candidates(word("language"), limit=5)
    assert cands[-1].featured == datetime(2026, 6, 1, tzinfo=UTC).timestamp()
    assert cands[0].featured == T0.timestamp()  # no day, no date: first seen
    assert (cands[0].upvotes, cands[0].comments, cands[0].stars) == (10, 2, 5)


async def test_columns_phrases_and_diacritics(database: Database) -> None:
    await database.papers.upsert(
        [
            paper(1, title="Müller's GPT-4o evaluation", authors=("Jürgen Müller",)),
            paper(2, title="Nanda nets", authors=("Ada Lovelace",), abstract="Neel said so."),
        ],
        seen_at=T0,
    )
    r1, r2 = rowid_for("2608.00001"), rowid_for("2608.00002")
    assert await rowids(database, word("muller")) == [r1]
    assert await rowids(database, word("müller")) == [r1]
    assert await rowids(database, word("gpt", "4o")) == [r1]
    assert await rowids(database, word("nanda")) == [r2]
    assert await rowids(database, word("nanda", column="authors")) == []
    assert await rowids(database, word("jurgen", "muller", column="authors")) == [r1]
    # a phrase never spans two fields: the title ends "nets", the authors start "Ada"
    assert await rowids(database, word("nets", "ada")) == []
    assert await rowids(database, word("lovelace", "neel")) == []


async def test_changed_text_is_reindexed(database: Database) -> None:
    await database.papers.upsert([paper(1)], seen_at=T0)
    assert await rowids(database, word("vits")) == [rowid_for(BASE.id)]
    await database.papers.upsert([paper(1, ai_summary="Routing tokens.")], seen_at=T0)
    assert await rowids(database, word("vits")) == []
    assert await rowids(database, word("routing")) == [rowid_for(BASE.id)]


async def test_concurrent_upserts_of_the_same_papers(database_url: str) -> None:
    """Several stores (processes, for PostgreSQL) upserting overlapping batches at once:
    every paper once, counts merged, and the index's totals exact."""
    stores = [await open_database(database_url) for _ in range(3 if "://" in database_url else 1)]
    try:
        batches = [[paper(n, upvotes=n + k) for n in range(1, 40)] for k in range(6)]
        await asyncio.gather(
            *(stores[i % len(stores)].papers.upsert(b, seen_at=T0) for i, b in enumerate(batches))
        )
        db = stores[0]
        assert await db.papers.count() == 39
        stored = await db.papers.get(paper(7).id)
        assert stored is not None
        assert stored.paper.upvotes == 12
        papers, _ = await db.fulltext.size()
        assert papers == 39
        assert await db.fulltext.document_counts(["sparse"]) == {"sparse": 39}
    finally:
        for store in stores:
            await store.close()


async def test_colliding_rowids_fall_back_and_both_papers_are_kept(database: Database) -> None:
    first, second = "bw/9901001", "cj/9901001"  # old-style ids with one chronological key
    assert rowid_for(first) == rowid_for(second)
    await database.papers.upsert([paper(1), paper(2, id=first)], seen_at=T0)
    await database.papers.upsert([paper(3, id=second, title="Second")], seen_at=T0)
    await database.papers.upsert([paper(3, id=second, upvotes=99)], seen_at=T0)
    found = await database.papers.by_id([first, second])
    assert [(s.paper.id, s.paper.upvotes) for s in found] == [(first, 10), (second, 99)]
    assert await database.papers.count() == 3
    assert len(await rowids(database, word("sparse"))) == 3


async def test_ordered_pages_are_put_in_order_by_the_database(database: Database) -> None:
    now = datetime(2026, 8, 20, 8, tzinfo=UTC)
    papers = [
        paper(1, upvotes=50, comments=0, github_stars=None, daily_day=date(2026, 8, 10)),
        paper(2, upvotes=5, comments=1, github_stars=1000, daily_day=date(2026, 8, 19)),
        paper(3, upvotes=200, comments=3, github_stars=0, daily_day=date(2026, 8, 18)),
        paper(4, upvotes=5, comments=1, github_stars=1000, daily_day=date(2026, 8, 19)),
        paper(
            5,
            title="Nothing alike",
            abstract="Cooking robots.",
            ai_keywords=(),
            ai_summary=None,
            upvotes=999,
            daily_day=date(2026, 8, 19),
        ),
    ]
    await database.papers.upsert(papers, seen_at=T0)
    r = [rowid_for(p.id) for p in papers]
    trending = Ordering(
        "trending",
        now=now.timestamp(),
        comment_weight=ranking.COMMENT_WEIGHT,
        star_weight=ranking.STAR_WEIGHT,
        gravity=ranking.GRAVITY,
    )
    cond = word("sparse")

    async def page(ordering: Ordering, **kw: int) -> OrderedPage:
        kw.setdefault("offset", 0)
        kw.setdefault("limit", 10)
        return await database.papers.ordered(cond, ordering, cap=kw.pop("cap", 100), **kw)

    # The same scores as Python's ranking: 3 (200 points, 2 days), 4 and 2 (tied: newer
    # rowid first), then 1 (10 days old).
    expected = sorted(
        papers[:4],
        key=lambda p: (
            -ranking.score(
                upvotes=p.upvotes,
                comments=p.comments,
                stars=p.github_stars,
                age_days=(now - datetime.combine(p.daily_day, time(), UTC)).total_seconds()  # type: ignore[arg-type]
                / 86400,
            ),
            -rowid_for(p.id),
        ),
    )
    assert (await page(trending)).rowids == tuple(rowid_for(p.id) for p in expected)
    assert (await page(trending)).rowids[:3] == (r[2], r[3], r[1])
    assert await page(Ordering("new")) == OrderedPage((r[3], r[1], r[2], r[0]), 4)
    assert (await page(Ordering("popular", popular_at=math.log1p(100)))).rowids == (
        r[2], r[0], r[3], r[1],
    )  # fmt: skip
    assert await page(Ordering("new"), offset=1, limit=2) == OrderedPage((r[1], r[2]), 4)
    assert await page(Ordering("new"), offset=9) == OrderedPage((), 4)
    assert await page(Ordering("new"), cap=2) == OrderedPage((r[3], r[2]), 2)  # newest 2 rowids
    everything = await database.papers.ordered(
        None, Ordering("popular", popular_at=1.0), cap=100, offset=0, limit=1
    )
    assert everything == OrderedPage((r[4],), 5)


async def test_papers_tied_in_trending_score_go_newest_first(database: Database) -> None:
    # 3 + 1.5·log2(10) and 1.5·log2(40) are equal, and Python's ranking.score gives both the
    # same bits: the database must compute the same bits too, or a last-bit difference
    # breaks the tie instead of the rowid (it did, with SQLite's own log2).
    now, day = datetime(2026, 8, 20, 8, tzinfo=UTC), date(2026, 8, 19)
    tied = [
        paper(1, upvotes=3, comments=0, github_stars=9, daily_day=day),
        paper(2, upvotes=0, comments=0, github_stars=39, daily_day=day),
    ]
    await database.papers.upsert(tied, seen_at=T0)
    age = (now - datetime.combine(day, time(), UTC)).total_seconds() / 86400
    scores = {
        ranking.score(upvotes=p.upvotes, comments=p.comments, stars=p.github_stars, age_days=age)
        for p in tied
    }
    assert len(scores) == 1
    trending = Ordering(
        "trending",
        now=now.timestamp(),
        comment_weight=ranking.COMMENT_WEIGHT,
        star_weight=ranking.STAR_WEIGHT,
        gravity=ranking.GRAVITY,
    )
    found = await database.papers.ordered(word("sparse"), trending, cap=10, offset=0, limit=10)
    assert found.rowids == (rowid_for("2608.00002"), rowid_for("2608.00001"))
