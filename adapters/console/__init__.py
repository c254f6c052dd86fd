"""The console adapter: the embedded default, no tokens, no network.

Renders neutral replies with rich (:mod:`adapters.console.render`: colour, clickable links
where the terminal shows them, plain URLs where it cannot) and runs a prompt
(:mod:`adapters.console.prompt`: line editing and history at a terminal) that takes the
same ``/papers ...`` commands as the chat platforms.

It is the registry's terminal (entry point ``console``, see :mod:`adapters.registry`):
``papersbot demo``, ``search`` and a ``run`` without platform tokens print through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.text import Text

from adapters.console.prompt import line_editing, read_stdin
from adapters.console.render import hyperlinks_visible, render, render_card, render_lines
from bot import (
    Action,
    Caller,
    DeliveryKey,
    PapersBot,
    Reply,
    SendResult,
    SendStatus,
    Target,
)

__all__ = [
    "CONSOLE_CALLER",
    "ConsoleAdapter",
    "ConsoleCourier",
    "ConsoleSession",
    "hyperlinks_visible",
    "read_stdin",
    "render",
    "render_card",
    "render_lines",
]

PROMPT = "papers> "
Reader = Callable[[str], Awaitable[str]]


# The console's one user: they own the console "channel" and may manage its digest.
CONSOLE_CALLER = Caller(
    platform="console",
    user_id="console",
    user_name="you",
    channel_id="console",
    can_manage=True,
)


class ConsoleCourier:
    """Scheduled posts for the console: printed, with a heading naming where they went.

    It remembers what it printed (for :meth:`find_sent`) for the life of the process only.
    """

    platform = "console"

    def __init__(self, console: Console, *, clock: Callable[[], datetime] | None = None) -> None:
        self._console = console
        self._clock = clock
        self._sent: dict[str, str] = {}

    async def send(self, target: Target, reply: Reply, key: DeliveryKey) -> SendResult:
        where = "this channel" if target.kind == "channel" else "your DMs"
        stamp = f" · {self._clock():%a %d %b %H:%M} UTC" if self._clock else ""
        self._console.print(Text(f"── scheduled post to {where}{stamp} ──", style="bold cyan"))
        render(reply, self._console)
        message_id = self._sent.setdefault(f"{target.id}:{key}", str(len(self._sent) + 1))
        return SendResult(SendStatus.SENT, message_id)

    async def find_sent(self, target: Target, key: DeliveryKey, since: datetime) -> str | None:
        del since
        return self._sent.get(f"{target.id}:{key}")


class ConsoleSession:
    """A prompt loop: read a line, let the bot answer, print the reply.

    ``more`` continues the last search, however many other commands came since; a new
    search replaces it, and its last page ends it.
    """

    def __init__(
        self,
        bot: PapersBot,
        console: Console,
        read: Reader | None = None,
        *,
        history: Path | None = None,
    ) -> None:
        self._bot = bot
        self._console = console
        self._read = read or read_stdin
        self._history = history
        self._more: Action | None = None  # the last search's next page, if it has one
        self._searched = False

    async def handle(self, line: str) -> Reply | None:
        """Answer one line; ``None`` for a blank line. ``more`` pages the last search."""
        line = line.strip()
        if not line:
            return None
        words = _words(line)
        if words == ["more"]:
            return await self._next_page()
        reply = await self._bot.respond(line, CONSOLE_CALLER)
        if words[:1] == ["search"]:
            self._searched = True
            self._more = _more_action(reply)
        return reply

    async def _next_page(self) -> Reply:
        if self._more is None:
            text = (
                "That was the last page of the search; run a new one."
                if self._searched
                else "Nothing more to show; run a search first."
            )
            return Reply(text=text, is_error=True)
        reply = await self._bot.press(self._more.value, CONSOLE_CALLER)
        self._more = _more_action(reply)
        return reply

    async def run(self) -> None:
        """Loop until EOF, ``quit`` or Ctrl-C; at a terminal with line editing and history."""
        self._console.print(
            Text(
                "Type /papers commands (try `help`, `today`, `search diffusion`); `quit` to leave.",
                style="dim",
            )
        )
        with line_editing(self._history):
            while True:
                try:
                    line = await self._read(PROMPT)
                except (EOFError, KeyboardInterrupt):
                    self._console.print()
                    return
                if line.strip().lower() in ("quit", "exit", "q"):
                    return
                reply = await self.handle(line)
                if reply is not None:
                    render(reply, self._console)


def _words(line: str) -> list[str]:
    """A typed line's words, lower-cased, without the optional ``/papers`` prefix."""
    words = line.lower().split()
    return words[1:] if words[:1] == ["/papers"] else words


def _more_action(reply: Reply) -> Action | None:
    return next((a for a in reply.actions if a.kind == "more"), None)


class ConsoleAdapter:
    """The terminal as an adapter: a prompt session, a printing courier, reply printing."""

    name = "Console"

    def __init__(
        self,
        bot: PapersBot,
        *,
        clock: Callable[[], datetime] | None = None,
        console: Console | None = None,
        read: Reader | None = None,
    ) -> None:
        # Wrap for a person at a terminal; keep one line per item for pipes and logs.
        self.console = console or Console(soft_wrap=not sys.stdout.isatty())
        self._courier = ConsoleCourier(self.console, clock=clock)
        self._session = ConsoleSession(bot, self.console, read)
        self._task: asyncio.Task[None] | None = None

    @property
    def courier(self) -> ConsoleCourier:
        return self._courier

    @property
    def ready(self) -> bool:
        return True

    async def start(self) -> None:
        """Start the prompt (it reads stdin until ``quit`` or EOF)."""
        if self._task is None:
            self._task = asyncio.create_task(self._session.run(), name="console-session")

    async def until_ready(self) -> None:
        return None

    async def closed(self) -> None:
        """Return when the person leaves the prompt."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def show(self, reply: Reply, *, compact: bool = False) -> None:
        """Print *reply*; *compact*: one line per result."""
        (render_lines if compact else render)(reply, self.console)

    async def handle(self, line: str) -> Reply | None:
        """Answer one typed line as the console's user (``more`` pages the last search)."""
        return await self._session.handle(line)
