"""The delivery ledger on both stores: plan once, claim under a lease with a fencing token,
mark, back off, give up, prune; a paper at most once per target; and ``claim_due``, which
splits the due rows of whole targets between senders."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from bot.model.delivery import Content, Delivery, DeliveryKey, Target
from bot.store import Database

T0 = datetime(2026, 8, 19, 7, 0, tzinfo=UTC)
WED = T0.date()
LEASE = timedelta(minutes=10)
MIN = timedelta(minutes=1)


async def channel(database: Database, name: str, platform: str = "slack") -> Target:
    return await database.targets.ensure(platform, "T1", "channel", name)


async def claim_due(
    database: Database,
    now: datetime = T0,
    *,
    limit: int = 100,
    platforms: tuple[str, ...] = ("slack", "discord"),
) -> list[Delivery]:
    return await database.ledger.claim_due(now=now, lease=LEASE, limit=limit, platforms=platforms)


async def test_plan_never_duplicates(database: Database) -> None:
    target = await channel(database, "C1")
    a = await database.ledger.plan(target.id, DeliveryKey.digest(WED), due_at=T0)
    b = await database.ledger.plan(target.id, DeliveryKey.digest(WED), due_at=T0 + MIN)
    assert a == b
    assert (a.key, a.state, a.due_at, a.attempts) == (DeliveryKey.digest(WED), "pending", T0, 0)
    assert await database.ledger.has_delivery(target.id, DeliveryKey.digest(WED))
    assert not await database.ledger.has_delivery(target.id, DeliveryKey.dm(1, WED))


async def test_plan_many_records_missed_rows_and_is_idempotent(database: Database) -> None:
    ledger = database.ledger
    target = await channel(database, "C1")
    old = date(2026, 8, 17)
    rows = [
        (target.id, DeliveryKey.digest(WED), T0, False),
        (target.id, DeliveryKey.digest(old), T0 - 2 * timedelta(days=1), True),
    ]
    await ledger.plan_many(rows, missed_reason="the bot was down")
    await ledger.plan_many(rows, missed_reason="again")
    await ledger.plan_many([], missed_reason="nothing")
    [due] = await ledger.open_deliveries(now=T0)
    assert due.key == DeliveryKey.digest(WED)
    [recent, missed] = await ledger.recent([target.id], since=T0 - timedelta(days=3))
    assert (recent.id, missed.state, missed.last_error) == (due.id, "missed", "the bot was down")
    assert await ledger.recent([], since=T0) == []
    assert await ledger.recent([target.id], since=T0 + MIN) == []


async def test_claim_send_mark_and_papers_go_once(database: Database) -> None:
    ledger = database.ledger
    target = await channel(database, "C1")
    planned = await ledger.plan(target.id, DeliveryKey.digest(WED), due_at=T0)
    claimed = await ledger.claim(planned.id, now=T0, lease=LEASE)
    assert claimed is not None
    assert (claimed.state, claimed.attempts, claimed.claimed_at) == ("claimed", 1, T0)
    assert claimed.lease_until == T0 + LEASE
    assert claimed.claim_token
    assert await ledger.claim(planned.id, now=T0, lease=LEASE) is None  # held
    content = Content("papers", ("2608.1", "a"), "2026-08-19")
    assert await ledger.set_content(claimed, content)
    assert await ledger.mark_sent(claimed, now=T0, message_id="1.2", paper_ids=["2608.1", "a"])
    assert await ledger.already_sent(target.id, ["2608.1", "2608.2", "a"]) == {"2608.1", "a"}
    assert await ledger.already_sent(target.id, []) == set()
    assert await ledger.claim(planned.id, now=T0 + 2 * LEASE, lease=LEASE) is None  # sent
    assert await ledger.open_deliveries(now=T0 + 2 * LEASE) == []
    last = await ledger.last_sent(target.id, "digest")
    assert last is not None
    assert (last.id, last.message_id, last.content) == (planned.id, "1.2", content)
    assert await ledger.last_sent(target.id, "sub") is None

    again = await ledger.plan(target.id, DeliveryKey.digest(date(2026, 8, 20)), due_at=T0)
    second = await ledger.claim(again.id, now=T0, lease=LEASE)
    assert second is not None
    assert await ledger.mark_sent(second, now=T0, message_id="2", paper_ids=["a", "b"])
    assert await ledger.already_sent(target.id, ["a", "b"]) == {"a", "b"}  # "a" kept its first


async def test_concurrent_claims_have_one_winner(database: Database) -> None:
    target = await database.targets.ensure("slack", "T1", "user", "U1")
    planned = await database.ledger.plan(target.id, DeliveryKey.dm(1, WED), due_at=T0)
    results = await asyncio.gather(
        *(database.ledger.claim(planned.id, now=T0, lease=LEASE) for _ in range(10))
    )
    assert sum(r is not None for r in results) == 1


async def test_a_taken_over_sender_cannot_write(database: Database) -> None:
    ledger = database.ledger
    target = await database.targets.ensure("discord", "", "user", "99")
    planned = await ledger.plan(target.id, DeliveryKey.dm(2, WED), due_at=T0)
    crashed = await ledger.claim(planned.id, now=T0, lease=LEASE)
    assert crashed is not None
    assert await ledger.open_deliveries(now=T0 + LEASE / 2) == []
    assert [d.id for d in await ledger.open_deliveries(now=T0 + LEASE)] == [planned.id]
    retry = await ledger.claim(planned.id, now=T0 + LEASE, lease=LEASE)
    assert retry is not None
    assert (retry.attempts, retry.claim_token != crashed.claim_token) == (2, True)
    assert not await ledger.set_content(crashed, Content("empty"))
    assert not await ledger.mark_failed(crashed, now=T0, error="late", retry_at=None)
    assert not await ledger.mark_sent(crashed, now=T0, message_id="late", paper_ids=["x"])
    assert await ledger.already_sent(target.id, ["x"]) == set()
    assert await ledger.mark_sent(retry, now=T0, message_id="m", paper_ids=["x"])


async def test_backoff_then_failure_for_good(database: Database) -> None:
    ledger = database.ledger
    target = await channel(database, "C9")
    planned = await ledger.plan(target.id, DeliveryKey.digest(WED), due_at=T0)
    first = await ledger.claim(planned.id, now=T0, lease=LEASE)
    assert first is not None
    assert await ledger.next_retry() == T0 + LEASE  # the lease, should its sender die
    retry_at = T0 + 2 * MIN
    assert await ledger.mark_failed(first, now=T0, error="ratelimited", retry_at=retry_at)
    assert await ledger.next_retry() == retry_at
    assert await ledger.backlog(now=T0 + MIN) == {
        "due": 0,
        "retrying": 1,
        "claimed": 0,
        "failed": 0,
    }
    assert await ledger.claim(planned.id, now=T0 + MIN, lease=LEASE) is None
    second = await ledger.claim(planned.id, now=retry_at, lease=LEASE)
    assert second is not None
    assert second.last_error == "ratelimited"
    assert await ledger.backlog(now=retry_at) == {
        "due": 0,
        "retrying": 0,
        "claimed": 1,
        "failed": 0,
    }
    assert await ledger.mark_failed(second, now=retry_at, error="x" * 900, retry_at=None)
    [failed] = await ledger.recent([target.id], since=T0)
    assert (failed.state, failed.last_error) == ("failed", "x" * 500)
    assert await ledger.claim(planned.id, now=T0 + timedelta(days=1), lease=LEASE) is None
    assert await ledger.next_retry() is None
    assert (await ledger.backlog(now=retry_at))["failed"] == 1


async def test_missed_and_pruned(database: Database) -> None:
    ledger = database.ledger
    target = await channel(database, "C1")
    old = await ledger.plan(target.id, DeliveryKey.digest(date(2026, 8, 17)), due_at=T0 - 2 * LEASE)
    live = await ledger.plan(target.id, DeliveryKey.digest(date(2026, 8, 18)), due_at=T0 - LEASE)
    assert (await ledger.backlog(now=T0))["due"] == 2
    await ledger.mark_missed(old.id, reason="outside the grace window")
    assert [d.id for d in await ledger.open_deliveries(now=T0)] == [live.id]
    assert await ledger.claim(old.id, now=T0, lease=LEASE) is None
    assert await ledger.prune(before=T0) == 1  # the pending one stays
    assert not await ledger.has_delivery(target.id, DeliveryKey.digest(date(2026, 8, 17)))
    assert await ledger.has_delivery(target.id, DeliveryKey.digest(date(2026, 8, 18)))


async def test_promised_contents_and_the_latest_dm_of_each_subscription(
    database: Database,
) -> None:
    ledger = database.ledger
    user = await database.targets.ensure("slack", "T1", "user", "U1")
    one = await ledger.plan(user.id, DeliveryKey.dm(1, WED), due_at=T0)
    two = await ledger.plan(user.id, DeliveryKey.dm(2, WED), due_at=T0)
    claimed = await ledger.claim(one.id, now=T0, lease=LEASE)
    assert claimed is not None
    promised = Content("papers", ("p1",))
    assert await ledger.set_content(claimed, promised)
    assert await ledger.promised(user.id, besides=two.id) == [promised]
    assert await ledger.promised(user.id, besides=one.id) == []
    assert await ledger.mark_sent(claimed, now=T0, message_id="m1")
    earlier = await ledger.plan(user.id, DeliveryKey.dm(1, date(2026, 8, 18)), due_at=T0 - LEASE)
    first = await ledger.claim(earlier.id, now=T0, lease=LEASE)
    assert first is not None
    assert await ledger.mark_sent(first, now=T0, message_id="m0")
    assert await ledger.last_sent_subs([user.id, user.id], since=T0 - 2 * LEASE) == {1: T0}
    assert await ledger.last_sent_subs([user.id], since=T0 + MIN) == {}
    assert await ledger.last_sent_subs([], since=T0) == {}


# -- claim_due ---------------------------------------------------------------------------


async def test_claim_due_takes_whole_targets_earliest_first(database: Database) -> None:
    ledger = database.ledger
    a, b, c = [await channel(database, name) for name in ("A", "B", "C")]
    a1 = await ledger.plan(a.id, DeliveryKey.dm(1, WED), due_at=T0 - MIN)
    a2 = await ledger.plan(a.id, DeliveryKey.dm(2, WED), due_at=T0 - 3 * MIN)
    b1 = await ledger.plan(b.id, DeliveryKey.dm(3, WED), due_at=T0 - 2 * MIN)
    c1 = await ledger.plan(c.id, DeliveryKey.dm(4, WED), due_at=T0)
    await ledger.plan(c.id, DeliveryKey.dm(5, WED), due_at=T0 + MIN)  # not due yet

    first = await claim_due(database, limit=2)
    assert [d.id for d in first] == [a2.id, b1.id, a1.id]  # targets A and B, by due time
    for row in first:
        assert (row.state, row.attempts, row.claimed_at) == ("claimed", 1, T0)
        assert row.lease_until == T0 + LEASE
    assert len({row.claim_token for row in first}) == 3  # a token per row
    assert [d.id for d in await claim_due(database, limit=2)] == [c1.id]
    assert await claim_due(database) == []
    assert await claim_due(database, limit=0) == []


async def test_claim_due_waits_out_backoffs_and_retakes_expired_leases(
    database: Database,
) -> None:
    ledger = database.ledger
    a, b = await channel(database, "A"), await channel(database, "B")
    backing = await ledger.plan(a.id, DeliveryKey.dm(1, WED), due_at=T0)
    hung = await ledger.plan(b.id, DeliveryKey.dm(2, WED), due_at=T0)
    [first_a, first_b] = await claim_due(database)
    assert await ledger.mark_failed(first_a, now=T0, error="busy", retry_at=T0 + 2 * LEASE)

    assert await claim_due(database, T0 + LEASE / 2) == []  # B is held, A backs off
    [retaken] = await claim_due(database, T0 + LEASE)
    assert (retaken.id, retaken.attempts) == (hung.id, 2)
    assert retaken.claim_token != first_b.claim_token
    assert not await ledger.mark_sent(first_b, now=T0 + LEASE, message_id="late")  # fenced
    assert await ledger.mark_sent(retaken, now=T0 + LEASE, message_id="m")
    [retried] = await claim_due(database, T0 + 2 * LEASE)
    assert (retried.id, retried.attempts, retried.last_error) == (backing.id, 2, "busy")


async def test_claim_due_skips_targets_someone_is_working_on(database: Database) -> None:
    ledger = database.ledger
    busy, free = await channel(database, "busy"), await channel(database, "free")
    held = await ledger.plan(busy.id, DeliveryKey.dm(1, WED), due_at=T0 - MIN)
    assert await ledger.claim(held.id, now=T0 - MIN, lease=LEASE) is not None
    await ledger.plan(busy.id, DeliveryKey.dm(2, WED), due_at=T0)  # due, but its target is busy
    other = await ledger.plan(free.id, DeliveryKey.dm(3, WED), due_at=T0)
    assert [d.id for d in await claim_due(database)] == [other.id]
    assert await claim_due(database) == []
    later = await claim_due(database, T0 - MIN + LEASE)  # the lease ran out: both rows
    assert sorted(d.key.subscription for d in later) == [1, 2]


async def test_claim_due_claims_only_the_platforms_it_is_given(database: Database) -> None:
    ledger = database.ledger
    slack, discord = await channel(database, "C1"), await channel(database, "C1", "discord")
    on_slack = await ledger.plan(slack.id, DeliveryKey.digest(WED), due_at=T0)
    on_discord = await ledger.plan(discord.id, DeliveryKey.digest(WED), due_at=T0)
    assert await claim_due(database, platforms=()) == []
    assert await claim_due(database, platforms=("telegram",)) == []
    assert [d.id for d in await claim_due(database, platforms=("discord",))] == [on_discord.id]
    assert [d.id for d in await claim_due(database, platforms=("slack",))] == [on_slack.id]


async def test_concurrent_claim_due_calls_never_share_a_target(database: Database) -> None:
    targets = [await channel(database, f"C{n}") for n in range(20)]
    await database.ledger.plan_many(
        [(t.id, DeliveryKey.dm(n, WED), T0, False) for t in targets for n in (1, 2)],
        missed_reason="",
    )
    batches = await asyncio.gather(*(claim_due(database, limit=3) for _ in range(10)))
    batches.append(await claim_due(database))  # whatever a lost race left over
    claimed = [row for batch in batches for row in batch]
    assert len(claimed) == len({row.id for row in claimed}) == 40
    owners = {row.target_id: n for n, batch in enumerate(batches) for row in batch}
    for n, batch in enumerate(batches):
        assert len({row.target_id for row in batch}) <= (3 if n < 10 else 20)
        assert all(owners[row.target_id] == n for row in batch)


async def test_claim_due_takes_every_due_row_of_a_target_with_many(database: Database) -> None:
    busy, quiet = await channel(database, "busy"), await channel(database, "quiet")
    await database.ledger.plan_many(
        [(busy.id, DeliveryKey.dm(n, WED), T0 - n * MIN, False) for n in range(1, 30)]
        + [(quiet.id, DeliveryKey.dm(99, WED), T0 - 60 * MIN, False)],
        missed_reason="",
    )
    [first] = await claim_due(database, limit=1)
    assert first.target_id == quiet.id  # the earliest due row's target comes first
    claimed = await claim_due(database, limit=1)
    assert len(claimed) == 29
    assert {row.target_id for row in claimed} == {busy.id}
    assert [row.due_at for row in claimed] == sorted(row.due_at for row in claimed)


async def test_a_renewed_lease_is_never_taken_over_and_a_lost_one_is_not_renewed(
    database: Database,
) -> None:
    ledger = database.ledger
    a, b = await channel(database, "A"), await channel(database, "B")
    await ledger.plan(a.id, DeliveryKey.dm(1, WED), due_at=T0)
    await ledger.plan(b.id, DeliveryKey.dm(2, WED), due_at=T0)
    [mine, stalled] = await claim_due(database)
    # A live sender renews what it works on; the stalled one does not.
    assert await ledger.renew([mine], now=T0 + LEASE / 2, lease=LEASE) == {mine.id}
    [retaken] = await claim_due(database, T0 + LEASE)  # only the lease that ran out
    assert retaken.id == stalled.id
    # The stalled sender's renewal comes too late: the row is someone else's now.
    assert await ledger.renew([mine, stalled], now=T0 + LEASE, lease=LEASE) == {mine.id}
    assert await ledger.mark_sent(mine, now=T0 + LEASE, message_id="m1")
    assert await ledger.renew([mine], now=T0 + LEASE, lease=LEASE) == set()  # finished
    assert await ledger.renew([], now=T0, lease=LEASE) == set()
