"""The ``/papers`` app-command group: typed subcommands converted into core commands.

:class:`PapersCommands` receives the core and the :class:`~adapters.discord.answers.Answerer`
in its constructor (as a python-discord cog receives the bot) and adds
:class:`DigestCommands` as its ``digest`` subgroup; :class:`~adapters.discord.client.PapersClient`
adds it to its command tree. Each subcommand converts its typed options with
:mod:`adapters.discord.options`, so a value Discord's typed limits let through but the core
rejects gets the very sentence Slack users get, through the same rendering path as the
core's error replies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from adapters.discord.answers import Answerer, caller_for
from adapters.discord.options import (
    HelpTopic,
    Weekday,
    digest_on_command,
    subscribe_command,
    when_from,
    zone_choices,
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
    DigestStatus,
    EmptyDays,
    Help,
    PapersBot,
    Reply,
    Search,
    Show,
    Status,
    Subscriptions,
    Today,
    UserInputError,
    parse_unsubscribe,
    require_id,
)

if TYPE_CHECKING:
    from adapters.discord.client import PapersClient

_QUERY_HINT = 'Words, "a phrase", -exclude, a OR b, author:name, since:30d, sort:new'
_MAX_TIME = 20  # "12:30 pm" and friends; the core parses and explains anything longer
_MAX_ZONE = 64  # the longest IANA name is 32 characters
_DESCRIBE_WHEN = {
    "at": "Time of day, like 08:00, 20:30 or 8am",
    "tz": "IANA time zone, like Europe/Berlin or UTC",
    "cadence": "daily, weekdays or weekly",
    "day": "The day for weekly (weekly alone means Mondays)",
}


async def _say(reply: Reply) -> Reply:
    return reply


async def _complete_zone(
    interaction: discord.Interaction[PapersClient], current: str
) -> list[app_commands.Choice[str]]:
    return zone_choices(current)


async def run_command(
    bot: PapersBot,
    answerer: Answerer,
    interaction: discord.Interaction[PapersClient],
    build: Callable[[], Command],
) -> None:
    """Build the command from the typed options (``UserInputError`` is answered as the
    core's error reply) and let *bot* answer it through *answerer*."""
    try:
        command = build()
    except UserInputError as exc:
        await answerer.answer(interaction, _say(Reply(text=str(exc), is_error=True)))
        return
    await answerer.answer(interaction, bot.run_command(command, caller_for(interaction)))


class PapersCommands(app_commands.Group):
    """``/papers`` and its typed, described subcommands, answered by *bot*."""

    def __init__(self, bot: PapersBot, answerer: Answerer) -> None:
        super().__init__(
            name="papers",
            description="Trending research papers from Hugging Face Daily Papers",
            allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=True),
            allowed_installs=app_commands.AppInstallationType(guild=True),
        )
        self.bot = bot
        self.answerer = answerer
        self.add_command(DigestCommands(bot, answerer))

    async def _run(
        self, interaction: discord.Interaction[PapersClient], build: Callable[[], Command]
    ) -> None:
        await run_command(self.bot, self.answerer, interaction, build)

    @app_commands.command(name="today", description="Top papers of the latest Daily Papers day")
    @app_commands.describe(count=f"How many papers, 1 to {MAX_COUNT} (default {DEFAULT_COUNT})")
    async def today(
        self,
        interaction: discord.Interaction[PapersClient],
        count: app_commands.Range[int, 1, MAX_COUNT] = DEFAULT_COUNT,
    ) -> None:
        await self._run(interaction, lambda: Today(count))

    @app_commands.command(name="search", description="Search papers, 5 results per page")
    @app_commands.describe(query=_QUERY_HINT)
    async def search(
        self,
        interaction: discord.Interaction[PapersClient],
        query: app_commands.Range[str, 1, MAX_QUERY_CHARS],
    ) -> None:
        await self._run(interaction, lambda: Search(query))

    @app_commands.command(name="show", description="One paper in full: abstract, authors, links")
    @app_commands.describe(paper="arXiv id or arXiv / Hugging Face paper URL, e.g. 2608.17271")
    async def show(
        self,
        interaction: discord.Interaction[PapersClient],
        paper: app_commands.Range[str, 1, 200],
    ) -> None:
        await self._run(interaction, lambda: Show(require_id(paper)))

    @app_commands.command(name="status", description="Sources, freshness and what the bot knows")
    async def status(self, interaction: discord.Interaction[PapersClient]) -> None:
        await self._run(interaction, Status)

    @app_commands.command(name="help", description="How to use papersbot, with examples")
    @app_commands.describe(topic="Help on one subcommand; 'search' explains the query syntax")
    async def help_(
        self, interaction: discord.Interaction[PapersClient], topic: HelpTopic | None = None
    ) -> None:
        await self._run(interaction, lambda: Help(topic))

    # ``subscribe``, ``subscriptions`` and ``unsubscribe``: a user's own DMs of new papers.

    @app_commands.command(name="subscribe", description="Get new papers matching a search by DM")
    @app_commands.describe(query=_QUERY_HINT, **_DESCRIBE_WHEN)
    @app_commands.autocomplete(tz=_complete_zone)
    async def subscribe(
        self,
        interaction: discord.Interaction[PapersClient],
        query: app_commands.Range[str, 1, MAX_QUERY_CHARS],
        at: app_commands.Range[str, 1, _MAX_TIME] | None = None,
        tz: app_commands.Range[str, 1, _MAX_ZONE] | None = None,
        cadence: Cadence | None = None,
        day: Weekday | None = None,
    ) -> None:
        await self._run(interaction, lambda: subscribe_command(query, at, tz, cadence, day))

    @app_commands.command(name="subscriptions", description="Your subscriptions, numbered")
    async def subscriptions(self, interaction: discord.Interaction[PapersClient]) -> None:
        await self._run(interaction, Subscriptions)

    @app_commands.command(name="unsubscribe", description="Stop one subscription, or all of yours")
    @app_commands.describe(which='Its number from /papers subscriptions, or "all"')
    async def unsubscribe(
        self,
        interaction: discord.Interaction[PapersClient],
        which: app_commands.Range[str, 1, 20],
    ) -> None:
        await self._run(interaction, lambda: parse_unsubscribe(which))


class DigestCommands(app_commands.Group):
    """``/papers digest on|off|status``: the channel's scheduled post (Manage Channels).

    Discord applies ``default_member_permissions`` to top-level commands only (discord.py
    drops it from a nested group), so the gate is the caller's ``can_manage``, which the
    core checks; the subcommands are visible to everyone.
    """

    def __init__(self, bot: PapersBot, answerer: Answerer) -> None:
        super().__init__(name="digest", description="This channel's scheduled top papers post")
        self.bot = bot
        self.answerer = answerer

    async def _run(
        self, interaction: discord.Interaction[PapersClient], build: Callable[[], Command]
    ) -> None:
        await run_command(self.bot, self.answerer, interaction, build)

    @app_commands.command(name="on", description="Post the top papers here on a schedule")
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
        self,
        interaction: discord.Interaction[PapersClient],
        at: app_commands.Range[str, 1, _MAX_TIME] | None = None,
        tz: app_commands.Range[str, 1, _MAX_ZONE] | None = None,
        cadence: Cadence | None = None,
        day: Weekday | None = None,
        top: app_commands.Range[int, 1, MAX_TOP] = DEFAULT_TOP,
        min_upvotes: app_commands.Range[int, 0, MAX_MIN_UPVOTES] = 0,
        empty_days: EmptyDays = "note",
        filter_: app_commands.Range[str, 1, MAX_QUERY_CHARS] | None = None,
    ) -> None:
        await self._run(
            interaction,
            lambda: digest_on_command(
                when_from(at, tz, cadence, day), top, min_upvotes, empty_days, filter_
            ),
        )

    @app_commands.command(name="off", description="Stop this channel's digest")
    async def off(self, interaction: discord.Interaction[PapersClient]) -> None:
        await self._run(interaction, DigestOff)

    @app_commands.command(name="status", description="This channel's digest settings and next post")
    async def status(self, interaction: discord.Interaction[PapersClient]) -> None:
        await self._run(interaction, DigestStatus)
