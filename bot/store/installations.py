"""Where the bot is installed, and the one-time ``state`` values of install flows.

Platform-free and opaque: a row is keyed by (platform, kind, enterprise, team, user) and
carries a *sealed* payload (bytes encrypted by :mod:`bot.service.sealing`); this module
never sees a token in clear and knows nothing of any platform's SDK. ``kind`` is ``bot``
(the workspace's bot credentials) or ``installation`` (one installer's record). An id
that does not apply (no enterprise, an org-wide install with no team) is stored as ``''``.
Only the latest row per key is kept: an old token is a liability, not history.
"""

from __future__ import annotations

from datetime import datetime

from bot.store.records import (
    INSTALL_COLUMNS,
    InstallKey,
    InstallKind,
    SealedRow,
    sealed_from_row,
)
from bot.store.rows import ts
from bot.store.section import Section


class Installations(Section):
    """The ``installations`` table."""

    _what = "installations"

    async def save(self, key: InstallKey, installed_at: datetime, payload: bytes) -> None:
        """Store *payload* under *key*, replacing what was there."""
        await self._write(
            "INSERT INTO installations "
            "(platform, kind, enterprise_id, team_id, user_id, installed_at, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (platform, kind, enterprise_id, team_id, user_id) DO UPDATE SET "
            "installed_at = excluded.installed_at, payload = excluded.payload",
            (*_params(key), ts(installed_at), payload),
        )

    async def latest(self, key: InstallKey, *, any_user: bool = False) -> SealedRow | None:
        """The row under *key*; with *any_user*, the newest of the team's rows whatever
        its user."""
        where = "platform = ? AND kind = ? AND enterprise_id = ? AND team_id = ?"
        params: list[object] = list(_params(key)[:4])
        if not any_user:
            where += " AND user_id = ?"
            params.append(key.user)
        row = await self._one(
            f"SELECT {INSTALL_COLUMNS} FROM installations WHERE {where} "
            "ORDER BY installed_at DESC, id DESC LIMIT 1",
            params,
        )
        return sealed_from_row(row) if row is not None else None

    async def for_team(self, platform: str, kind: InstallKind, team: str) -> SealedRow | None:
        """The newest row of *kind* for *team*, whatever its enterprise."""
        row = await self._one(
            f"SELECT {INSTALL_COLUMNS} FROM installations WHERE platform = ? AND kind = ? "
            "AND team_id = ? AND team_id != '' ORDER BY installed_at DESC, id DESC LIMIT 1",
            (platform, kind, team),
        )
        return sealed_from_row(row) if row is not None else None

    async def delete(self, key: InstallKey, *, any_user: bool = False) -> int:
        """Delete the row under *key* (with *any_user*: every row of its kind and team);
        return how many went."""
        where = "platform = ? AND kind = ? AND enterprise_id = ? AND team_id = ?"
        params: list[object] = list(_params(key)[:4])
        if not any_user:
            where += " AND user_id = ?"
            params.append(key.user)
        rows = await self._write(f"DELETE FROM installations WHERE {where} RETURNING id", params)
        return len(rows)

    async def rows(self, platform: str) -> list[SealedRow]:
        """Every row of *platform* (to check that the key opens them, or re-seal them)."""
        found = await self._rows(
            f"SELECT {INSTALL_COLUMNS} FROM installations WHERE platform = ? ORDER BY id",
            (platform,),
        )
        return [sealed_from_row(row) for row in found]

    async def reseal(self, row_id: int, payload: bytes) -> None:
        """Replace one row's payload with the same data sealed again (a new key)."""
        await self._write("UPDATE installations SET payload = ? WHERE id = ?", (payload, row_id))

    async def workspaces(self, platform: str) -> int:
        """How many workspaces (or organisations) have the bot installed."""
        row = await self._one(
            "SELECT count(*) AS n FROM installations WHERE platform = ? AND kind = 'bot'",
            (platform,),
        )
        return int(row["n"]) if row is not None else 0


def _params(key: InstallKey) -> tuple[str, str, str, str, str]:
    return (key.platform, key.kind, key.enterprise, key.team, key.user)


class OAuthStates(Section):
    """The ``oauth_states`` table: each ``state`` of an install flow, usable once."""

    _what = "oauth states"

    async def issue(self, state: str, *, now: datetime, expires_at: datetime) -> None:
        """Remember *state* until *expires_at*; states that expired are pruned on the way."""
        async with self._transaction() as conn:
            await conn.execute("DELETE FROM oauth_states WHERE expires_at <= ?", (ts(now),))
            await conn.execute(
                "INSERT INTO oauth_states (state, expires_at) VALUES (?, ?)",
                (state, ts(expires_at)),
            )

    async def consume(self, state: str, *, now: datetime) -> bool:
        """Whether *state* was issued and has not expired; it cannot be used again either way."""
        row = await self._write_one(
            "DELETE FROM oauth_states WHERE state = ? RETURNING expires_at", (state,)
        )
        return row is not None and str(row["expires_at"]) > ts(now)

    async def outstanding(self, now: datetime) -> int:
        """States issued and still usable (abuse is bounded by the caller with this)."""
        row = await self._one(
            "SELECT count(*) AS n FROM oauth_states WHERE expires_at > ?", (ts(now),)
        )
        return int(row["n"]) if row is not None else 0
