"""Where the bot is installed, and the one-time ``state`` values of install flows, on
PostgreSQL. Behaves as :mod:`bot.store.installations` (opaque sealed payloads, ``''`` for
an id that does not apply, only the latest row per key).

Shared by every process: a ``state`` issued by one Slack HTTP worker is consumed by
whichever worker gets the redirect, exactly once (``DELETE ... RETURNING`` takes the row
from under any other consumer).
"""

from __future__ import annotations

from datetime import datetime

from bot.store.pg.section import PgSection
from bot.store.records import (
    INSTALL_COLUMNS,
    InstallKey,
    InstallKind,
    SealedRow,
    sealed_from_row,
)
from bot.store.rows import ts

_TEAM = "platform = $1 AND kind = $2 AND enterprise_id = $3 AND team_id = $4"


def _where(key: InstallKey, *, any_user: bool) -> tuple[str, list[object]]:
    """The WHERE clause naming *key* (all its users with *any_user*) and its parameters."""
    params: list[object] = [key.platform, key.kind, key.enterprise, key.team]
    if any_user:
        return _TEAM, params
    return f"{_TEAM} AND user_id = $5", [*params, key.user]


class PgInstallations(PgSection):
    """The ``installations`` table."""

    _what = "installations"

    async def save(self, key: InstallKey, installed_at: datetime, payload: bytes) -> None:
        """Store *payload* under *key*, replacing what was there."""
        await self._write(
            "INSERT INTO installations "
            "(platform, kind, enterprise_id, team_id, user_id, installed_at, payload) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT (platform, kind, enterprise_id, team_id, user_id) DO UPDATE SET "
            "installed_at = excluded.installed_at, payload = excluded.payload",
            key.platform,
            key.kind,
            key.enterprise,
            key.team,
            key.user,
            ts(installed_at),
            payload,
        )

    async def latest(self, key: InstallKey, *, any_user: bool = False) -> SealedRow | None:
        """The row under *key*; with *any_user*, the newest of the team's rows whatever
        its user."""
        where, params = _where(key, any_user=any_user)
        row = await self._one(
            f"SELECT {INSTALL_COLUMNS} FROM installations WHERE {where} "
            "ORDER BY installed_at DESC, id DESC LIMIT 1",
            *params,
        )
        return sealed_from_row(row) if row is not None else None

    async def for_team(self, platform: str, kind: InstallKind, team: str) -> SealedRow | None:
        """The newest row of *kind* for *team*, whatever its enterprise."""
        row = await self._one(
            f"SELECT {INSTALL_COLUMNS} FROM installations WHERE platform = $1 AND kind = $2 "
            "AND team_id = $3 AND team_id <> '' ORDER BY installed_at DESC, id DESC LIMIT 1",
            platform,
            kind,
            team,
        )
        return sealed_from_row(row) if row is not None else None

    async def delete(self, key: InstallKey, *, any_user: bool = False) -> int:
        """Delete the row under *key* (with *any_user*: every row of its kind and team);
        return how many went."""
        where, params = _where(key, any_user=any_user)
        rows = await self._write(f"DELETE FROM installations WHERE {where} RETURNING id", *params)
        return len(rows)

    async def rows(self, platform: str) -> list[SealedRow]:
        """Every row of *platform* (to check that the key opens them, or re-seal them)."""
        found = await self._rows(
            f"SELECT {INSTALL_COLUMNS} FROM installations WHERE platform = $1 ORDER BY id",
            platform,
        )
        return [sealed_from_row(row) for row in found]

    async def reseal(self, row_id: int, payload: bytes) -> None:
        """Replace one row's payload with the same data sealed again (a new key)."""
        await self._write("UPDATE installations SET payload = $1 WHERE id = $2", payload, row_id)

    async def workspaces(self, platform: str) -> int:
        """How many workspaces (or organisations) have the bot installed."""
        count = await self._value(
            "SELECT count(*) FROM installations WHERE platform = $1 AND kind = 'bot'", platform
        )
        return int(count or 0)


class PgOAuthStates(PgSection):
    """The ``oauth_states`` table: each ``state`` of an install flow, usable once."""

    _what = "oauth states"

    async def issue(self, state: str, *, now: datetime, expires_at: datetime) -> None:
        """Remember *state* until *expires_at*; states that expired are pruned on the way."""
        async with self._transaction() as conn:
            await conn.execute("DELETE FROM oauth_states WHERE expires_at <= $1", ts(now))
            await conn.execute(
                "INSERT INTO oauth_states (state, expires_at) VALUES ($1, $2)",
                state,
                ts(expires_at),
            )

    async def consume(self, state: str, *, now: datetime) -> bool:
        """Whether *state* was issued and has not expired; it cannot be used again either way."""
        row = await self._write_one(
            "DELETE FROM oauth_states WHERE state = $1 RETURNING expires_at", state
        )
        return row is not None and str(row["expires_at"]) > ts(now)

    async def outstanding(self, now: datetime) -> int:
        """States issued and still usable (abuse is bounded by the caller with this)."""
        count = await self._value(
            "SELECT count(*) FROM oauth_states WHERE expires_at > $1", ts(now)
        )
        return int(count or 0)
