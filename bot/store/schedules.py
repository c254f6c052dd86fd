"""What is scheduled: users' DM subscriptions and channels' daily digests.

Each row carries its :class:`~bot.model.schedule.Schedule` and ``next_fire``, the UTC instant it
is next due, so "what is due now" is one indexed range scan whatever the number of rows.
Whoever plans a fire moves ``next_fire`` on (:meth:`Schedules.advance`) in the same breath
as it writes the ledger row; the ledger stays the only record of what was sent.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from bot.model.schedule import Schedule
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
from bot.store.section import Section

log = logging.getLogger(__name__)
_T = TypeVar("_T")


class Schedules(Section):
    """Subscriptions and channel digests, on the store's connection and write lock."""

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

        The count and the insert are one statement, so a flood of concurrent subscribes
        cannot exceed the limit.
        """
        rows = await self._write(
            "INSERT INTO subscriptions (target_id, query, at, tz, cadence, weekday, created_at, "
            "next_fire) SELECT ?, ?, ?, ?, ?, ?, ?, ? "
            "WHERE (SELECT COUNT(*) FROM subscriptions WHERE target_id = ?) < ? "
            f"RETURNING {SUB_COLUMNS}",
            (
                target_id,
                query,
                *schedule_params(schedule),
                ts(now),
                ts(next_fire),
                target_id,
                limit,
            ),
        )
        return subscription_from_row(rows[0]) if rows else None

    async def subscriptions_of(self, target_id: int) -> list[Subscription]:
        rows = await self._rows(
            f"SELECT {SUB_COLUMNS} FROM subscriptions WHERE target_id = ? ORDER BY id",
            (target_id,),
        )
        return [subscription_from_row(row) for row in rows]

    async def subscription(self, sub_id: int) -> Subscription | None:
        rows = await self._rows(f"SELECT {SUB_COLUMNS} FROM subscriptions WHERE id = ?", (sub_id,))
        return subscription_from_row(rows[0]) if rows else None

    async def subscriptions_by_id(self, sub_ids: Sequence[int]) -> list[Subscription]:
        sql = f"SELECT {SUB_COLUMNS} FROM subscriptions WHERE id IN ({{ids}})"
        return [subscription_from_row(row) for row in await self._rows_in(sql, sub_ids)]

    async def subscription_ids(self) -> set[int]:
        rows = await self._rows("SELECT id FROM subscriptions")
        return {int(row["id"]) for row in rows}

    async def all_subscriptions(self) -> list[Subscription]:
        rows = await self._rows(f"SELECT {SUB_COLUMNS} FROM subscriptions ORDER BY id")
        return [subscription_from_row(row) for row in rows]

    async def remove_subscriptions(self, target_id: int, sub_id: int | None) -> list[int]:
        """Delete one of the target's subscriptions (or all with ``None``); the ids removed."""
        sql = "DELETE FROM subscriptions WHERE target_id = ?"
        params: tuple[int, ...] = (target_id,)
        if sub_id is not None:
            sql, params = f"{sql} AND id = ?", (target_id, sub_id)
        return [int(row["id"]) for row in await self._write(f"{sql} RETURNING id", params)]

    # -- channel digests -------------------------------------------------------------------

    async def set_digest(self, digest: ChannelDigest) -> ChannelDigest:
        """Turn a channel's digest on, or replace its settings."""
        rows = await self._write(
            f"INSERT INTO channel_digests ({DIGEST_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (target_id) DO UPDATE SET at = excluded.at, tz = excluded.tz, "
            "cadence = excluded.cadence, weekday = excluded.weekday, top_n = excluded.top_n, "
            "filter = excluded.filter, min_upvotes = excluded.min_upvotes, "
            "empty_days = excluded.empty_days, owner = excluded.owner, "
            f"next_fire = excluded.next_fire RETURNING {DIGEST_COLUMNS}",
            (
                digest.target_id,
                *schedule_params(digest.schedule),
                digest.top_n,
                digest.filter,
                digest.min_upvotes,
                digest.empty_days,
                digest.owner,
                ts(digest.created_at),
                ts(digest.next_fire),
            ),
        )
        return digest_from_row(rows[0])

    async def digest(self, target_id: int) -> ChannelDigest | None:
        rows = await self._rows(
            f"SELECT {DIGEST_COLUMNS} FROM channel_digests WHERE target_id = ?", (target_id,)
        )
        return digest_from_row(rows[0]) if rows else None

    async def remove_digest(self, target_id: int) -> bool:
        rows = await self._write(
            "DELETE FROM channel_digests WHERE target_id = ? RETURNING target_id", (target_id,)
        )
        return bool(rows)

    # -- what is due ------------------------------------------------------------------------

    async def due_subscriptions(self, now: datetime, *, limit: int = 5000) -> list[Subscription]:
        """Subscriptions whose ``next_fire`` has passed, earliest first (see :meth:`_due`)."""
        rows = await self._rows(
            f"SELECT {SUB_COLUMNS} FROM subscriptions WHERE next_fire <= ? "
            "ORDER BY next_fire, id LIMIT ?",
            (ts(now), limit),
        )
        return await self._due(rows, subscription_from_row, "subscriptions", "id")

    async def due_digests(self, now: datetime, *, limit: int = 5000) -> list[ChannelDigest]:
        """Channel digests whose ``next_fire`` has passed, earliest first."""
        rows = await self._rows(
            f"SELECT {DIGEST_COLUMNS} FROM channel_digests WHERE next_fire <= ? "
            "ORDER BY next_fire, target_id LIMIT ?",
            (ts(now), limit),
        )
        return await self._due(rows, digest_from_row, "channel_digests", "target_id")

    async def _due(
        self,
        rows: Sequence[sqlite3.Row],
        parse: Callable[[Row], _T],
        table: str,
        column: str,
    ) -> list[_T]:
        """Parse due rows. One that no longer parses (say its zone is missing from this
        host's tzdata) is logged and moved a day on, so it never blocks the others."""
        good, broken = parse_due(rows, parse, table, column)
        if broken:
            async with self._transaction() as conn:
                await conn.executemany(
                    f"UPDATE {table} SET next_fire = ? WHERE {column} = ?", broken
                )
        return good

    async def earliest_fire(self) -> datetime | None:
        """When the next schedule of any kind falls due (the alarm to set)."""
        rows = await self._rows(
            "SELECT MIN(f) FROM (SELECT MIN(next_fire) AS f FROM subscriptions "
            "UNION ALL SELECT MIN(next_fire) FROM channel_digests)"
        )
        return datetime.fromisoformat(rows[0][0]) if rows and rows[0][0] else None

    async def advance_many(
        self, kind: ScheduleKind, moves: Sequence[tuple[int, datetime, datetime]]
    ) -> None:
        """Move schedules' ``next_fire`` on: (key, was, next) each, in one transaction; a row
        whose ``next_fire`` is no longer *was* (a command just changed it) is left alone."""
        table, column = (
            ("subscriptions", "id") if kind == "sub" else ("channel_digests", "target_id")
        )
        async with self._transaction() as conn:
            await conn.executemany(
                f"UPDATE {table} SET next_fire = ? WHERE {column} = ? AND next_fire = ?",
                [(ts(new), key, ts(was)) for key, was, new in moves],
            )
