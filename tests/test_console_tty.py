"""The console prompt at a real terminal (a pseudo-terminal): line editing and history."""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

UP = "\x1b[A"
PROMPT = b"papers> "


class Terminal:
    """``papersbot demo`` on a pseudo-terminal, read and typed into like a person would."""

    def __init__(self, proc: subprocess.Popen[bytes], master: int) -> None:
        self.proc = proc
        self.master = master
        self.seen = b""

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait_for(self, marker: bytes, *, count: int = 1, timeout: float = 60) -> bytes:
        """Read until *marker* has appeared *count* times in everything read so far."""
        deadline = time.monotonic() + timeout
        while self.seen.count(marker) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"no {marker!r} x{count} in {self.seen[-2000:]!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                assert chunk, f"terminal closed before {marker!r}: {self.seen[-2000:]!r}"
                self.seen += chunk
        return self.seen


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    script = shutil.which("papersbot", path=str(Path(sys.executable).parent))
    assert script is not None
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TMUX", "STY") and not key.startswith(("SLACK_", "DISCORD_"))
    }
    env |= {
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TERM": "xterm-256color",
        "COLUMNS": "120",
        "LINES": "40",
        "HF_API_URL": "http://127.0.0.1:9",
    }
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [script, "demo"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=tmp_path,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    try:
        yield Terminal(proc, master)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        os.close(master)


def test_up_arrow_recalls_the_last_command_and_history_is_kept(
    terminal: Terminal, tmp_path: Path
) -> None:
    terminal.wait_for(PROMPT)
    terminal.type("today 1\r")
    terminal.wait_for(b"Top 1 paper")
    terminal.wait_for(PROMPT, count=2)
    terminal.type(UP + "\r")  # edits nothing: runs `today 1` again
    seen = terminal.wait_for(b"Top 1 paper", count=2)
    terminal.wait_for(PROMPT, count=3)
    assert b"^[[A" not in seen
    assert b"Unknown command" not in seen
    terminal.type("quit\r")
    assert terminal.proc.wait(timeout=30) == 0
    history = (tmp_path / "state" / "papersbot" / "history").read_text()
    assert "today 1" in history.splitlines()


def test_ctrl_c_at_the_prompt_leaves_the_terminal_as_it_was(terminal: Terminal) -> None:
    before = termios.tcgetattr(terminal.master)
    terminal.wait_for(PROMPT)
    # What Ctrl-C at a controlling terminal does: SIGINT to the foreground process group
    # (the child's pseudo-terminal is not its controlling terminal, so send it directly).
    os.killpg(terminal.proc.pid, signal.SIGINT)
    assert terminal.proc.wait(timeout=30) in (0, 130)
    after = termios.tcgetattr(terminal.master)
    lflag = 3
    for flag in (termios.ICANON, termios.ECHO):
        assert after[lflag] & flag == before[lflag] & flag
