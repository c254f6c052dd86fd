"""Who is who: the bot's identity (``auth.test``) and a user's zone and roles (``users.info``).

Convert-in only: :func:`identity_from` and :func:`user_from` read the Web API's answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from adapters.slack.payloads import obj, text
from bot import UserInputError, parse_timezone


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the bot is in this workspace (from ``auth.test``)."""

    user_id: str
    name: str
    team_id: str
    bot_id: str | None


@dataclass(frozen=True, slots=True)
class SlackUser:
    """What ``users.info`` says about a user that the bot acts on."""

    user_id: str
    team_id: str | None
    timezone: str | None  # a valid IANA name, canonically spelled, else None
    is_admin: bool = False
    is_owner: bool = False
    is_primary_owner: bool = False

    @property
    def is_workspace_admin(self) -> bool:
        """An admin or owner of their workspace (Slack's own roles)."""
        return self.is_admin or self.is_owner or self.is_primary_owner


def identity_from(data: Mapping[str, object]) -> BotIdentity:
    """The bot's identity from an ``auth.test`` answer."""
    return BotIdentity(
        user_id=str(data.get("user_id", "")),
        name=str(data.get("user", "papersbot")),
        team_id=str(data.get("team_id", "")),
        bot_id=text(data.get("bot_id")),
    )


def user_from(data: Mapping[str, object], user: str) -> SlackUser:
    """*user* as a ``users.info`` answer describes them."""
    info = obj(data.get("user"))
    return SlackUser(
        user_id=text(info.get("id")) or user,
        team_id=text(info.get("team_id")),
        timezone=_zone(info.get("tz")),
        is_admin=info.get("is_admin") is True,
        is_owner=info.get("is_owner") is True,
        is_primary_owner=info.get("is_primary_owner") is True,
    )


def _zone(value: object) -> str | None:
    """*value* as a canonical IANA zone name the core accepts, else ``None``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_timezone(value)
    except UserInputError:
        return None
