"""Several processes on one PostgreSQL database split the delivery fan-out: each claimer is a
:class:`PgStore` with a pool of its own (as a separate process has), all claiming the same
due rows at once. Every claim must be of rows nobody else holds, every row sent once, and
the work shared."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import asyncpg

from bot.model.delivery import Delivery, DeliveryKey
from bot.store.pg.db import PgStore

T0 = datetime(2026, 8, 19, 7, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)
TARGETS, ROWS, CLAIMERS, LIMIT = 300, 2, 4, 5
log = logging.getLogger(__name__)


@dataclass
class Floor:
    """What the claimers did, shared between them (one event loop, so no locks needed)."""

    holding: dict[int, int] = field(default_factory=dict)  # target → claimer
    claims: Counter[tuple[int, int]] = field(default_factory=Counter)  # (row, attempt)
    by_claimer: Counter[int] = field(default_factory=Counter)
    lost_marks: int = 0
    overlaps: list[tuple[int, int, int]] = field(default_factory=list)


async def plan(store: PgStore) -> None:
    targets = [
        await store.targets.ensure("slack", "T1", "channel", f"C{n}") for n in range(TARGETS)
    ]
    await store.ledger.plan_many(
        [
            (t.id, DeliveryKey.dm(n, date(2026, 8, 19)), T0 - timedelta(seconds=n), False)
            for t in targets
            for n in range(ROWS)
        ],
        missed_reason="",
    )


async def work(me: int, store: PgStore, floor: Floor, rows: list[Delivery]) -> None:
    """Send one target's claimed rows; a third of first attempts fail and retry at once,
    so targets are claimed again, perhaps by another claimer."""
    target = rows[0].target_id
    for n, row in enumerate(rows):
        if n == len(rows) - 1:
            floor.holding.pop(target)  # before the last mark: the lease is live until then
        if row.attempts == 1 and row.id % 3 == 0:
            won = await store.ledger.mark_failed(row, now=T0, error="busy", retry_at=T0)
        else:
            won = await store.ledger.mark_sent(row, now=T0, message_id=f"{me}:{row.id}")
        floor.lost_marks += not won


async def claimer(me: int, store: PgStore, floor: Floor) -> None:
    while rows := await store.ledger.claim_due(
        now=T0, lease=LEASE, limit=LIMIT, platforms=["slack"]
    ):
        by_target: dict[int, list[Delivery]] = {}
        for row in rows:
            floor.claims[row.id, row.attempts] += 1
            by_target.setdefault(row.target_id, []).append(row)
        for target in by_target:
            if target in floor.holding:
                floor.overlaps.append((target, floor.holding[target], me))
            floor.holding[target] = me
        floor.by_claimer[me] += len(rows)
        await asyncio.gather(*(work(me, store, floor, mine) for mine in by_target.values()))


async def test_processes_split_the_due_rows_and_claim_each_once(pg_dsn: str) -> None:
    stores = [await PgStore.open(pg_dsn, pool_size=3) for _ in range(CLAIMERS)]
    try:
        await plan(stores[0])
        floor = Floor()
        started = time.perf_counter()
        await asyncio.gather(*(claimer(n, store, floor) for n, store in enumerate(stores)))
        took = time.perf_counter() - started
        ledger = stores[0].ledger
        assert await ledger.claim_due(now=T0, lease=LEASE, limit=1000, platforms=["slack"]) == []
        rows = await stores[0]._pool.fetch("SELECT id, state, attempts FROM deliveries")
    finally:
        for store in stores:
            await store.close()

    assert floor.overlaps == []  # no target was ever held by two claimers at once
    assert floor.lost_marks == 0  # no lease was retaken under a live sender
    assert len(rows) == TARGETS * ROWS
    assert {row["state"] for row in rows} == {"sent"}
    for row in rows:
        expected = 2 if row["id"] % 3 == 0 else 1
        assert row["attempts"] == expected
        for attempt in range(1, expected + 1):
            assert floor.claims[row["id"], attempt] == 1  # each attempt claimed exactly once
    assert sum(floor.claims.values()) == sum(row["attempts"] for row in rows)
    # Shared, not raced to by one: every claimer did at least a quarter of its fair share
    # (a claimer that takes a stale snapshot for "nothing due" drops out early and fails this).
    fair = sum(floor.claims.values()) / CLAIMERS
    assert all(floor.by_claimer[n] >= fair / 4 for n in range(CLAIMERS)), floor.by_claimer
    log.warning(
        "%d claims of %d rows by %d claimers in %.2f s; split %s",
        sum(floor.claims.values()),
        len(rows),
        CLAIMERS,
        took,
        dict(sorted(floor.by_claimer.items())),
    )


async def test_targets_locked_by_others_are_passed_over_however_many(pg_dsn: str) -> None:
    """A claimer reads the earliest candidate rows; when every one of them belongs to a target
    another claimer has locked, it reads further instead of reporting nothing due."""
    store = await PgStore.open(pg_dsn, pool_size=2)
    other = await asyncpg.connect(pg_dsn)  # another process, in the middle of its claim
    try:
        targets = [await store.targets.ensure("slack", "T1", "channel", f"C{n}") for n in range(60)]
        await store.ledger.plan_many(
            [(t.id, DeliveryKey.dm(1, date(2026, 8, 19)), T0 - timedelta(seconds=n), False)
             for n, t in enumerate(reversed(targets))],
            missed_reason="",
        )  # fmt: skip
        first_due = [t.id for t in reversed(targets)][-50:]  # 50 targets, 50 rows: > 8 x 2
        async with other.transaction():
            await other.execute(
                "SELECT 1 FROM targets WHERE id = ANY($1::bigint[]) FOR UPDATE", first_due
            )
            claimed = await store.ledger.claim_due(
                now=T0, lease=LEASE, limit=2, platforms=["slack"]
            )
        assert len(claimed) == 2
        assert not {row.target_id for row in claimed} & set(first_due)
    finally:
        await other.close()
        await store.close()
