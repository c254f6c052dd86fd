"""The one-shot commands: ``demo`` (and ``--simulate``), ``ingest``, ``search`` and the
platform invite links. They print through the registry's terminal (the console adapter)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.text import Text

from bot.app import bundled_snapshot, open_app
from bot.config import Settings
from bot.delivery.simulate import DEFAULT_SCRIPT, Simulation, parse_span, plural, span_words
from bot.errors import ConfigError, UserInputError
from bot.grammar.commands import DEFAULT_COUNT, Search
from bot.plugins import AdapterPlugin, load_plugins, terminal_plugin
from bot.service.papersbot import PAGE_SIZE
from bot.sources.ingest import REFRESH_DAYS, IngestSummary, weekdays
from bot.store import Store, is_postgres
from bot.store.backup import backup
from bot.store.lock import DatabaseLock
from bot.store.portable import Moved, export, import_into


async def demo(settings: Settings, console: Console, *, once: bool, database: str | None) -> int:
    """Load the bundled snapshot into a store, print the latest digest, then maybe a prompt."""
    with tempfile.TemporaryDirectory(prefix="papersbot-demo-") as tmp:
        path = database or str(Path(tmp) / "demo.db")
        async with open_app(settings, database=path, offline=True) as app:
            summary = await app.ingestor.from_file(bundled_snapshot())
            console.print(
                f"[dim]papersbot demo · offline · bundled snapshot: {summary.days} real Daily "
                f"Papers days, {summary.papers} papers[/]",
                highlight=False,
            )
            terminal = terminal_plugin().create(app.context)
            terminal.show(await app.bot.respond(f"today {DEFAULT_COUNT}"))
            if not once and sys.stdin.isatty():
                await terminal.start()
                try:
                    await terminal.closed()
                finally:
                    await terminal.stop()
    return 0


async def simulate_demo(
    settings: Settings, console: Console, span_text: str, script_text: str | None
) -> int:
    """``demo --simulate``: the app ``run`` builds, on a simulated clock over recorded days."""
    simulation = Simulation.plan(bundled_snapshot(), parse_span(span_text))
    script = (
        tuple(part.strip() for part in script_text.split(";") if part.strip())
        if script_text
        else DEFAULT_SCRIPT
    )
    with tempfile.TemporaryDirectory(prefix="papersbot-sim-") as tmp:
        database = Path(tmp) / "sim.db"
        async with open_app(
            settings, database=database, offline=True, clock=simulation.clock
        ) as app:
            terminal = terminal_plugin().create(app.context)
            if terminal.courier is not None:
                app.dispatcher.add_courier(terminal.courier)
            report = await simulation.run(
                app.store,
                app.dispatcher,
                say=terminal.handle,
                script=script,
                show=terminal.show,
                announce=lambda text: console.print(Text(text, style="dim")),
            )
    console.print(
        f"Simulated {span_words(simulation.span)}: {plural(report.sent, 'post')} sent, "
        f"{plural(report.silent, 'quiet day')} recorded silently, {report.missed} missed, "
        f"{report.failed} failed.",
        highlight=False,
    )
    return 0


async def ingest(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    async with open_app(settings) as app:
        if args.from_file is not None:
            with Progress(console=console, transient=True) as bar:
                task = bar.add_task(f"reading {args.from_file.name}", total=None)
                summary = await app.ingestor.from_file(
                    args.from_file, progress=lambda done, _: bar.update(task, completed=done)
                )
        else:
            today = app.clock().date()
            if args.date:
                days = [args.date]
            else:
                start = args.since or today - timedelta(days=REFRESH_DAYS + 2)
                days = weekdays(start, today)
            with Progress(console=console, transient=True) as bar:
                task = bar.add_task("fetching Daily Papers", total=len(days))
                summary = await app.ingestor.fetch_days(
                    app.hf, days, progress=lambda done, _: bar.update(task, completed=done)
                )
        print_summary(console, summary)
    if not summary.complete:
        return 1  # what was read is stored (and printed above), but the file is damaged
    return 1 if summary.failed_days and len(summary.failed_days) == summary.days else 0


def print_summary(console: Console, summary: IngestSummary) -> None:
    console.print(
        f"{summary.days} day(s): {summary.papers} papers, {summary.new} new", highlight=False
    )
    for day, error in summary.failed_days:
        console.print(f"  {day}: failed: {error}", markup=False, highlight=False)
    shown = summary.notes[:20]
    for note in shown:
        console.print(f"  {note}", markup=False, highlight=False)
    if len(summary.notes) > len(shown):
        console.print(f"  ... and {len(summary.notes) - len(shown)} more (see the log)")


def invite(settings: Settings, console: Console, platform: str, application_id: str | None) -> int:
    """Print a platform's invite URL (exactly the scopes and permissions the bot needs)."""
    plugin = load_plugins().get(platform)
    if not isinstance(plugin, AdapterPlugin) or plugin.invite_url is None:
        raise ConfigError(f"no installed adapter makes {platform} invite links")
    console.print(
        plugin.invite_url(settings, application_id), markup=False, highlight=False, soft_wrap=True
    )
    return 0


async def search_once(settings: Settings, console: Console, query: str, page: int) -> int:
    if page < 1:
        raise ConfigError("--page must be 1 or more")
    async with open_app(settings) as app:
        reply = await app.bot.run_command(Search(query, offset=(page - 1) * PAGE_SIZE))
        terminal_plugin().create(app.context).show(reply, compact=True)
    return 1 if reply.is_error else 0


async def backup_database(settings: Settings, console: Console, path: Path) -> int:
    """``papersbot backup PATH``: copy the configured database online (see
    :mod:`bot.store.backup`). SQLite only: a PostgreSQL server has its own tools."""
    if is_postgres(settings.papersbot_database):
        raise UserInputError(
            "papersbot backup copies a SQLite file; for PostgreSQL use the server's tools, "
            "e.g. pg_dump --format=custom --file=papersbot.dump DATABASE "
            "(or papersbot export PATH for a portable copy)"
        )
    summary = await asyncio.to_thread(backup, Path(settings.papersbot_database), path)
    console.print(
        f"Backed up {settings.papersbot_database} to {summary.path} "
        f"({summary.pages} pages, {summary.size:,} bytes, checked).",
        markup=False,
        highlight=False,
    )
    return 0


def _moved(rows: dict[str, int]) -> str:
    return ", ".join(f"{count:,} {table.replace('_', ' ')}" for table, count in rows.items())


def _named(database: str) -> str:
    """*database* for a message: a PostgreSQL URL without its password."""
    if not is_postgres(database):
        return database
    from bot.store.pg.db import redact  # asyncpg is loaded only when it is used

    return redact(database)


async def export_database(settings: Settings, console: Console, path: Path) -> int:
    """``papersbot export PATH``: the store as portable JSON lines (see
    :mod:`bot.store.portable`, and :mod:`bot.store.pg.portable` for PostgreSQL);
    consistent while ``run`` writes."""
    database = str(settings.papersbot_database)
    if is_postgres(database):
        from bot.store.pg import portable  # asyncpg is loaded only when it is used

        moved = await portable.export(database, path)
    else:
        moved = await asyncio.to_thread(export, Path(database), path)
    console.print(
        f"Exported {_named(database)} to {moved.path}: {_moved(moved.rows)}.",
        markup=False,
        highlight=False,
    )
    return 0


async def import_database(settings: Settings, console: Console, path: Path, *, merge: bool) -> int:
    """``papersbot import PATH [--merge]``: into a new (or papers-only) store, all or
    nothing. SQLite: while no ``run`` uses the file (its lock). PostgreSQL: in one
    transaction, after the schema is migrated."""
    database = str(settings.papersbot_database)
    if is_postgres(database):
        from bot.store.pg import portable

        moved = await portable.import_into(database, path, merge=merge)
    else:
        moved = await _import_sqlite(Path(database), path, merge=merge)
    console.print(
        f"Imported {moved.path} into {_named(database)}: {_moved(moved.rows)}.",
        markup=False,
        highlight=False,
    )
    return 0


async def _import_sqlite(database: Path, path: Path, *, merge: bool) -> Moved:
    with DatabaseLock(str(database)):
        store = await Store.open(database, check=True)  # migrated to this release's schema
        await store.close()
        return await asyncio.to_thread(import_into, database, path, merge=merge)
