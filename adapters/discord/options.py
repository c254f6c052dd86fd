"""Typed slash-command options converted into the core's commands, and zone suggestions.

Discord's typed limits (lengths, ranges, choices) apply first; free text (a time, a zone, an
id) then goes through the core's own parsers here, so a bad value raises the
:class:`~bot.errors.UserInputError` a Slack user would get. No I/O.
"""

from __future__ import annotations

import functools
from typing import Literal
from zoneinfo import available_timezones

from discord import app_commands

from bot import (
    Cadence,
    DigestOn,
    DigestOptions,
    EmptyDays,
    Subscribe,
    UserInputError,
    When,
    parse_cadence,
    parse_time,
    parse_timezone,
)

HelpTopic = Literal["search", "digest", "today", "show", "status"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def when_from(at: str | None, tz: str | None, cadence: Cadence | None, day: Weekday | None) -> When:
    """The typed schedule options as the core's :class:`When` (``UserInputError`` if bad).

    A *day* alone means weekly on that day; a day with ``daily`` or ``weekdays`` is
    refused by the core's cadence parser, with its usual hint.
    """
    words = [cadence or ("weekly" if day else None), day]
    cadence_text = " ".join(word for word in words if word)
    parsed = parse_cadence(cadence_text) if cadence_text else (None, 0)
    return When(
        at=parse_time(at) if at is not None else None,
        tz=parse_timezone(tz) if tz is not None else None,
        cadence=parsed[0],
        weekday=parsed[1],
    )


def subscribe_command(
    query: str,
    at: str | None = None,
    tz: str | None = None,
    cadence: Cadence | None = None,
    day: Weekday | None = None,
) -> Subscribe:
    """``/papers subscribe``'s options as the core's :class:`Subscribe`."""
    when = when_from(at, tz, cadence, day)
    if not query.strip():
        raise UserInputError("Subscribe to what? Give a query, like `diffusion OR flow matching`.")
    return Subscribe(" ".join(query.split()), when)


def digest_on_command(
    when: When, top: int, min_upvotes: int, empty_days: EmptyDays, filter_: str | None
) -> DigestOn:
    """``/papers digest on``'s options as the core's :class:`DigestOn`."""
    query = " ".join((filter_ or "").split())
    return DigestOn(DigestOptions(when, top, query, min_upvotes, empty_days))


def zone_choices(current: str, limit: int = 25) -> list[app_commands.Choice[str]]:
    """IANA zones containing what the user typed so far (spaces match ``_``), best first."""
    key = "_".join(current.lower().split())

    def rank(zone: str) -> tuple[int, bool, str]:
        lower = zone.lower()
        starts = lower.startswith(key) or lower.rsplit("/", 1)[-1].startswith(key)
        return (0 if lower == key else 1 if starts else 2), zone.count("/") != 1, zone

    found = sorted((zone for zone in _zones() if key in zone.lower()), key=rank)
    return [app_commands.Choice(name=zone, value=zone) for zone in found[:limit]]


@functools.cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones() - {"Factory", "localtime", "posixrules"}))
