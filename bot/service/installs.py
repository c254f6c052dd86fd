"""Where the bot is installed: each workspace's credentials, sealed at rest, and what an
install or an uninstall does to that workspace's scheduled deliveries.

Adapters of platforms with per-workspace installs (Slack's OAuth v2 flow) keep their
installation records here through :class:`WorkspaceInstalls`, as plain JSON objects; the
store (:mod:`bot.store.installations`) only ever sees them sealed (:mod:`.sealing`). The
core knows nothing of the platform's record format: an adapter converts to and from its
SDK's own types.

* Saving a workspace's bot credentials resumes its deliveries that an uninstall stopped.
* :meth:`WorkspaceInstalls.uninstalled` deletes its credentials and stops its channel
  digests and DMs (each recorded as stopped, with the reason, and never retried).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from bot.errors import ConfigError
from bot.service.sealing import SETTING, SealBroken, Sealer
from bot.store.contract import Database
from bot.store.records import InstallKey

log = logging.getLogger(__name__)

UNINSTALLED = "the bot was removed from this workspace; reinstalling it resumes this"
MAX_PENDING_STATES = 10_000  # install flows in progress at once (each state lives minutes)

__all__ = ["MAX_PENDING_STATES", "UNINSTALLED", "InstallKey", "WorkspaceInstalls"]


class WorkspaceInstalls:
    """Installation records of one store, sealed by *sealer*; see the module docstring."""

    def __init__(self, store: Database, sealer: Sealer, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._sealer = sealer
        self._clock = clock

    def exclusive(self, name: str) -> AbstractAsyncContextManager[None]:
        """Hold *name* against every process sharing the store (a token refresh)."""
        return self._store.exclusive(name)

    async def save(self, key: InstallKey, data: Mapping[str, object]) -> None:
        """Store *data* (a JSON object) sealed under *key*; a bot record resumes the
        workspace's deliveries that an uninstall had stopped."""
        await self._store.installations.save(key, self._clock(), self._sealer.seal(data))
        if key.kind == "bot" and (workspace := key.team or key.enterprise):
            resumed = await self._store.targets.resume_workspace(key.platform, [workspace])
            if resumed:
                log.info(
                    "%s workspace %s is back: %d targets resumed", key.platform, workspace, resumed
                )

    async def find(self, key: InstallKey, *, any_user: bool = False) -> dict[str, object] | None:
        """The record under *key* (with *any_user*: the team's newest of that kind), or
        ``None``; one that the key cannot open is logged and treated as absent."""
        row = await self._store.installations.latest(key, any_user=any_user)
        if row is None:
            return None
        try:
            return self._sealer.open(row.payload)
        except SealBroken as exc:
            log.error("%s installation %d: %s", key.platform, row.id, exc)
            return None

    async def delete(self, key: InstallKey, *, any_user: bool = False) -> int:
        """Delete the record under *key* (with *any_user*: all of its kind and team)."""
        return await self._store.installations.delete(key, any_user=any_user)

    async def uninstalled(
        self, platform: str, enterprise: str, team: str, *, reason: str = UNINSTALLED
    ) -> int:
        """The bot was removed from the install (*enterprise*, *team*; *team* ``''`` for an
        org-wide one): forget every credential of it and stop its deliveries (targets of
        workspace *team*, or *enterprise* for an org-wide install); return how many stopped."""
        for kind in ("bot", "installation"):
            key = InstallKey(platform, kind, enterprise, team)
            await self._store.installations.delete(key, any_user=True)
        return await self.suspend(platform, [team or enterprise], reason=reason)

    async def find_workspace(self, platform: str, workspace: str) -> dict[str, object] | None:
        """The bot record that serves *workspace*: the team's own install (whatever its
        enterprise), else the org-wide install of an enterprise with that id."""
        row = await self._store.installations.for_team(platform, "bot", workspace)
        if row is None:
            key = InstallKey(platform, "bot", enterprise=workspace)
            row = await self._store.installations.latest(key)
        if row is None:
            return None
        try:
            return self._sealer.open(row.payload)
        except SealBroken as exc:
            log.error("%s installation %d: %s", platform, row.id, exc)
            return None

    async def suspend(self, platform: str, teams: Sequence[str], *, reason: str) -> int:
        """Stop the deliveries of *teams* (credentials gone or refused) until a reinstall."""
        teams = [team for team in teams if team]
        if not teams:
            return 0
        stopped = await self._store.targets.suspend_workspace(
            platform, teams, now=self._clock(), reason=reason
        )
        log.warning("%s workspaces %s: %d targets stopped (%s)", platform, teams, stopped, reason)
        return stopped

    async def workspaces(self, platform: str) -> int:
        """How many workspaces have the bot installed (for ``status``; no secrets)."""
        return await self._store.installations.workspaces(platform)

    async def check(self, platform: str) -> int:
        """At start: every stored record must open with the configured key, else a
        :class:`ConfigError` naming :data:`SETTING`; records sealed under an older key
        (listed after the first) are re-sealed under the first. Returns the record count."""
        rows = await self._store.installations.rows(platform)
        broken = 0
        for row in rows:
            try:
                data = self._sealer.open(row.payload)
            except SealBroken:
                broken += 1
                continue
            if not self._sealer.current(row.payload):
                await self._store.installations.reseal(row.id, self._sealer.seal(data))
        if broken:
            raise ConfigError(
                f"{SETTING} cannot decrypt {broken} of the {len(rows)} stored {platform} "
                "installations: set the key they were stored with (to change keys, put the "
                "new key first and the old one after a comma)"
            )
        return len(rows)

    async def issue_state(self, state: str, *, lifetime_seconds: float) -> bool:
        """Remember a one-time install ``state``; ``False`` (nothing stored) when too many
        install flows are already in progress."""
        now = self._clock()
        states = self._store.oauth_states
        if await states.outstanding(now) >= MAX_PENDING_STATES:
            return False
        expires = datetime.fromtimestamp(now.timestamp() + lifetime_seconds, tz=now.tzinfo)
        await states.issue(state, now=now, expires_at=expires)
        return True

    async def consume_state(self, state: str) -> bool:
        """Whether *state* was issued here, is unexpired and unused; it is used up now."""
        return await self._store.oauth_states.consume(state, now=self._clock())
