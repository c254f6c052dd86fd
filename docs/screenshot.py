"""Record what ``make demo`` prints as an SVG picture for the README (``make screenshot``).

The digest is the one ``papersbot demo`` shows: the bundled real snapshot loaded into a
temporary store, ``today 5`` answered by the core and printed by the console adapter's own
renderer, into a rich ``Console(record=True)`` that saves SVG. Nothing here draws by hand:
a change to the renderer changes the picture the next time this runs.

    .venv/bin/python docs/screenshot.py docs/demo.svg
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import tempfile
from pathlib import Path

from rich.console import Console
from rich.text import Text

from adapters.console import render
from bot.app import bundled_snapshot, open_app
from bot.config import load_settings
from bot.grammar.commands import DEFAULT_COUNT

WIDTH = 100


async def record(path: Path) -> None:
    # Draw what a person at a capable terminal sees: hyperlinked labels, not raw URLs.
    for multiplexer in ("TMUX", "STY"):
        os.environ.pop(multiplexer, None)
    os.environ["TERM"] = "xterm-256color"
    console = Console(
        record=True,
        width=WIDTH,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
    )
    settings = load_settings(env_file=None)
    with tempfile.TemporaryDirectory(prefix="papersbot-shot-") as tmp:
        async with open_app(settings, database=Path(tmp) / "demo.db", offline=True) as app:
            summary = await app.ingestor.from_file(bundled_snapshot())
            console.print(Text("$ make demo", style="bold"))
            console.print(
                Text(
                    f"papersbot demo · offline · bundled snapshot: {summary.days} real Daily "
                    f"Papers days, {summary.papers} papers",
                    style="dim",
                )
            )
            render(await app.bot.respond(f"today {DEFAULT_COUNT}"), console)
    console.save_svg(str(path), title="papersbot demo")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="the SVG file to write")
    args = parser.parse_args()
    asyncio.run(record(args.path))
    print(f"wrote {args.path}")


if __name__ == "__main__":
    main()
