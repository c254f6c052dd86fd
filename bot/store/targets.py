"""Delivery targets: a channel, or a user's DMs, on one platform and workspace.

A target is created on first use by the scheduling commands; a permanent delivery failure
(deleted channel, blocked DMs) disables it until its owner sets it up again, and its owner
is told once on their next command.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from bot.model.delivery import Kind, Target
from bot.store.records import (
    TARGET_COLUMNS,
    target_from_row,
)
from bot.store.rows import ts
from bot.store.section import Section, chunks


class Targets(Section):
    """The ``targets`` table."""

    _what = "targets"

    async def ensure(self, platform: str, workspace: str, kind: Kind, address: str) -> Target:
        """The target with these coordinates, created on first use."""
        await self._write_one(
            "INSERT INTO targets (platform, workspace, kind, address) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (platform, workspace, kind, address) DO NOTHING",
            (platform, workspace, kind, address),
        )
        found = await self.find(platform, workspace, kind, address)
        assert found is not None
        return found

    async def find(self, platform: str, workspace: str, kind: Kind, address: str) -> Target | None:
        """The target with these coordinates, if it exists (never creates one)."""
        row = await self._one(
            f"SELECT {TARGET_COLUMNS} "
            "FROM targets WHERE platform = ? AND workspace = ? AND kind = ? AND address = ?",
            (platform, workspace, kind, address),
        )
        return target_from_row(row) if row is not None else None

    async def by_id(self, target_id: int) -> Target | None:
        row = await self._one(f"SELECT {TARGET_COLUMNS} FROM targets WHERE id = ?", (target_id,))
        return target_from_row(row) if row is not None else None

    async def enable(self, target_id: int, *, owner: str | None = None) -> None:
        """Deliver to a target again (its owner set it up anew) and record who owns it."""
        await self._write_one(
            "UPDATE targets SET disabled_at = NULL, disabled_reason = NULL, owner_told = 0, "
            "suspended = 0, owner = COALESCE(?, owner) WHERE id = ?",
            (owner, target_id),
        )

    async def untold(self, platform: str, user_id: str) -> list[Target]:
        """Disabled targets this user owns and has not been told about yet; marks them told.

        Asked on every command: it reads first (a partial index keeps that cheap) and writes
        only when there is something to tell, so commands answer while another process holds
        the write lock."""
        where = (
            "platform = ? AND disabled_at IS NOT NULL AND owner_told = 0 "
            "AND (owner = ? OR (kind = 'user' AND address = ?))"
        )
        params = (platform, user_id, user_id)
        if await self._one(f"SELECT 1 FROM targets WHERE {where} LIMIT 1", params) is None:
            return []
        rows = await self._write(
            f"UPDATE targets SET owner_told = 1 WHERE {where} RETURNING {TARGET_COLUMNS}",
            params,
        )
        return [target_from_row(row) for row in rows]

    async def disable(self, target_id: int, *, now: datetime, reason: str) -> None:
        """Stop delivering to a target after a permanent failure (deleted channel, blocked DMs)."""
        await self._write_one(
            "UPDATE targets SET disabled_at = ?, disabled_reason = ?, owner_told = 0 "
            "WHERE id = ? AND disabled_at IS NULL",
            (ts(now), reason, target_id),
        )

    async def suspend_workspace(
        self, platform: str, workspaces: Sequence[str], *, now: datetime, reason: str
    ) -> int:
        """Stop every live target of *workspaces* (the bot was uninstalled there); return
        how many. Nobody is told: nobody there can ask the bot any more."""
        rows = await self._rows_in_write(
            "UPDATE targets SET disabled_at = ?, disabled_reason = ?, owner_told = 1, "
            "suspended = 1 WHERE platform = ? AND workspace IN ({ids}) "
            "AND disabled_at IS NULL RETURNING id",
            workspaces,
            before=(ts(now), reason, platform),
        )
        return len(rows)

    async def resume_workspace(self, platform: str, workspaces: Sequence[str]) -> int:
        """Deliver again to the targets :meth:`suspend_workspace` stopped in *workspaces*
        (the bot was installed again); return how many."""
        rows = await self._rows_in_write(
            "UPDATE targets SET disabled_at = NULL, disabled_reason = NULL, owner_told = 0, "
            "suspended = 0 WHERE platform = ? AND workspace IN ({ids}) AND suspended = 1 "
            "RETURNING id",
            workspaces,
            before=(platform,),
        )
        return len(rows)

    async def _rows_in_write(
        self, sql: str, ids: Sequence[str], *, before: Sequence[object]
    ) -> list[sqlite3.Row]:
        """*sql* (an ``UPDATE ... IN ({ids}) RETURNING``) for *ids*, in one transaction."""
        found: list[sqlite3.Row] = []
        async with self._transaction() as conn:
            for chunk in chunks(list(ids)):
                marks = ", ".join("?" * len(chunk))
                async with conn.execute(sql.format(ids=marks), [*before, *chunk]) as cur:
                    found += list(await cur.fetchall())
        return found

    async def disabled(self) -> set[int]:
        rows = await self._rows("SELECT id FROM targets WHERE disabled_at IS NOT NULL")
        return {int(row["id"]) for row in rows}
