"""Delivery targets on PostgreSQL: the behaviour of :mod:`bot.store.targets`.

A target is created on first use by the scheduling commands; a permanent delivery failure
(deleted channel, blocked DMs) disables it until its owner sets it up again, and its owner
is told once on their next command. Several processes may create the same target at once:
``ON CONFLICT DO NOTHING`` on its coordinates keeps it one row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.model.delivery import Kind, Target
from bot.store.pg.section import PgSection
from bot.store.records import TARGET_COLUMNS, target_from_row
from bot.store.rows import ts

_UNTOLD = (
    "platform = $1 AND disabled_at IS NOT NULL AND owner_told = 0 "
    "AND (owner = $2 OR (kind = 'user' AND address = $2))"
)


class PgTargets(PgSection):
    """The ``targets`` table."""

    _what = "targets"

    async def ensure(self, platform: str, workspace: str, kind: Kind, address: str) -> Target:
        """The target with these coordinates, created on first use."""
        await self._write(
            "INSERT INTO targets (platform, workspace, kind, address) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (platform, workspace, kind, address) DO NOTHING",
            platform,
            workspace,
            kind,
            address,
        )
        found = await self.find(platform, workspace, kind, address)
        assert found is not None  # targets are never deleted
        return found

    async def find(self, platform: str, workspace: str, kind: Kind, address: str) -> Target | None:
        """The target with these coordinates, if it exists (never creates one)."""
        row = await self._one(
            f"SELECT {TARGET_COLUMNS} FROM targets "
            "WHERE platform = $1 AND workspace = $2 AND kind = $3 AND address = $4",
            platform,
            workspace,
            kind,
            address,
        )
        return target_from_row(row) if row is not None else None

    async def by_id(self, target_id: int) -> Target | None:
        row = await self._one(f"SELECT {TARGET_COLUMNS} FROM targets WHERE id = $1", target_id)
        return target_from_row(row) if row is not None else None

    async def enable(self, target_id: int, *, owner: str | None = None) -> None:
        """Deliver to a target again (its owner set it up anew) and record who owns it."""
        await self._write(
            "UPDATE targets SET disabled_at = NULL, disabled_reason = NULL, owner_told = 0, "
            "suspended = 0, owner = COALESCE($1, owner) WHERE id = $2",
            owner,
            target_id,
        )

    async def untold(self, platform: str, user_id: str) -> list[Target]:
        """Disabled targets this user owns and has not been told about yet; marks them told.

        Asked on every command: it reads first (a partial index keeps that cheap) and writes
        only when there is something to tell."""
        if await self._one(f"SELECT 1 FROM targets WHERE {_UNTOLD} LIMIT 1", platform, user_id):
            rows = await self._write(
                f"UPDATE targets SET owner_told = 1 WHERE {_UNTOLD} RETURNING {TARGET_COLUMNS}",
                platform,
                user_id,
            )
            return [target_from_row(row) for row in sorted(rows, key=lambda r: int(r["id"]))]
        return []

    async def disable(self, target_id: int, *, now: datetime, reason: str) -> None:
        """Stop delivering to a target after a permanent failure (deleted channel, blocked DMs)."""
        await self._write(
            "UPDATE targets SET disabled_at = $1, disabled_reason = $2, owner_told = 0 "
            "WHERE id = $3 AND disabled_at IS NULL",
            ts(now),
            reason,
            target_id,
        )

    async def suspend_workspace(
        self, platform: str, workspaces: Sequence[str], *, now: datetime, reason: str
    ) -> int:
        """Stop every live target of *workspaces* (the bot was uninstalled there); return
        how many. Nobody is told: nobody there can ask the bot any more."""
        rows = await self._write(
            "UPDATE targets SET disabled_at = $1, disabled_reason = $2, owner_told = 1, "
            "suspended = 1 WHERE platform = $3 AND workspace = ANY($4::text[]) "
            "AND disabled_at IS NULL RETURNING id",
            ts(now),
            reason,
            platform,
            list(workspaces),
        )
        return len(rows)

    async def resume_workspace(self, platform: str, workspaces: Sequence[str]) -> int:
        """Deliver again to the targets :meth:`suspend_workspace` stopped in *workspaces*
        (the bot was installed again); return how many."""
        rows = await self._write(
            "UPDATE targets SET disabled_at = NULL, disabled_reason = NULL, owner_told = 0, "
            "suspended = 0 WHERE platform = $1 AND workspace = ANY($2::text[]) "
            "AND suspended = 1 RETURNING id",
            platform,
            list(workspaces),
        )
        return len(rows)

    async def disabled(self) -> set[int]:
        rows = await self._rows("SELECT id FROM targets WHERE disabled_at IS NOT NULL")
        return {int(row["id"]) for row in rows}
