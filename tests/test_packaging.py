"""Packaging hygiene: the version, the licence, the help text and what each make target
installs."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from bot.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"papersbot {metadata.version('papersbot')}"


def test_the_licence_is_mit_everywhere() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License")
    assert "Copyright (c) 2026 The papersbot authors" in licence
    # The installed metadata was written by a setuptools that knows SPDX expressions
    # (Metadata 2.4, setuptools >= 77): no deprecation warning at install.
    meta = metadata.metadata("papersbot")
    assert meta["License-Expression"] == "MIT"
    assert "LICENSE" in (meta.get_all("License-File") or [])
    requires = project["build-system"]["requires"]
    assert any(re.fullmatch(r"setuptools>=(\d+)", r) and int(r[12:]) >= 77 for r in requires)


def test_help_is_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "``" not in text
    assert "Trending research papers" in text
    assert "--version" in text
    commands = _subcommands()
    assert {"run", "demo", "ingest", "search", "backup", "discord-invite"} <= set(commands)
    for name, summary in commands.items():
        assert summary, f"`{name}` has no description"
        assert "\n" not in summary, name
        assert len(summary) <= 70, name
        # listed in the top-level help with its one-line summary
        assert re.search(rf"^\s+{re.escape(name)}\s+{re.escape(summary)}$", text, re.M), name


@pytest.mark.parametrize("name", ["run", "demo", "ingest", "search", "backup"])
def test_each_command_help_opens_with_its_summary(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main([name, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    summary = _subcommands()[name]
    assert summary[0].upper() + summary[1:] + "." in " ".join(out.split())


def _subcommands() -> dict[str, str]:
    parser = build_parser()
    actions = [a for a in parser._actions if a.dest == "command"]
    return {choice.dest: choice.help or "" for choice in actions[0]._choices_actions}  # type: ignore[attr-defined]


def _make_plan(target: str, tmp_path: Path) -> str:
    """The commands ``make TARGET`` would run on a fresh clone (no venv yet)."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    done = subprocess.run(
        [make, "-n", "-C", str(ROOT), target, f"VENV={tmp_path / 'fresh-venv'}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout


def test_make_demo_installs_no_test_tools(tmp_path: Path) -> None:
    plan = _make_plan("demo", tmp_path)
    assert "pip install --quiet -e ." in plan
    assert "[dev]" not in plan
    assert "papersbot demo" in plan


@pytest.mark.parametrize("target", ["test", "lint"])
def test_make_test_installs_the_runtime_then_the_dev_extra(target: str, tmp_path: Path) -> None:
    plan = _make_plan(target, tmp_path)
    runtime = plan.index("pip install --quiet -e .\n")
    dev = plan.index("pip install --quiet -e '.[dev]'")
    assert runtime < dev < plan.index("ruff format --check")
