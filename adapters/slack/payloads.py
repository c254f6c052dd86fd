"""Reading Slack's JSON: who sent a request, from where, and what they typed.

Convert-in only: no I/O. Bolt and slack_sdk hand over plain dicts; :func:`obj`,
:func:`objects` and :func:`text` narrow one field at a time (a missing or oddly typed field
reads as empty instead of raising inside a listener), and the rest turn a slash-command or
``block_actions`` payload into the core's :class:`Caller` and command text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot import Caller

COMMAND = "/papers"
_SLACK_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


def obj(value: object) -> Mapping[str, object]:
    """*value* if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def objects(value: object) -> list[Mapping[str, object]]:
    """The JSON objects in *value* if it is a list (anything else in it is skipped)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text(value: object) -> str | None:
    """*value* if it is a non-empty string, else ``None``."""
    return value if isinstance(value, str) and value else None


def command_text(typed: str) -> str:
    """What the user typed, with Slack's escaping undone: ``<url|label>`` → ``url``,
    ``<@U1|ann>`` → ``@ann``, ``<#C1|general>`` → ``#general``, ``&amp;`` → ``&``."""

    def plain(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target[:1] in "@#!":
            return target[0].replace("!", "@") + (label or target[1:]).lstrip("@#")
        return target

    typed = _SLACK_LINK.sub(plain, typed)
    return typed.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def command_verb(typed: str) -> str:
    """The lower-cased first word of a command (after an optional ``/papers``)."""
    typed = typed.strip()
    if typed.lower().startswith(COMMAND):
        typed = typed[len(COMMAND) :]
    words = typed.split(maxsplit=1)
    return words[0].lower() if words else ""


def caller_from_command(command: Mapping[str, object]) -> Caller:
    """The :class:`Caller` of a slash-command payload."""
    return Caller(
        platform="slack",
        user_id=text(command.get("user_id")) or "",
        user_name=text(command.get("user_name")) or "someone",
        channel_id=text(command.get("channel_id")),
        workspace_id=text(command.get("team_id")),
    )


def caller_from_action(body: Mapping[str, object]) -> Caller:
    """The :class:`Caller` of a ``block_actions`` payload."""
    user = obj(body.get("user"))
    channel = text(obj(body.get("channel")).get("id")) or text(
        obj(body.get("container")).get("channel_id")
    )
    return Caller(
        platform="slack",
        user_id=text(user.get("id")) or "",
        user_name=text(user.get("username")) or text(user.get("name")) or "someone",
        channel_id=channel,
        workspace_id=text(obj(body.get("team")).get("id")) or text(user.get("team_id")),
    )
