"""The layering rules of STYLE.md, checked on the source: the core is platform-free and the
adapters leave I/O plumbing to the core."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = frozenset({"slack_bolt", "slack_sdk", "discord"})
PLUMBING = frozenset({"httpx", "aiosqlite", "apscheduler"})


def modules(package: str) -> list[Path]:
    found = sorted((ROOT / package).rglob("*.py"))
    assert found, f"no modules under {package}/"
    return found


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every absolute import anywhere in the module (functions included)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            roots.add(node.args[0].value.split(".")[0])
    return roots


def test_import_scanner_sees_every_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import slack_sdk.web\n"
        "from discord import app_commands\n"
        "from . import sibling\n"
        "def later():\n"
        "    import httpx\n"
        "    importlib.import_module('aiosqlite.core')\n"
    )
    assert imported_roots(sample) == {"slack_sdk", "discord", "httpx", "aiosqlite"}


@pytest.mark.parametrize("path", modules("bot"), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_imports_no_platform_sdk(path: Path) -> None:
    assert not imported_roots(path) & PLATFORM


@pytest.mark.parametrize("path", modules("adapters"), ids=lambda p: str(p.relative_to(ROOT)))
def test_adapter_imports_no_io_plumbing(path: Path) -> None:
    assert not imported_roots(path) & PLUMBING


def test_importing_the_whole_core_loads_no_platform_sdk() -> None:
    """Import every ``bot.*`` module (``bot.__main__`` too: the console script imports it)."""
    script = """
import importlib, json, pkgutil, sys
import bot
names = sorted(m.name for m in pkgutil.walk_packages(bot.__path__, "bot."))
for name in names:
    importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"slack_bolt", "slack_sdk", "discord"})
print(json.dumps({"imported": names, "platform": loaded}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"bot.model.ids", "bot.grammar.query", "bot.search.engine", "bot.store.db"} <= set(
        report["imported"]
    )
    assert report["platform"] == []
