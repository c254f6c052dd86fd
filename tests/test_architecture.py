"""The layering rules of STYLE.md, checked on the source: the core is platform-free and the
adapters leave I/O plumbing to the core."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def fresh_interpreter(script: str) -> dict[str, Any]:
    """Run *script* in a new Python (nothing imported yet) and return the JSON object its
    last printed line holds."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


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
    report = fresh_interpreter(script)
    assert {"bot.model.ids", "bot.grammar.query", "bot.search.engine", "bot.store.db"} <= set(
        report["imported"]
    )
    assert report["platform"] == []


# -- the import graph of the core ---------------------------------------------------------

# Layers, lowest first: a module imports only from its own layer or those below it (the
# package docstrings say the same). Within a layer, the graph must have no cycle.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"bot.errors", "bot.identity", "bot.config", "bot.observe"}),
    frozenset({"bot.model"}),
    frozenset({"bot.grammar"}),
    frozenset({"bot.store"}),
    frozenset({"bot.search"}),
    frozenset({"bot.sources"}),
    frozenset({"bot.delivery"}),
    frozenset({"bot.service"}),
    frozenset({"bot.plugins", "bot.app", "bot.cli", "bot.ops", "bot.__main__", "bot"}),
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The ``bot`` modules *path* imports anywhere (functions included): ``from bot.x import
    y`` counts as ``bot.x.y`` when that is a module, else as ``bot.x``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else node.module)
    return {name for name in found if name in known}


def core_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in modules("bot")}
    known = set(paths)
    return {name: imported_modules(path, known) - {name} for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of *graph* as a path ``[a, b, ..., a]``, or ``None``."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def layer_of(module: str) -> int:
    for rank, layer in enumerate(LAYERS):
        if any(module == top or module.startswith(top + ".") for top in layer if top != "bot"):
            return rank
    assert module == "bot", f"{module} is in no layer of LAYERS"
    return len(LAYERS) - 1


def test_cycle_finder_finds_a_cycle_through_a_function_level_import() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a"}}) is None


def test_the_core_import_graph_has_no_cycle() -> None:
    graph = core_graph()
    assert {"bot.delivery.compose", "bot.service.status"} <= set(graph)
    assert find_cycle(graph) is None


def test_every_core_module_imports_only_its_own_layer_or_lower() -> None:
    wrong = [
        f"{module} (layer {layer_of(module)}) imports {dep} (layer {layer_of(dep)})"
        for module, deps in core_graph().items()
        for dep in deps
        if module != "bot" and layer_of(dep) > layer_of(module)
    ]
    assert wrong == []


def test_core_modules_do_not_import_the_public_surface() -> None:
    """``bot/__init__`` re-exports the core for adapters; a core module importing it back
    would import the whole core (and a cycle) through the package."""
    offenders = [
        module
        for module, path in ((module_name(p), p) for p in modules("bot"))
        if module != "bot"
        and any(
            isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "bot"
            for node in ast.walk(ast.parse(path.read_text("utf-8")))
        )
    ]
    assert offenders == []


@pytest.mark.parametrize("path", modules("adapters"), ids=lambda p: str(p.relative_to(ROOT)))
def test_adapters_use_only_the_cores_public_surface(path: Path) -> None:
    """``from bot import X`` with X in ``bot.__all__``; never ``bot.store.ledger.Target``."""
    import bot

    public = set(bot.__all__)
    for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            assert not any(a.name.split(".")[0] == "bot" for a in node.names), ast.unparse(node)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "bot":
            assert node.module == "bot", f"{path.name}: {ast.unparse(node)}"
            assert {a.name for a in node.names} <= public, ast.unparse(node)


# -- adapters plug in; the core does not know them ------------------------------------------


@pytest.mark.parametrize("path", modules("bot"), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_never_imports_an_adapter(path: Path) -> None:
    assert "adapters" not in imported_roots(path)


def test_the_registry_lists_the_shipped_adapters_without_loading_their_sdks() -> None:
    """The CLI finds adapters through the ``papersbot.adapters`` entry points; reading the
    registry (every ``papersbot`` command does) must not import slack-bolt or discord.py."""
    script = """
import json, sys
from bot.plugins import AdapterPlugin, TerminalPlugin, load_plugins
plugins = load_plugins()
kinds = {name: type(p).__name__ for name, p in plugins.items()}
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"slack_bolt", "slack_sdk", "discord"})
print(json.dumps({"kinds": kinds, "platform": loaded}))
"""
    report = fresh_interpreter(script)
    assert report["kinds"] == {
        "console": "TerminalPlugin",
        "discord": "AdapterPlugin",
        "slack": "AdapterPlugin",
    }
    assert report["platform"] == []
