"""On a database whose default collation is linguistic (ICU ``en-US``, what a server set up
with an English locale gives), instants still compare in time order and ledger keys by
byte: the schema declares them ``COLLATE "C"``. The test server itself is ``C.UTF-8``, where
this cannot show."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.model.delivery import DeliveryKey
from bot.model.papers import Paper
from bot.model.schedule import Schedule
from bot.store.pg.db import PgStore
from bot.store.records import IngestRun
from tests.pg import PostgresServer

WHOLE = datetime(2026, 8, 19, 7, 0, tzinfo=UTC)  # written without a fraction
JUST_AFTER = WHOLE + timedelta(microseconds=500_000)  # written with one
LEASE = timedelta(minutes=5)


@pytest.fixture
async def english(postgres_server: PostgresServer) -> AsyncIterator[PgStore]:
    name = f"t_en_{uuid.uuid4().hex[:12]}"
    postgres_server.sql(
        f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
    )
    dsn = postgres_server.dsn(name)
    store = await PgStore.open(dsn, pool_size=2)
    try:
        yield store
    finally:
        await store.close()
        postgres_server.drop_database(dsn)


async def test_instants_and_keys_keep_byte_order_under_an_english_collation(
    english: PgStore,
) -> None:
    collation = await english._pool.fetchval("SELECT '...00+00:00' < '...00.5+00:00'")
    assert collation is False  # the database's own order is not time order
    target = await english.targets.ensure("slack", "T1", "user", "U1")
    planned = await english.ledger.plan(
        target.id, DeliveryKey.dm(1, date(2026, 8, 19)), due_at=WHOLE
    )
    [claimed] = await english.ledger.claim_due(
        now=JUST_AFTER, lease=LEASE, limit=5, platforms=["slack"]
    )
    assert claimed.id == planned.id
    assert await english.ledger.mark_sent(claimed, now=JUST_AFTER, message_id="m")
    last = await english.ledger.last_sent(target.id, "sub")
    assert last is not None
    assert last.id == planned.id
    assert await english.ledger.last_sent_subs([target.id], since=WHOLE) == {1: WHOLE}

    daily = Schedule(time(9, 0), "Asia/Tokyo", "daily")
    sub = await english.schedules.add_subscription(
        target.id, "llm", daily, now=WHOLE, next_fire=WHOLE, limit=5
    )
    assert sub is not None
    assert [s.id for s in await english.schedules.due_subscriptions(JUST_AFTER)] == [sub.id]


async def test_papers_runs_pages_and_states_keep_time_order_too(english: PgStore) -> None:
    paper = Paper(id="2608.00001", title="Whole seconds", daily_day=date(2026, 8, 19))
    await english.papers.upsert([paper], seen_at=WHOLE)
    # first stored at 07:00:00 sharp: it is new to anyone who last looked half a second before
    assert [p.paper.id for p in await english.papers.seen_since(WHOLE - LEASE)] == [paper.id]
    assert await english.papers.seen_since(JUST_AFTER) == []
    run = IngestRun("hf", None, WHOLE, WHOLE, True, 1, None)
    later = IngestRun("hf", None, JUST_AFTER, JUST_AFTER, False, 0, "down")
    await english.runs.record(run)
    await english.runs.record(later)
    last, last_ok = (await english.runs.last())["hf"]
    assert last is not None
    assert last_ok is not None
    assert (last.ok, last_ok.ok) == (False, True)
    await english.oauth_states.issue("s1", now=WHOLE - LEASE, expires_at=JUST_AFTER)
    assert await english.oauth_states.outstanding(WHOLE) == 1  # expires half a second later
