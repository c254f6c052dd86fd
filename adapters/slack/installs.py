"""Bolt's installation and OAuth-state stores, kept in papersbot's own store.

:class:`InstallationStore` implements slack_sdk's ``AsyncInstallationStore`` over the core's
:class:`bot.WorkspaceInstalls`: an :class:`Installation` or :class:`Bot` is converted to a
plain JSON object here, and the core seals it (Fernet) before it reaches the database. Look-ups
follow slack_sdk's own SQL stores: an org-wide (Enterprise Grid) install is keyed by its
enterprise id with no team; ``find_installation`` without a user is the team's latest
install, with a user that user's; either carries the workspace's newest bot credentials.

:class:`StateStore` implements ``AsyncOAuthStateStore``: each ``state`` is 32 random bytes,
usable once, for ``state_expiration_seconds``; at most
:data:`bot.service.installs.MAX_PENDING_STATES` flows are pending at once
(:class:`TooManyInstalls` beyond that).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any, TypeVar

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot import InstallKey, PapersbotError, WorkspaceInstalls

log = logging.getLogger(__name__)

PLATFORM = "slack"
_T = TypeVar("_T", Bot, Installation)


class TooManyInstalls(PapersbotError):
    """Too many install flows are pending; a new one is refused for now."""


def _plain(data: dict[str, Any]) -> dict[str, object]:
    """slack_sdk's copy dict as JSON values (instants as ISO 8601, which it reads back)."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}


def _key(
    kind: str, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
) -> InstallKey:
    return InstallKey(
        PLATFORM,
        "bot" if kind == "bot" else "installation",
        enterprise_id or "",
        team_id or "",
        user_id or "",
    )


def _team(team_id: str | None, is_enterprise_install: bool | None) -> str | None:
    """An org-wide install is stored without a team, and looked up the same way."""
    return None if is_enterprise_install else team_id


class InstallationStore(AsyncInstallationStore):
    """slack_sdk's installation store on papersbot's store (see the module docstring)."""

    def __init__(self, installs: WorkspaceInstalls) -> None:
        self._installs = installs

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        team = _team(installation.team_id, installation.is_enterprise_install)
        key = _key("installation", installation.enterprise_id, team, installation.user_id)
        await self._installs.save(key, _plain(installation.to_dict_for_copying()))
        if installation.bot_token is not None:
            await self.async_save_bot(installation.to_bot())

    async def async_save_bot(self, bot: Bot) -> None:
        key = _key("bot", bot.enterprise_id, _team(bot.team_id, bot.is_enterprise_install))
        await self._installs.save(key, _plain(bot.to_dict_for_copying()))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        key = _key("bot", enterprise_id, _team(team_id, is_enterprise_install))
        data = await self._installs.find(key)
        return build_record(Bot, data)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        team = _team(team_id, is_enterprise_install)
        key = _key("installation", enterprise_id, team, user_id)
        found = build_record(Installation, await self._installs.find(key, any_user=user_id is None))
        if found is None:
            return None
        # An installation row keeps the bot token of its day; the bot row is the newest (a
        # refresh by the courier saves only the bot), and a stale refresh token is refused.
        bot = await self.async_find_bot(
            enterprise_id=enterprise_id, team_id=team, is_enterprise_install=is_enterprise_install
        )
        if bot is not None:
            found.bot_token, found.bot_id = bot.bot_token, bot.bot_id
            found.bot_user_id, found.bot_scopes = bot.bot_user_id, bot.bot_scopes
            found.bot_refresh_token = bot.bot_refresh_token
            found.bot_token_expires_at = bot.bot_token_expires_at
        return found

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._installs.delete(_key("bot", enterprise_id, team_id))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        key = _key("installation", enterprise_id, team_id, user_id)
        await self._installs.delete(key, any_user=user_id is None)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)


def build_record(cls: type[_T], data: dict[str, object] | None) -> _T | None:
    """*cls* from a stored record; a record this slack_sdk cannot read is logged, not used."""
    if data is None:
        return None
    try:
        return cls(**data)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        log.error("a stored Slack %s cannot be read: %s", cls.__name__, type(exc).__name__)
        return None


class StateStore(AsyncOAuthStateStore):
    """One-time ``state`` values of install flows, in papersbot's store."""

    def __init__(self, installs: WorkspaceInstalls, *, expiration_seconds: int) -> None:
        self._installs = installs
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        state = secrets.token_urlsafe(32)
        if not await self._installs.issue_state(state, lifetime_seconds=self.expiration_seconds):
            raise TooManyInstalls("too many installs are in progress")
        return state

    async def async_consume(self, state: str) -> bool:
        if not isinstance(state, str) or not 0 < len(state) <= 100:
            return False
        return await self._installs.consume_state(state)
