"""papersbot core: fetch, store, rank, search and format papers, free of any chat platform.

This module is the core's public surface for adapters (``adapters/``): they import what
they need from ``bot`` itself, never from its packages, so the packages can be rearranged
without touching them (``tests/test_architecture.py`` checks it). What is here:

- the facade that answers commands and buttons (:class:`PapersBot`) and who asks
  (:class:`Caller`);
- the neutral values it answers with (:class:`Reply`, :class:`Card`, :class:`Action`,
  :class:`Link`) and the command values a typed platform command builds;
- the ports an adapter implements: :class:`Courier` for scheduled posts (with
  :class:`Target`, :class:`DeliveryKey` and :class:`SendResult`) and :class:`Adapter` with
  its registry entry (:class:`AdapterPlugin`, :class:`TerminalPlugin`);
- per-workspace installs, sealed at rest (:class:`WorkspaceInstalls`, :class:`InstallKey`);
- settings, the error tree's root and the parsers the Discord options reuse;
- the operations answers (:class:`Operations`, :class:`OpsAnswer`, :data:`OPS_PATHS`) an
  adapter with a web server of its own serves beside its platform's routes.

Layers, lowest first (each imports only those below it): ``errors``, ``identity``, ``observe``,
``config`` → ``model`` → ``grammar`` → ``store`` → ``search`` → ``sources`` → ``delivery`` →
``service`` → the composition root (``plugins``, ``app``, ``cli``, ``ops``).
"""

from bot.config import Settings
from bot.delivery.courier import Courier, LookupFailed, SendResult, SendStatus
from bot.errors import ConfigError, PapersbotError, UserInputError
from bot.grammar.commands import (
    DEFAULT_COUNT,
    MAX_COUNT,
    Command,
    DigestOff,
    DigestOn,
    DigestStatus,
    Help,
    Search,
    Show,
    Status,
    Subscribe,
    Subscriptions,
    Today,
    parse_unsubscribe,
)
from bot.grammar.options import (
    DEFAULT_TOP,
    MAX_MIN_UPVOTES,
    MAX_TOP,
    DigestOptions,
    EmptyDays,
    When,
)
from bot.grammar.query import MAX_QUERY_CHARS
from bot.identity import bot_version
from bot.model.caller import Caller
from bot.model.delivery import DeliveryKey, Target
from bot.model.ids import require_id
from bot.model.replies import Action, ActionKind, Card, Link, Reply
from bot.model.schedule import Cadence, parse_cadence, parse_time, parse_timezone
from bot.observe import Observer
from bot.ops.health import PATHS as OPS_PATHS
from bot.ops.health import Operations, OpsAnswer
from bot.plugins import Adapter, AdapterContext, AdapterPlugin, Terminal, TerminalPlugin
from bot.search.cards import shorten
from bot.service.installs import UNINSTALLED, InstallKey, WorkspaceInstalls
from bot.service.papersbot import PapersBot

__all__ = [
    "DEFAULT_COUNT",
    "DEFAULT_TOP",
    "MAX_COUNT",
    "MAX_MIN_UPVOTES",
    "MAX_QUERY_CHARS",
    "MAX_TOP",
    "OPS_PATHS",
    "UNINSTALLED",
    "Action",
    "ActionKind",
    "Adapter",
    "AdapterContext",
    "AdapterPlugin",
    "Cadence",
    "Caller",
    "Card",
    "Command",
    "ConfigError",
    "Courier",
    "DeliveryKey",
    "DigestOff",
    "DigestOn",
    "DigestOptions",
    "DigestStatus",
    "EmptyDays",
    "Help",
    "InstallKey",
    "Link",
    "LookupFailed",
    "Observer",
    "Operations",
    "OpsAnswer",
    "PapersBot",
    "PapersbotError",
    "Reply",
    "Search",
    "SendResult",
    "SendStatus",
    "Settings",
    "Show",
    "Status",
    "Subscribe",
    "Subscriptions",
    "Target",
    "Terminal",
    "TerminalPlugin",
    "Today",
    "UserInputError",
    "When",
    "WorkspaceInstalls",
    "bot_version",
    "parse_cadence",
    "parse_time",
    "parse_timezone",
    "parse_unsubscribe",
    "require_id",
    "shorten",
]
