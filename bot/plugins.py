"""How adapters plug into the core: the :class:`Adapter` port and the registry.

An adapter package (console, Slack, Discord, or a third party's) exposes one
:class:`AdapterPlugin` under the ``papersbot.adapters`` entry-point group in its
``pyproject.toml``; the composition root (:mod:`bot.cli`, :mod:`bot.app`) loads the
registry with :func:`load_plugins` and never imports an adapter by name. The core below the
composition root knows adapters only as :class:`~bot.delivery.courier.Courier` values.

Life of an adapter, as ``papersbot run`` drives it::

    adapter = plugin.create(context)   # build clients; no I/O yet
    await adapter.start()              # connect and begin answering (ConfigError: bad token)
    await adapter.until_ready()        # connected: adapter.courier delivers scheduled posts
    await adapter.closed()             # returns (or raises) if it stops on its own
    await adapter.stop()               # on shutdown; always safe to call
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from typing import Protocol

from bot.config import Settings
from bot.delivery.courier import Courier
from bot.errors import ConfigError
from bot.model.replies import Reply
from bot.observe import NULL_OBSERVER, Observer
from bot.ops.health import Operations
from bot.service.installs import WorkspaceInstalls
from bot.service.papersbot import PapersBot

GROUP = "papersbot.adapters"


@dataclass(frozen=True, slots=True)
class AdapterContext:
    """What the composition root hands an adapter: the core and the settings; where
    per-workspace installs are kept (``None`` when ``PAPERSBOT_SECRET_KEY`` is unset); the
    operations answers (``/healthz``, ``/readyz``, ``/metrics``) for an adapter that runs a
    web server of its own (Slack HTTP mode serves them on its port too); and the observer
    an adapter reports the rate-limit waits its platform SDK absorbs to."""

    bot: PapersBot
    settings: Settings
    clock: Callable[[], datetime]
    installs: WorkspaceInstalls | None = None
    operations: Operations | None = None
    observer: Observer = NULL_OBSERVER


class Adapter(Protocol):
    """One chat platform (or the terminal) serving the core."""

    @property
    def name(self) -> str:
        """For people: ``Slack``."""
        ...

    @property
    def courier(self) -> Courier | None:
        """Scheduled delivery to this platform, once :attr:`ready` (``None`` before)."""
        ...

    @property
    def ready(self) -> bool:
        """Connected and answering now."""
        ...

    async def start(self) -> None:
        """Connect and begin answering; raises :class:`~bot.errors.ConfigError` naming the
        setting when the platform rejects the configuration."""
        ...

    async def until_ready(self) -> None:
        """Return once connected (bound it with ``asyncio.timeout``)."""
        ...

    async def closed(self) -> None:
        """Return, or raise, when the adapter stops on its own (never while serving)."""
        ...

    async def stop(self) -> None:
        """Disconnect and release everything; safe to call more than once."""
        ...


class Terminal(Adapter, Protocol):
    """An adapter that also prints replies for the command line (the console)."""

    def show(self, reply: Reply, *, compact: bool = False) -> None:
        """Print *reply*; *compact*: one line per result (``papersbot search``)."""
        ...

    async def handle(self, line: str) -> Reply | None:
        """Answer one typed line as the terminal's user (``None`` for a blank line)."""
        ...


@dataclass(frozen=True, slots=True)
class AdapterPlugin:
    """A platform's registry entry: whether the settings configure it, how to build it, and
    (optionally) the link that adds the bot to a server (``papersbot <name>-invite``).

    *one_session*: the platform allows one connection per bot (Discord's gateway, one
    session per shard). When several processes share a PostgreSQL store, exactly one of
    them, elected, runs such an adapter, and another takes it over when that one dies
    (:mod:`bot.cli.elected`)."""

    name: str
    configured: Callable[[Settings], bool]
    create: Callable[[AdapterContext], Adapter]
    invite_url: Callable[[Settings, str | None], str] | None = None
    one_session: bool = False


@dataclass(frozen=True, slots=True)
class TerminalPlugin:
    """The terminal's registry entry (the console): always available, never configured."""

    name: str
    create: Callable[[AdapterContext], Terminal]


def load_plugins() -> dict[str, AdapterPlugin | TerminalPlugin]:
    """Every installed adapter plugin by entry-point name (``console``, ``slack``, ...)."""
    found: dict[str, AdapterPlugin | TerminalPlugin] = {}
    for entry in entry_points(group=GROUP):
        plugin = entry.load()
        if not isinstance(plugin, AdapterPlugin | TerminalPlugin):
            raise ConfigError(f"adapter plugin {entry.name!r} ({entry.value}) is not a plugin")
        found[entry.name] = plugin
    return found


def platform_plugins(settings: Settings) -> list[AdapterPlugin]:
    """The installed platform adapters that *settings* configure, in name order."""
    plugins = load_plugins()
    return [
        plugin
        for _, plugin in sorted(plugins.items())
        if isinstance(plugin, AdapterPlugin) and plugin.configured(settings)
    ]


def terminal_plugin() -> TerminalPlugin:
    """The terminal adapter (the console), for the demo, one-shot search and token-less run."""
    for plugin in load_plugins().values():
        if isinstance(plugin, TerminalPlugin):
            return plugin
    raise ConfigError(
        f"no terminal adapter is installed (entry-point group {GROUP!r}); "
        "reinstall papersbot with `pip install -e .`"
    )
