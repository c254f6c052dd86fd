"""Reading the deployment files the way their tools do, for the deployment tests: the
Dockerfile's instructions per stage (line continuations joined, exec forms as JSON), and
the image's environment and commands translated to this machine."""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
IMAGE_VENV = "/opt/papersbot"  # where the Dockerfile installs papersbot


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def one(self, keyword: str) -> str:
        found = self.all(keyword)
        assert len(found) == 1, f"{keyword}: {found}"
        return found[0]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for args in self.all("ENV"):
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                values[key] = value
        return values


def instructions(text: str) -> list[tuple[str, str]]:
    """``(KEYWORD, arguments)`` for every instruction, continuations joined, comments out."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        found.append((keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continuation"
    return found


def stages(path: Path = DOCKERFILE) -> list[Stage]:
    parsed: list[Stage] = []
    args: dict[str, str] = {}
    for keyword, rest in instructions(path.read_text()):
        if keyword == "ARG" and not parsed:
            key, _, value = rest.partition("=")
            args[key] = value
        elif keyword == "FROM":
            words = rest.split()
            base = words[0]
            for key, value in args.items():
                base = base.replace("${" + key + "}", value)
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            parsed.append(Stage(base, name))
        else:
            assert parsed, f"{keyword} before FROM"
            parsed[-1].instructions.append((keyword, rest))
    return parsed


def exec_form(args: str) -> list[str]:
    """A JSON-array (exec form) command; a shell-form one fails the test."""
    value = json.loads(args)
    assert isinstance(value, list), args
    assert all(isinstance(part, str) for part in value), args
    return value


def healthcheck_command(stage: Stage) -> list[str]:
    """The HEALTHCHECK's command (after its options)."""
    args = stage.one("HEALTHCHECK")
    _, _, command = args.partition("CMD ")
    return exec_form(command.strip())


def on_this_machine(command: list[str]) -> list[str]:
    """An image command run from this test's virtualenv instead of the image's."""
    venv_bin = Path(sys.executable).parent
    head = command[0]
    if head in ("python", "python3"):
        return [sys.executable, *command[1:]]
    if head.startswith(IMAGE_VENV):
        head = str(venv_bin / Path(head).name)
    elif "/" not in head:
        head = str(venv_bin / head)
    return [head, *command[1:]]
