"""The console adapter: the embedded default, no tokens, no network.

Renders neutral replies with rich (colour, and clickable links where the terminal supports
OSC 8) and runs a prompt that takes the same ``/papers ...`` commands as the chat
platforms. Paper text is put into ``rich.text.Text`` objects, never parsed as markup.

It is the registry's terminal (entry point ``console``, see :mod:`adapters.registry`):
``papersbot demo``, ``search`` and a ``run`` without platform tokens print through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime

from rich.console import Console
from rich.style import Style
from rich.text import Text

from bot import (
    Caller,
    Card,
    DeliveryKey,
    PapersBot,
    Reply,
    SendResult,
    SendStatus,
    Target,
)

PROMPT = "papers> "
Reader = Callable[[str], Awaitable[str]]


def render_card(card: Card, index: int | None = None) -> Text:
    """One card as terminal text: title (linked), authors, summary, why, links, id."""
    text = Text()
    if index is not None:
        text.append(f"{index:>2}. ", style="bold cyan")
    text.append(card.title, style=Style(bold=True, link=card.url))
    text.append("\n    ")
    text.append(card.authors, style="green")
    if card.organization:
        text.append(f" · {card.organization}", style="green")
    text.append("\n    ")
    text.append(card.summary)
    if card.abstract:
        text.append("\n\n    ")
        text.append(card.abstract, style="default")
        text.append("\n")
    text.append("\n    ")
    text.append(card.why, style="yellow")
    text.append("\n    ")
    for i, link in enumerate(card.links):
        if i:
            text.append(" · ", style="dim")
        text.append(link.label, style=Style(color="blue", underline=True, link=link.url))
    text.append(f"   {card.paper_id}", style="dim")
    return text


def render(reply: Reply, console: Console) -> None:
    """Print a whole reply."""
    style = "bold red" if reply.is_error else "bold magenta"
    console.print(Text(reply.text, style=style))
    for note in reply.notes:
        console.print(Text("  • " + note))
    numbered = len(reply.cards) > 1
    for i, card in enumerate(reply.cards, start=1):
        console.print(render_card(card, i if numbered else None))
    for action in reply.actions:
        if action.kind == "more":
            console.print(Text("  Type `more` for the next page.", style="dim"))


def render_lines(reply: Reply, console: Console) -> None:
    """One line per result (``papersbot search``): arXiv id, title, why it ranks."""
    console.print(Text(reply.text, style="bold red" if reply.is_error else "bold"))
    for note in reply.notes:
        console.print(Text("  " + note))
    for card in reply.cards:
        line = Text()
        line.append(f"{card.paper_id:<12}", style="cyan")
        line.append(card.title, style=Style(bold=True, link=card.url))
        line.append(f"  ({card.why})", style="dim")
        console.print(line)


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
    """A prompt loop: read a line, let the bot answer, print the reply."""

    def __init__(self, bot: PapersBot, console: Console, read: Reader | None = None) -> None:
        self._bot = bot
        self._console = console
        self._read = read or read_stdin
        self._last: Reply | None = None

    async def handle(self, line: str) -> Reply | None:
        """Answer one line; ``None`` for a blank line. ``more`` pages the last search."""
        line = line.strip()
        if not line:
            return None
        more = [a for a in (self._last.actions if self._last else ()) if a.kind == "more"]
        if line.lower() in ("more", "/papers more"):
            if not more:
                return Reply(text="Nothing more to show; run a search first.", is_error=True)
            reply = await self._bot.press(more[0].value, CONSOLE_CALLER)
        else:
            reply = await self._bot.respond(line, CONSOLE_CALLER)
        if reply.actions or not reply.is_error:
            self._last = reply
        return reply

    async def run(self) -> None:
        """Loop until EOF, ``quit`` or Ctrl-C."""
        self._console.print(
            Text(
                "Type /papers commands (try `help`, `today`, `search diffusion`); `quit` to leave.",
                style="dim",
            )
        )
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


async def read_stdin(prompt: str) -> str:
    """``input()`` in a daemon thread of its own, so Ctrl-C or shutdown never waits for Enter
    (the default executor's threads are joined when the event loop closes)."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def read() -> None:
        try:
            line = input(prompt)
        except BaseException as exc:  # EOFError, KeyboardInterrupt: hand them to the loop
            loop.call_soon_threadsafe(_settle, answer, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, answer, line, None)

    threading.Thread(target=read, name="console-input", daemon=True).start()
    return await answer


def _settle(future: asyncio.Future[str], line: str | None, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(line or "")


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
