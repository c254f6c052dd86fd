"""Reading the console prompt: line editing and history at a terminal, and a reader that
never blocks shutdown.

At a terminal the stdlib ``readline`` gives ``input()`` the editing keys people expect
(arrows, Home/End, Ctrl-R) and a history kept between sessions in
``$XDG_STATE_HOME/papersbot/history`` (``~/.local/state/papersbot/history``), at most
:data:`HISTORY_LENGTH` lines. Piped input gets none of it: no escape sequences, no file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

HISTORY_LENGTH = 1000


def history_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the prompt's history is kept (XDG base directory rules)."""
    env = os.environ if environ is None else environ
    state = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local/state")
    return Path(state) / "papersbot" / "history"


@contextlib.contextmanager
def line_editing(history: Path | None = None) -> Iterator[None]:
    """Turn on readline editing and history while the prompt runs, if stdin is a terminal;
    on the way out save the history and put the terminal's modes back as they were (the
    reader thread may be left inside readline when the prompt is cancelled)."""
    if not sys.stdin.isatty():
        yield
        return
    try:
        import readline
        import termios
    except ImportError:  # a platform without them (Windows): plain input()
        yield
        return
    path = history or history_path()
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    readline.set_history_length(HISTORY_LENGTH)
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)
        except OSError as exc:  # a read-only home: editing worked, history is not kept
            log.debug("prompt history not saved to %s: %s", path, exc)


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
