"""Seeding and reading the database of the crash-delivery test (:mod:`tests.test_crash_delivery`).

:func:`seed` builds a fresh store whose channel digests and DM subscriptions all fell due a
few minutes ago, through the bot's own commands, so ``papersbot run`` delivers them all at
start. :func:`ledger_rows` reads the delivery ledger with plain ``sqlite3`` (only while no bot
process runs, or read-only beside one: the store is in WAL mode).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bot.app import bundled_snapshot
from bot.model.caller import Caller
from bot.model.delivery import DeliveryKey
from bot.service.papersbot import PapersBot
from bot.sources.snapshot import SnapshotSource
from bot.store import Database, open_database
from bot.store.records import IngestRun
from tests.fakes.clock import Clock

RELABELLED_DAYS = 3

# Words that match papers of the bundled snapshot, so every DM has something to say.
QUERIES = ("model", "language", "learning", "diffusion", "agent", "reasoning", "video")


@dataclass(frozen=True, slots=True)
class Seeded:
    """What :func:`seed` set up: the expected delivery key of every Slack conversation."""

    channels: dict[str, str]  # channel id -> digest key
    users: dict[str, str]  # user id -> subscription key (its DM is "D" + user id)
    at: str  # the schedules' HH:MM (UTC)

    @property
    def total(self) -> int:
        return len(self.channels) + len(self.users)


def schedule_time(now: datetime) -> datetime:
    """A wall-clock minute that fell due a few minutes before *now*, and after the seeding
    clock (:func:`seed` runs the commands 10 minutes in the past)."""
    return (now - timedelta(minutes=5)).replace(second=0, microsecond=0)


async def seed(db: str | Path, *, channels: int, users: int, team: str, now: datetime) -> Seeded:
    """Create the store at *db* (a SQLite path or a PostgreSQL URL) with the bundled papers
    (first stored an hour before *now*), a fresh ingest run, *channels* channel digests and
    *users* one-subscription users."""
    fire = schedule_time(now)
    at = f"{fire:%H:%M}"
    created = now - timedelta(minutes=10)
    store = await open_database(db)
    try:
        # The recorded days are months old, and a DM never calls an old paper new: the
        # newest three recorded days are relabelled as the last three days, as if Hugging
        # Face had just published them.
        days = [batch for _, batch in SnapshotSource(bundled_snapshot()).days()]
        for age, batch in enumerate(reversed(days)):
            if age < RELABELLED_DAYS:
                day = (now - timedelta(days=age)).date()
                batch = [replace(paper, daily_day=day) for paper in batch]
            await store.papers.upsert(batch, seen_at=now - timedelta(hours=1))
        await store.runs.record(
            IngestRun("snapshot", None, now - timedelta(hours=1), now, True, 1, None)
        )
        bot = PapersBot(store=store, clock=Clock(created))
        for i in range(channels):
            caller = Caller(
                "slack", f"UC{i:04d}", channel_id=f"C{i:04d}", workspace_id=team, can_manage=True
            )
            top = " top 10" if i % 10 == 0 else ""
            reply = await bot.respond(f"digest on at {at} tz UTC daily{top}", caller)
            assert not reply.is_error, reply.text
        for i in range(users):
            caller = Caller("slack", f"UD{i:04d}", channel_id=f"DUD{i:04d}", workspace_id=team)
            query = QUERIES[i % len(QUERIES)]
            reply = await bot.respond(f"subscribe {query} at {at} tz UTC daily", caller)
            assert not reply.is_error, reply.text
        keys = await _expected_keys(store, now)
    finally:
        await store.close()
    assert len(keys[0]) == channels, "a channel digest is not due"
    assert len(keys[1]) == users, "a subscription is not due"
    return Seeded(keys[0], keys[1], at)


async def _expected_keys(store: Database, now: datetime) -> tuple[dict[str, str], dict[str, str]]:
    """The key each schedule's first fire is delivered under, as text (as the ledger and
    Slack's message metadata hold it)."""
    channels: dict[str, str] = {}
    for digest in await store.schedules.due_digests(now):
        target = await store.targets.by_id(digest.target_id)
        assert target is not None
        key = DeliveryKey.fired(digest.schedule.tz, _due(digest.next_fire, now))
        channels[target.address] = str(key)
    users: dict[str, str] = {}
    for sub in await store.schedules.all_subscriptions():
        target = await store.targets.by_id(sub.target_id)
        assert target is not None
        key = DeliveryKey.fired(sub.schedule.tz, _due(sub.next_fire, now), sub.id)
        users[target.address] = str(key)
    return channels, users


def _due(next_fire: datetime, now: datetime) -> datetime:
    fire = next_fire.astimezone(UTC)
    assert now - timedelta(minutes=7) < fire <= now, f"{fire} is not due a few minutes before {now}"
    return fire


@dataclass(frozen=True, slots=True)
class Row:
    """One ledger row, as the test needs it."""

    kind: str  # channel | user
    address: str
    key: str
    state: str
    attempts: int
    message_id: str | None
    content_kind: str | None
    last_error: str | None


_LEDGER = (
    "SELECT t.kind, t.address, d.digest_key, d.state, d.attempts, d.message_id, "
    "d.content, d.last_error FROM deliveries d JOIN targets t ON t.id = d.target_id "
    "ORDER BY d.id"
)


def ledger_rows(db: Path) -> list[Row]:
    """Every delivery row (empty before the first process planned anything)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute(_LEDGER).fetchall()
    finally:
        conn.close()
    return [
        Row(kind, address, key, state, attempts, message_id, _kind(content), error)
        for kind, address, key, state, attempts, message_id, content, error in rows
    ]


async def pg_ledger_rows(dsn: str) -> list[Row]:
    """:func:`ledger_rows` of a PostgreSQL store (readable beside running processes)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(_LEDGER)
    finally:
        await conn.close()
    return [Row(r[0], r[1], r[2], r[3], r[4], r[5], _kind(r[6]), r[7]) for r in rows]


def _kind(content: str | None) -> str | None:
    return str(json.loads(content)["kind"]) if content else None
