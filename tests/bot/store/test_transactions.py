"""Every store transaction rolls back on any failure, cancellation included: a failed write
never leaves half a transaction on the shared connection for the next writer to commit."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.errors import StoreError
from bot.model.delivery import DeliveryKey
from bot.model.papers import Paper
from bot.store import Store
from bot.store.records import IngestRun

T0 = datetime(2026, 8, 19, 7, 0, tzinfo=UTC)
GOOD = Paper(id="2608.00001", title="A good paper", abstract="Fine text.", source="hf")


@pytest.fixture
async def opened(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "papers.db")
    yield store
    await store.close()


def committed(path: Path, sql: str) -> list[tuple[object, ...]]:
    """What another connection sees: only committed rows."""
    with closing(sqlite3.connect(path)) as other:
        return list(other.execute(sql))


async def a_later_write(store: Store) -> None:
    await store.runs.record(IngestRun("hf", None, T0, T0, True, 0, None))


async def test_a_lone_surrogate_fails_the_whole_batch_and_commits_nothing(
    opened: Store, tmp_path: Path
) -> None:
    bad = replace(GOOD, id="2608.00002", title="Broken \ud800 title")
    with pytest.raises(StoreError, match="could not store 2 papers"):
        await opened.papers.upsert([GOOD, bad], seen_at=T0)
    await a_later_write(opened)  # its commit must not carry the failed batch's first row
    assert committed(tmp_path / "papers.db", "SELECT id FROM papers") == []
    assert len(committed(tmp_path / "papers.db", "SELECT id FROM ingest_runs")) == 1
    assert (await opened.papers.upsert([GOOD], seen_at=T0)).new == 1  # the store still works


def interrupted(exc: BaseException) -> Iterator[str]:
    """Paper ids that fail half-way: mark_sent reads them after its UPDATE ran."""
    yield "2608.00001"
    raise exc


@pytest.mark.parametrize("exc", [asyncio.CancelledError(), RuntimeError("bug")])
async def test_an_interrupted_mark_sent_is_rolled_back(
    opened: Store, tmp_path: Path, exc: BaseException
) -> None:
    target = await opened.targets.ensure("slack", "T1", "channel", "C1")
    planned = await opened.ledger.plan(target.id, DeliveryKey.parse("digest:2026-08-19"), due_at=T0)
    claimed = await opened.ledger.claim(planned.id, now=T0, lease=timedelta(minutes=10))
    assert claimed is not None
    with pytest.raises(type(exc)):
        await opened.ledger.mark_sent(claimed, now=T0, message_id="m1", paper_ids=interrupted(exc))
    await a_later_write(opened)
    path = tmp_path / "papers.db"
    assert committed(path, "SELECT state FROM deliveries") == [("claimed",)]
    assert committed(path, "SELECT paper_id FROM sent_papers") == []
    # The claim still holds, so the sender can mark it properly later.
    assert await opened.ledger.mark_sent(claimed, now=T0, message_id="m1", paper_ids=["x"])
    assert committed(path, "SELECT state FROM deliveries") == [("sent",)]
