"""The command grammar, one for every platform: ``/papers <verb> [arguments]``.

    help [topic]          usage, with examples
    today [N]             top N (1-10, default 5) papers of the latest Daily Papers day
    search <query>        ranked matches, 5 per page (query syntax: bot.grammar.query)
    show <id or URL>      one paper in full
    status                sources, freshness, next scheduled posts, recent failures
    subscribe <query> [at 8am] [tz Area/City] [daily|weekdays|weekly [day]]
                          a DM with new matching papers (options: bot.grammar.options)
    subscriptions         your subscriptions
    unsubscribe <id|all>  stop one subscription, or all of yours
    digest on [options]   this channel's daily post of the top papers (channel managers)
    digest off | status   stop it, or show its settings and next post

Slack passes the free text; Discord's typed subcommands build the same values directly.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from bot.errors import UserInputError, shown
from bot.grammar.options import DigestOptions, When, parse_digest_options, split_subscribe
from bot.grammar.query import MAX_QUERY_CHARS
from bot.model.ids import require_id

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


@dataclass(frozen=True, slots=True)
class Subscribe:
    query: str
    when: When = field(default_factory=When)


@dataclass(frozen=True, slots=True)
class SubscribeSaved:
    """Subscribe to a saved search (the "Subscribe" button on search results)."""

    token: str


@dataclass(frozen=True, slots=True)
class Subscriptions:
    pass


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    sub_id: int | None  # None: all of the caller's subscriptions


@dataclass(frozen=True, slots=True)
class DigestOn:
    options: DigestOptions = field(default_factory=DigestOptions)


@dataclass(frozen=True, slots=True)
class DigestOff:
    pass


@dataclass(frozen=True, slots=True)
class DigestStatus:
    pass


# The commands that set up scheduled deliveries (bot.service.scheduling answers them).
ScheduleCommand = Subscribe | Subscriptions | Unsubscribe | DigestOn | DigestOff | DigestStatus

Command = (
    Help
    | Today
    | Search
    | More
    | Show
    | Share
    | Status
    | Subscribe
    | SubscribeSaved
    | Subscriptions
    | Unsubscribe
    | DigestOn
    | DigestOff
    | DigestStatus
)

_VERBS: dict[type, str] = {
    SubscribeSaved: "subscribe",  # the Subscribe button under search results
    DigestOn: "digest_on",
    DigestOff: "digest_off",
    DigestStatus: "digest_status",
}


def verb_of(command: Command) -> str:
    """The command's verb for counting (``search``, ``digest_on``, ``more``): a fixed,
    small set, never anything the user typed."""
    kind = type(command)
    return _VERBS.get(kind, kind.__name__.lower())


VERBS = (
    "help",
    "today",
    "search",
    "show",
    "status",
    "subscribe",
    "subscriptions",
    "unsubscribe",
    "digest",
)


def parse_count(text: str) -> int:
    """A paper count for ``today``: 1 to 10."""
    if not (text.isascii() and text.isdigit()):
        raise UserInputError(
            f"`{shown(text, 20)}` is not a count; "
            f"use a number from 1 to {MAX_COUNT}, like `today 5`."
        )
    if not 1 <= int(text) <= MAX_COUNT:
        raise UserInputError(
            f"`today` shows 1 to {MAX_COUNT} papers, not {shown(text, 20)}; "
            f"try `today {MAX_COUNT}`, or `search` for more."
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
    if verb == "subscribe":
        return parse_subscribe(rest)
    if verb == "subscriptions":
        return Subscriptions()
    if verb == "unsubscribe":
        return parse_unsubscribe(rest)
    if verb == "digest":
        return parse_digest(rest)
    close = difflib.get_close_matches(verb, VERBS, n=1, cutoff=0.6)
    hint = f"Did you mean `{close[0]}`?" if close else "Try `help`."
    raise UserInputError(f"Unknown command `{shown(verb, 30)}`. {hint}")


def parse_subscribe(text: str) -> Subscribe:
    query, when = split_subscribe(text)
    if not query:
        raise UserInputError(
            "Subscribe to what? Try `subscribe diffusion OR flow matching at 8am`."
        )
    if len(query) > MAX_QUERY_CHARS:
        raise UserInputError(
            f"That query is {len(query)} characters; keep it under {MAX_QUERY_CHARS}."
        )
    return Subscribe(query, when)


def parse_unsubscribe(text: str) -> Unsubscribe:
    word = text.strip().lstrip("#").lower()
    if word == "all":
        return Unsubscribe(None)
    if word.isascii() and word.isdigit() and len(word) <= 12:
        return Unsubscribe(int(word))
    got = f" (`{shown(text, 20)}` is not one)" if text.strip() else ""
    raise UserInputError(
        f"Which subscription? Give its number from `subscriptions`, or `all`{got}."
    )


def parse_digest(text: str) -> DigestOn | DigestOff | DigestStatus:
    sub, _, rest = text.strip().partition(" ")
    sub = sub.lower()
    if sub == "on":
        return DigestOn(parse_digest_options(rest))
    if sub == "off" and not rest.strip():
        return DigestOff()
    if sub in ("status", "") and not rest.strip():
        return DigestStatus()
    raise UserInputError(
        "Use `digest on [at 09:00] [tz Europe/Berlin] [top 5] ...`, `digest off` "
        "or `digest status`."
    )
