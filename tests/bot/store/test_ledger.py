"""The delivery ledger on a real SQLite file: claim, send, mark; at most once per paper."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.model.delivery import DeliveryKey
from bot.store import Store
from bot.store.ledger import Ledger
from bot.store.targets import Targets

T0 = datetime(2026, 8, 19, 7, 0, tzinfo=UTC)
WED = T0.date()
STALE = timedelta(minutes=10)


@pytest.fixture
async def opened(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "ledger.db")
    yield store
    await store.close()


@pytest.fixture
def ledger(opened: Store) -> Ledger:
    return opened.ledger


@pytest.fixture
def targets(opened: Store) -> Targets:
    return opened.targets


async def test_targets_are_created_once(ledger: Ledger, targets: Targets) -> None:
    first = await targets.ensure("slack", "T1", "channel", "C1")
    again = await targets.ensure("slack", "T1", "channel", "C1")
    other = await targets.ensure("slack", "T1", "user", "C1")
    assert first == again
    assert other.id != first.id
    assert first.disabled_at is None


async def test_plan_never_duplicates(ledger: Ledger, targets: Targets) -> None:
    target = await targets.ensure("discord", "G1", "channel", "42")
    a = await ledger.plan(target.id, DeliveryKey.digest(WED), due_at=T0)
    b = await ledger.plan(target.id, DeliveryKey.digest(WED), due_at=T0 + timedelta(hours=1))
    assert a == b
    assert a.key == DeliveryKey.digest(WED)
    assert a.state == "pending"
    assert a.due_at == T0


async def test_claim_send_mark(ledger: Ledger, targets: Targets) -> None:
    target = await targets.ensure("slack", "T1", "channel", "C1")
    planned = await ledger.plan(target.id, DeliveryKey.digest(WED), due_at=T0)
    claimed = await ledger.claim(planned.id, now=T0, lease=STALE)
    assert claimed is not None
    assert claimed.state == "claimed"
    assert claimed.attempts == 1
    assert await ledger.claim(planned.id, now=T0, lease=STALE) is None  # held
    assert await ledger.mark_sent(claimed, now=T0, message_id="1.2", paper_ids=["2608.1", "a"])
    assert await ledger.already_sent(target.id, ["2608.1", "2608.2", "a"]) == {"2608.1", "a"}
    assert await ledger.claim(planned.id, now=T0 + STALE * 2, lease=STALE) is None  # sent
    assert await ledger.open_deliveries(now=T0 + STALE * 2) == []


async def test_concurrent_claims_have_one_winner(ledger: Ledger, targets: Targets) -> None:
    target = await targets.ensure("slack", "T1", "user", "U1")
    planned = await ledger.plan(target.id, DeliveryKey.dm(1, WED), due_at=T0)
    results = await asyncio.gather(
        *(ledger.claim(planned.id, now=T0, lease=STALE) for _ in range(10))
    )
    assert sum(r is not None for r in results) == 1


async def test_a_stale_claim_is_taken_over_and_the_old_sender_cannot_mark(
    ledger: Ledger, targets: Targets
) -> None:
    target = await targets.ensure("discord", "", "user", "99")
    planned = await ledger.plan(target.id, DeliveryKey.dm(2, WED), due_at=T0)
    crashed = await ledger.claim(planned.id, now=T0, lease=STALE)
    assert crashed is not None
    assert await ledger.open_deliveries(now=T0 + STALE / 2) == []
    [stale] = await ledger.open_deliveries(now=T0 + STALE)
    assert stale.id == planned.id
    retry = await ledger.claim(planned.id, now=T0 + STALE, lease=STALE)
    assert retry is not None
    assert retry.attempts == 2
    assert retry.claim_token != crashed.claim_token
    assert not await ledger.mark_sent(crashed, now=T0, message_id="late", paper_ids=["x"])
    assert await ledger.already_sent(target.id, ["x"]) == set()
    assert await ledger.mark_sent(retry, now=T0, message_id="m", paper_ids=["x"])


async def test_transient_failure_backs_off_then_permanent_failure_sticks(
    ledger: Ledger, targets: Targets
) -> None:
    target = await targets.ensure("slack", "T1", "channel", "C9")
    planned = await ledger.plan(target.id, DeliveryKey.digest(date(2026, 8, 20)), due_at=T0)
    first = await ledger.claim(planned.id, now=T0, lease=STALE)
    assert first is not None
    retry_at = T0 + timedelta(minutes=2)
    assert await ledger.mark_failed(first, now=T0, error="ratelimited", retry_at=retry_at)
    assert await ledger.claim(planned.id, now=T0 + timedelta(minutes=1), lease=STALE) is None
    second = await ledger.claim(planned.id, now=retry_at, lease=STALE)
    assert second is not None
    assert second.last_error == "ratelimited"
    assert await ledger.mark_failed(second, now=retry_at, error="channel_not_found", retry_at=None)
    assert await ledger.claim(planned.id, now=T0 + timedelta(days=1), lease=STALE) is None
    await targets.disable(target.id, now=retry_at, reason="channel_not_found")
    disabled = await targets.ensure("slack", "T1", "channel", "C9")
    assert disabled.disabled_reason == "channel_not_found"
    assert disabled.disabled_at == retry_at


async def test_missed_deliveries_are_closed(ledger: Ledger, targets: Targets) -> None:
    target = await targets.ensure("slack", "T1", "channel", "C1")
    planned = await ledger.plan(
        target.id, DeliveryKey.digest(date(2026, 8, 17)), due_at=T0 - timedelta(days=2)
    )
    assert [d.id for d in await ledger.open_deliveries(now=T0)] == [planned.id]
    await ledger.mark_missed(planned.id, reason="due 2 days ago, outside the grace window")
    assert await ledger.open_deliveries(now=T0) == []
    assert await ledger.claim(planned.id, now=T0, lease=STALE) is None


async def test_the_ledger_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "restart.db"
    store = await Store.open(path)
    target = await store.targets.ensure("slack", "T1", "channel", "C1")
    planned = await store.ledger.plan(target.id, DeliveryKey.digest(WED), due_at=T0)
    await store.ledger.claim(planned.id, now=T0, lease=STALE)
    await store.close()
    reopened = await Store.open(path)
    try:
        [open_one] = await reopened.ledger.open_deliveries(now=T0 + STALE)
        assert open_one.state == "claimed"
        assert open_one.attempts == 1
    finally:
        await reopened.close()
