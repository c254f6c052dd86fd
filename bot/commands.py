"""The command grammar, one for every platform: ``/papers <verb> [arguments]``.

    help [topic]          usage, with examples
    today [N]             top N (1-10, default 5) papers of the latest Daily Papers day
    search <query>        ranked matches, 5 per page (query syntax: bot.query)
    show <id or URL>      one paper in full
    status                sources, freshness, store size

Slack passes the free text; Discord's typed subcommands build the same values directly.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.errors import UserInputError, shown
from bot.ids import require_id
from bot.query import MAX_QUERY_CHARS

DEFAULT_COUNT = 5
MAX_COUNT = 10
MAX_COMMAND_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Help:
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class Today:
    count: int = DEFAULT_COUNT


@dataclass(frozen=True, slots=True)
class Search:
    query: str
    offset: int = 0


@dataclass(frozen=True, slots=True)
class More:
    """The next page of a saved search (from a button)."""

    token: str
    offset: int


@dataclass(frozen=True, slots=True)
class Show:
    paper_id: str


@dataclass(frozen=True, slots=True)
class Share:
    """Post one paper's card publicly (from a button)."""

    paper_id: str


@dataclass(frozen=True, slots=True)
class Status:
    pass


Command = Help | Today | Search | More | Show | Share | Status

VERBS = ("help", "today", "search", "show", "status")


def parse_count(text: str) -> int:
    """A paper count for ``today``: 1 to 10."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_COUNT:
        raise UserInputError(
            f"`{shown(text, 20)}` is not a count; "
            f"use a number from 1 to {MAX_COUNT}, like `today 5`."
        )
    return int(text)


def parse_command(text: str) -> Command:
    """Parse what a user typed after ``/papers`` (the prefix itself is optional)."""
    if len(text) > MAX_COMMAND_CHARS:
        raise UserInputError(
            f"That command is too long ({len(text)} characters); "
            f"search queries can be up to {MAX_QUERY_CHARS}."
        )
    text = text.strip()
    if text.lower().startswith("/papers"):
        text = text[len("/papers") :].strip()
    verb, _, rest = text.partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if verb in ("", "help"):
        return Help(rest.lower() or None)
    if verb == "today":
        return Today(parse_count(rest) if rest else DEFAULT_COUNT)
    if verb == "search":
        if not rest:
            raise UserInputError("What should I search for? Try `search sparse autoencoders`.")
        return Search(rest)
    if verb == "show":
        if not rest:
            raise UserInputError("Which paper? Try `show 2608.17271` or an arXiv/HF URL.")
        return Show(require_id(rest.split()[0]))
    if verb == "status":
        return Status()
    close = difflib.get_close_matches(verb, VERBS, n=1, cutoff=0.6)
    hint = f"Did you mean `{close[0]}`?" if close else "Try `help`."
    raise UserInputError(f"Unknown command `{shown(verb, 30)}`. {hint}")
