"""The ``/papers`` app-command group: typed subcommands converted into core commands.

Discord's typed limits (lengths, ranges, choices) apply first; free text (a time, a zone, an
id) then goes through the core's own parsers, so a bad value gets the sentence a Slack user
would get. :func:`papers_group` builds the group; :class:`~adapters.discord.client.PapersClient`
adds it to its command tree.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Literal
from zoneinfo import available_timezones

import discord
from discord import app_commands

from adapters.discord.views import (
    answer,
    caller_for,
)
from bot import (
    DEFAULT_COUNT,
    DEFAULT_TOP,
    MAX_COUNT,
    MAX_MIN_UPVOTES,
    MAX_QUERY_CHARS,
    MAX_TOP,
    Cadence,
    Command,
    DigestOff,
    DigestOn,
    DigestOptions,
    DigestStatus,
    EmptyDays,
    Help,
    PapersBot,
    Reply,
    Search,
    Show,
    Status,
    Subscribe,
    Subscriptions,
    Today,
    UserInputError,
    When,
    parse_cadence,
    parse_time,
    parse_timezone,
    parse_unsubscribe,
    require_id,
)

log = logging.getLogger(__name__)

HelpTopic = Literal["search", "digest", "today", "show", "status"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_QUERY_HINT = 'Words, "a phrase", -exclude, a OR b, author:name, since:30d, sort:new'
_MAX_TIME = 20  # "12:30 pm" and friends; the core parses and explains anything longer
_MAX_ZONE = 64  # the longest IANA name is 32 characters


def _bot(interaction: discord.Interaction[Any]) -> PapersBot:
    """The core bot behind the client that received *interaction* (a PapersClient)."""
    bot = getattr(interaction.client, "papers", None)
    if not isinstance(bot, PapersBot):
        raise TypeError("papersbot commands need a PapersClient")
    return bot


async def _say(reply: Reply) -> Reply:
    return reply


async def _run(interaction: discord.Interaction[Any], build: Callable[[], Command]) -> None:
    """Build the command from the typed options and let the core answer it.

    The options are converted with the core's own parsers, so a value Discord's typed
    limits let through but the core rejects gets the very sentence Slack users get, through
    the same rendering path as the core's error replies.
    """
    try:
        command = build()
    except UserInputError as exc:
        await answer(interaction, _say(Reply(text=str(exc), is_error=True)))
        return
    bot = _bot(interaction)
    await answer(interaction, bot.run_command(command, caller_for(interaction)))


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


async def _complete_zone(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    return zone_choices(current)


_DESCRIBE_WHEN = {
    "at": "Time of day, like 08:00, 20:30 or 8am",
    "tz": "IANA time zone, like Europe/Berlin or UTC",
    "cadence": "daily, weekdays or weekly",
    "day": "The day for weekly (weekly alone means Mondays)",
}


def papers_group() -> app_commands.Group:
    """The ``/papers`` command group with its typed, described subcommands."""
    group = app_commands.Group(
        name="papers",
        description="Trending research papers from Hugging Face Daily Papers",
        allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=True),
        allowed_installs=app_commands.AppInstallationType(guild=True),
    )

    @group.command(name="today", description="Top papers of the latest Daily Papers day")
    @app_commands.describe(count=f"How many papers, 1 to {MAX_COUNT} (default {DEFAULT_COUNT})")
    async def today(
        interaction: discord.Interaction[Any],
        count: app_commands.Range[int, 1, MAX_COUNT] = DEFAULT_COUNT,
    ) -> None:
        await _run(interaction, lambda: Today(count))

    @group.command(name="search", description="Search papers, 5 results per page")
    @app_commands.describe(query=_QUERY_HINT)
    async def search(
        interaction: discord.Interaction[Any],
        query: app_commands.Range[str, 1, MAX_QUERY_CHARS],
    ) -> None:
        await _run(interaction, lambda: Search(query))

    @group.command(name="show", description="One paper in full: abstract, authors, links")
    @app_commands.describe(paper="arXiv id or arXiv / Hugging Face paper URL, e.g. 2608.17271")
    async def show(
        interaction: discord.Interaction[Any], paper: app_commands.Range[str, 1, 200]
    ) -> None:
        await _run(interaction, lambda: Show(require_id(paper)))

    @group.command(name="status", description="Sources, freshness and what the bot knows")
    async def status(interaction: discord.Interaction[Any]) -> None:
        await _run(interaction, Status)

    @group.command(name="help", description="How to use papersbot, with examples")
    @app_commands.describe(topic="Help on one subcommand; 'search' explains the query syntax")
    async def help_(interaction: discord.Interaction[Any], topic: HelpTopic | None = None) -> None:
        await _run(interaction, lambda: Help(topic))

    _add_subscriptions(group)
    _add_digest(group)
    return group


def _add_subscriptions(group: app_commands.Group) -> None:
    """``subscribe``, ``subscriptions`` and ``unsubscribe``: a user's own DMs of new papers."""

    @group.command(name="subscribe", description="Get new papers matching a search by DM")
    @app_commands.describe(query=_QUERY_HINT, **_DESCRIBE_WHEN)
    @app_commands.autocomplete(tz=_complete_zone)
    async def subscribe(
        interaction: discord.Interaction[Any],
        query: app_commands.Range[str, 1, MAX_QUERY_CHARS],
        at: app_commands.Range[str, 1, _MAX_TIME] | None = None,
        tz: app_commands.Range[str, 1, _MAX_ZONE] | None = None,
        cadence: Cadence | None = None,
        day: Weekday | None = None,
    ) -> None:
        await _run(interaction, lambda: subscribe_command(query, at, tz, cadence, day))

    @group.command(name="subscriptions", description="Your subscriptions, numbered")
    async def subscriptions(interaction: discord.Interaction[Any]) -> None:
        await _run(interaction, Subscriptions)

    @group.command(name="unsubscribe", description="Stop one subscription, or all of yours")
    @app_commands.describe(which='Its number from /papers subscriptions, or "all"')
    async def unsubscribe(
        interaction: discord.Interaction[Any], which: app_commands.Range[str, 1, 20]
    ) -> None:
        await _run(interaction, lambda: parse_unsubscribe(which))


def _add_digest(parent: app_commands.Group) -> None:
    """``/papers digest on|off|status``: the channel's scheduled post (Manage Channels).

    Discord applies ``default_member_permissions`` to top-level commands only (discord.py
    drops it from a nested group), so the gate is the caller's ``can_manage``, which the
    core checks; the subcommands are visible to everyone.
    """
    digest = app_commands.Group(
        name="digest", description="This channel's scheduled top papers post", parent=parent
    )

    @digest.command(name="on", description="Post the top papers here on a schedule")
    @app_commands.describe(
        **_DESCRIBE_WHEN,
        top=f"How many papers, 1 to {MAX_TOP} (default {DEFAULT_TOP})",
        min_upvotes="Leave out papers with fewer upvotes (default 0)",
        empty_days="On a day without papers: post a short note, or stay silent",
        filter_="Only papers matching this search query",
    )
    @app_commands.rename(filter_="filter")
    @app_commands.autocomplete(tz=_complete_zone)
    async def on(
        interaction: discord.Interaction[Any],
        at: app_commands.Range[str, 1, _MAX_TIME] | None = None,
        tz: app_commands.Range[str, 1, _MAX_ZONE] | None = None,
        cadence: Cadence | None = None,
        day: Weekday | None = None,
        top: app_commands.Range[int, 1, MAX_TOP] = DEFAULT_TOP,
        min_upvotes: app_commands.Range[int, 0, MAX_MIN_UPVOTES] = 0,
        empty_days: EmptyDays = "note",
        filter_: app_commands.Range[str, 1, MAX_QUERY_CHARS] | None = None,
    ) -> None:
        def build() -> DigestOn:
            when = when_from(at, tz, cadence, day)
            query = " ".join((filter_ or "").split())
            options = DigestOptions(when, top, query, min_upvotes, empty_days)
            return DigestOn(options)

        await _run(interaction, build)

    @digest.command(name="off", description="Stop this channel's digest")
    async def off(interaction: discord.Interaction[Any]) -> None:
        await _run(interaction, DigestOff)

    @digest.command(name="status", description="This channel's digest settings and next post")
    async def status(interaction: discord.Interaction[Any]) -> None:
        await _run(interaction, DigestStatus)
