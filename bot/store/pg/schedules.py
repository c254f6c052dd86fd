"""Subscriptions and channel digests on PostgreSQL: the behaviour of
:mod:`bot.store.schedules`.

Each row carries its schedule and ``next_fire`` (ISO text in UTC, so text order is time
order), making "what is due now" one indexed range scan. Whoever plans a fire moves
``next_fire`` on with a compare-and-set (:meth:`PgSchedules.advance_many`), so a command
that changed a schedule meanwhile, in any process, wins. The subscription limit holds
across processes: a subscribe locks its target's row before it counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

import asyncpg

from bot.model.schedule import Schedule
from bot.store.pg.section import PgSection
from bot.store.records import (
    DIGEST_COLUMNS,
    SUB_COLUMNS,
    ChannelDigest,
    ScheduleKind,
    Subscription,
    digest_from_row,
    parse_due,
    schedule_params,
    subscription_from_row,
)
from bot.store.rows import Row, ts

log = logging.getLogger(__name__)
_T = TypeVar("_T")

_DIGEST_VALUES = ", ".join(f"${n}" for n in range(1, 13))
_DIGEST_UPDATE = ", ".join(
    f"{column} = excluded.{column}"
    for column in (
        "at", "tz", "cadence", "weekday", "top_n", "filter", "min_upvotes", "empty_days",
        "owner", "next_fire",
    )
)  # fmt: skip


class PgSchedules(PgSection):
    """Subscriptions and channel digests."""

    _what = "schedule"

    # -- subscriptions ---------------------------------------------------------------------

    async def add_subscription(
        self,
        target_id: int,
        query: str,
        schedule: Schedule,
        *,
        now: datetime,
        next_fire: datetime,
        limit: int,
    ) -> Subscription | None:
        """A new subscription, or ``None`` when the target already has *limit* of them.

        The target's row is locked before the count, so concurrent subscribes (from any
        process) count one after another and cannot exceed the limit."""
        async with self._transaction() as conn:
            await conn.execute("SELECT 1 FROM targets WHERE id = $1 FOR UPDATE", target_id)
            row = await conn.fetchrow(
                "INSERT INTO subscriptions (target_id, query, at, tz, cadence, weekday, "
                "created_at, next_fire) SELECT $1, $2, $3, $4, $5, $6, $7, $8 "
                "WHERE (SELECT COUNT(*) FROM subscriptions WHERE target_id = $1) < $9 "
                f"RETURNING {SUB_COLUMNS}",
                target_id,
                query,
                *schedule_params(schedule),
                ts(now),
                ts(next_fire),
                limit,
            )
        return subscription_from_row(row) if row is not None else None

    async def subscriptions_of(self, target_id: int) -> list[Subscription]:
        rows = await self._rows(
            f"SELECT {SUB_COLUMNS} FROM subscriptions WHERE target_id = $1 ORDER BY id",
            target_id,
        )
        return [subscription_from_row(row) for row in rows]

    async def subscription(self, sub_id: int) -> Subscription | None:
        row = await self._one(f"SELECT {SUB_COLUMNS} FROM subscriptions WHERE id = $1", sub_id)
        return subscription_from_row(row) if row is not None else None

    async def subscriptions_by_id(self, sub_ids: Sequence[int]) -> list[Subscription]:
        rows = await self._rows(
            f"SELECT {SUB_COLUMNS} FROM subscriptions WHERE id = ANY($1::bigint[]) ORDER BY id",
            list(sub_ids),
        )
        return [subscription_from_row(row) for row in rows]

    async def subscription_ids(self) -> set[int]:
        rows = await self._rows("SELECT id FROM subscriptions")
        return {int(row["id"]) for row in rows}

    async def all_subscriptions(self) -> list[Subscription]:
        rows = await self._rows(f"SELECT {SUB_COLUMNS} FROM subscriptions ORDER BY id")
        return [subscription_from_row(row) for row in rows]

    async def remove_subscriptions(self, target_id: int, sub_id: int | None) -> list[int]:
        """Delete one of the target's subscriptions (or all with ``None``); the ids removed."""
        rows = await self._write(
            "DELETE FROM subscriptions WHERE target_id = $1 AND ($2::bigint IS NULL OR id = $2) "
            "RETURNING id",
            target_id,
            sub_id,
        )
        return sorted(int(row["id"]) for row in rows)

    # -- channel digests -------------------------------------------------------------------

    async def set_digest(self, digest: ChannelDigest) -> ChannelDigest:
        """Turn a channel's digest on, or replace its settings."""
        row = await self._write_one(
            f"INSERT INTO channel_digests ({DIGEST_COLUMNS}) VALUES ({_DIGEST_VALUES}) "
            f"ON CONFLICT (target_id) DO UPDATE SET {_DIGEST_UPDATE} RETURNING {DIGEST_COLUMNS}",
            digest.target_id,
            *schedule_params(digest.schedule),
            digest.top_n,
            digest.filter,
            digest.min_upvotes,
            digest.empty_days,
            digest.owner,
            ts(digest.created_at),
            ts(digest.next_fire),
        )
        assert row is not None  # an upsert always returns its row
        return digest_from_row(row)

    async def digest(self, target_id: int) -> ChannelDigest | None:
        row = await self._one(
            f"SELECT {DIGEST_COLUMNS} FROM channel_digests WHERE target_id = $1", target_id
        )
        return digest_from_row(row) if row is not None else None

    async def remove_digest(self, target_id: int) -> bool:
        rows = await self._write(
            "DELETE FROM channel_digests WHERE target_id = $1 RETURNING target_id", target_id
        )
        return bool(rows)

    # -- what is due ------------------------------------------------------------------------

    async def due_subscriptions(self, now: datetime, *, limit: int = 5000) -> list[Subscription]:
        """Subscriptions whose ``next_fire`` has passed, earliest first (see :meth:`_due`)."""
        rows = await self._rows(
            f"SELECT {SUB_COLUMNS} FROM subscriptions WHERE next_fire <= $1 "
            "ORDER BY next_fire, id LIMIT $2",
            ts(now),
            limit,
        )
        return await self._due(rows, subscription_from_row, "subscriptions", "id")

    async def due_digests(self, now: datetime, *, limit: int = 5000) -> list[ChannelDigest]:
        """Channel digests whose ``next_fire`` has passed, earliest first."""
        rows = await self._rows(
            f"SELECT {DIGEST_COLUMNS} FROM channel_digests WHERE next_fire <= $1 "
            "ORDER BY next_fire, target_id LIMIT $2",
            ts(now),
            limit,
        )
        return await self._due(rows, digest_from_row, "channel_digests", "target_id")

    async def _due(
        self,
        rows: Sequence[asyncpg.Record],
        parse: Callable[[Row], _T],
        table: str,
        column: str,
    ) -> list[_T]:
        """Parse due rows. One that no longer parses (say its zone is missing from this
        host's tzdata) is logged and moved a day on, so it never blocks the others."""
        good, broken = parse_due(rows, parse, table, column)
        await self._many(f"UPDATE {table} SET next_fire = $1 WHERE {column} = $2", broken)
        return good

    async def earliest_fire(self) -> datetime | None:
        """When the next schedule of any kind falls due (the alarm to set)."""
        value = await self._value(
            "SELECT LEAST((SELECT MIN(next_fire) FROM subscriptions), "
            "(SELECT MIN(next_fire) FROM channel_digests))"
        )
        return datetime.fromisoformat(value) if value else None

    async def advance_many(
        self, kind: ScheduleKind, moves: Sequence[tuple[int, datetime, datetime]]
    ) -> None:
        """Move schedules' ``next_fire`` on: (key, was, next) each, in one statement; a row
        whose ``next_fire`` is no longer *was* (a command just changed it) is left alone."""
        if not moves:
            return
        table, column = (
            ("subscriptions", "id") if kind == "sub" else ("channel_digests", "target_id")
        )
        await self._write(
            f"UPDATE {table} AS s SET next_fire = m.new "
            "FROM unnest($1::bigint[], $2::text[], $3::text[]) AS m (key, was, new) "
            f"WHERE s.{column} = m.key AND s.next_fire = m.was",
            [key for key, _, _ in moves],
            [ts(was) for _, was, _ in moves],
            [ts(new) for _, _, new in moves],
        )
