"""The ``papersbot`` command line. Exit codes: 0 success, 2 bad usage or configuration,
1 any other failure.

    papersbot run                      every configured adapter (the console when none is)
    papersbot demo [--once]            offline, on the bundled real snapshot
    papersbot demo --simulate 3d       fast-forward days: watch digests and DMs fire
    papersbot ingest [--date D | --since D | --from-file PATH]
    papersbot search QUERY...          one-shot; each result line shows its arXiv id
    papersbot discord-invite           the OAuth2 URL that adds the bot to a server
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import tempfile
from collections.abc import Coroutine
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.text import Text

from adapters.console import (
    CONSOLE_CALLER,
    ConsoleCourier,
    ConsoleSession,
    render,
    render_lines,
)
from bot.app import App, bundled_snapshot, configure_logging, open_app, utc_now
from bot.config import Settings, load_settings
from bot.delivery.simulate import DEFAULT_SCRIPT, SimClock, parse_span, simulate, span_words
from bot.errors import ConfigError, PapersbotError
from bot.grammar.commands import DEFAULT_COUNT, Search
from bot.model.replies import Reply
from bot.service.papersbot import PAGE_SIZE, PapersBot
from bot.sources.ingest import REFRESH_DAYS, IngestSummary, refresh_recent, weekdays
from bot.store import Store

log = logging.getLogger(__name__)

COURIER_WAIT = timedelta(seconds=60)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-08-19") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="papersbot", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="start every configured adapter (console when none is)")
    demo = sub.add_parser("demo", help="offline demo on a bundled snapshot of real days")
    demo.add_argument("--once", action="store_true", help="print the digest and exit")
    demo.add_argument("--database", help="keep the demo store in this file (default: temp)")
    demo.add_argument(
        "--simulate",
        metavar="SPAN",
        help="fast-forward SPAN (e.g. 3d, 36h) on a simulated clock and print every "
        "scheduled post as it fires",
    )
    demo.add_argument(
        "--script",
        help="commands to run before the fast-forward, separated by ';' (default: a digest "
        "and two subscriptions)",
    )
    ingest = sub.add_parser("ingest", help="fetch Daily Papers into the store")
    which = ingest.add_mutually_exclusive_group()
    which.add_argument("--date", type=_day, help="one day (YYYY-MM-DD)")
    which.add_argument("--since", type=_day, help="every weekday from this day to today")
    which.add_argument(
        "--from-file",
        type=Path,
        metavar="PATH",
        help="a daily_papers JSON array or {date, items} JSON lines (.gz ok)",
    )
    search = sub.add_parser("search", help="search the store once and print the results")
    search.add_argument("query", nargs="+", help="query, e.g. 'diffusion -video since:30d'")
    search.add_argument("--page", type=int, default=1, help="result page (5 per page)")
    invite = sub.add_parser("discord-invite", help="print the Discord OAuth2 invite URL")
    invite.add_argument(
        "--application-id", help="the application id (default: read from DISCORD_TOKEN)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Wrap for a person at a terminal; keep one line per item for pipes and logs.
    console = Console(soft_wrap=not sys.stdout.isatty())
    try:
        settings = load_settings()
        configure_logging(settings)
        return asyncio.run(_dispatch(args, settings, console))
    except ConfigError as exc:
        Console(stderr=True).print(
            f"[red]configuration error:[/] {exc}", markup=True, highlight=False
        )
        return 2
    except PapersbotError as exc:
        Console(stderr=True).print(f"papersbot: {exc}", markup=False, highlight=False)
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a busy port, an unreachable platform API at start-up, ...
        log.debug("start-up failed", exc_info=True)
        Console(stderr=True).print(f"papersbot: {exc}", markup=False, highlight=False)
        return 1
    except Exception:
        log.exception("papersbot stopped on an unexpected error")
        Console(stderr=True).print(
            "papersbot: stopped on an unexpected error (logged above)", markup=False
        )
        return 1


async def _dispatch(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    if args.command == "demo" and args.simulate:
        return await simulate_demo(settings, console, args.simulate, args.script)
    if args.command == "demo":
        return await demo(settings, console, once=args.once, database=args.database)
    if args.command == "run":
        return await run(settings, console)
    if args.command == "ingest":
        return await ingest(settings, console, args)
    if args.command == "discord-invite":
        return discord_invite(settings, console, args.application_id)
    return await search_once(settings, console, " ".join(args.query), args.page)


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
            render(await app.bot.respond(f"today {DEFAULT_COUNT}"), console)
            if not once and sys.stdin.isatty():
                await ConsoleSession(app.bot, console).run()
    return 0


async def simulate_demo(
    settings: Settings, console: Console, span_text: str, script_text: str | None
) -> int:
    """``demo --simulate``: a fast-forward of scheduled posts on real recorded days."""
    span = parse_span(span_text)
    script = (
        tuple(part.strip() for part in script_text.split(";") if part.strip())
        if script_text
        else DEFAULT_SCRIPT
    )
    with tempfile.TemporaryDirectory(prefix="papersbot-sim-") as tmp:
        store = await Store.open(Path(tmp) / "sim.db")
        try:
            clock_box: list[SimClock] = []

            def now() -> datetime:
                return clock_box[0]() if clock_box else utc_now()

            bot = PapersBot(store=store, clock=now, default_tz=settings.papersbot_timezone)

            async def say(line: str, clock: SimClock) -> Reply:
                clock_box[:] = [clock]
                return await bot.respond(line, CONSOLE_CALLER)

            report = await simulate(
                store,
                bundled_snapshot(),
                span,
                courier=ConsoleCourier(console, clock=now),
                say=say,
                script=script,
                show=lambda reply: render(reply, console),
                announce=lambda text: console.print(Text(text, style="dim")),
                grace=timedelta(hours=settings.papersbot_grace_hours),
            )
        finally:
            await store.close()
    console.print(
        f"Simulated {span_words(span)}: {report.sent} posts sent, {report.silent} quiet "
        f"days recorded silently, {report.missed} missed, {report.failed} failed.",
        highlight=False,
    )
    return 0


async def run(settings: Settings, console: Console) -> int:
    """Start every configured adapter; with no platform token, say so and use the console.

    Scheduled delivery and the Daily Papers refresh run on
    :class:`~bot.delivery.clockwork.Clockwork` beside the adapters; each adapter hands its
    courier to the dispatcher as it connects.
    """
    if not (settings.slack_configured or settings.discord_configured):
        console.print(
            "No SLACK_BOT_TOKEN or DISCORD_TOKEN is set: starting the console adapter.",
            highlight=False,
        )
        async with open_app(settings) as app:
            if not sys.stdin.isatty():
                await _refresh(app, console)
                render(await app.bot.respond("status"), console)
                console.print("stdin is not a terminal; nothing more to do.")
                return 0
            app.dispatcher.add_courier(ConsoleCourier(console))
            await app.clockwork.start()
            try:
                await ConsoleSession(app.bot, console).run()
            finally:
                await app.clockwork.stop()
        return 0
    async with open_app(settings) as app:
        adapters = await _platform_adapters(app, settings)
        console.print(f"Starting {', '.join(name for name, _ in adapters)}.", highlight=False)
        platforms = {name.lower() for name, _ in adapters}
        await _until_stopped([coro for _, coro in adapters], _clockwork(app, platforms))
    return 0


async def _clockwork(app: App, platforms: set[str]) -> None:
    """Scheduled delivery and refresh, until cancelled. The catch-up pass waits (up to
    :data:`COURIER_WAIT`) for every adapter to connect, so it does not burn a retry on a
    platform that is seconds away from being ready."""
    try:
        async with asyncio.timeout(COURIER_WAIT.total_seconds()):
            await app.dispatcher.wait_for(platforms)
    except TimeoutError:
        log.warning("starting scheduled delivery before every platform connected")
    await app.clockwork.start()
    try:
        await asyncio.Event().wait()
    finally:
        await app.clockwork.stop()


async def _platform_adapters(
    app: App, settings: Settings
) -> list[tuple[str, Coroutine[Any, Any, None]]]:
    """The configured platform adapters, imported only when configured (the core never is)."""
    adapters: list[tuple[str, Coroutine[Any, Any, None]]] = []
    if settings.slack_configured:
        adapters.append(("Slack", _slack(app, settings)))
    if settings.discord_configured:
        adapters.append(("Discord", _discord(app, settings)))
    return adapters


async def _slack(app: App, settings: Settings) -> None:
    from adapters.slack import open_slack

    async with open_slack(app.bot, settings) as runtime:
        app.dispatcher.add_courier(runtime.courier)
        await asyncio.Event().wait()


async def _discord(app: App, settings: Settings) -> None:
    from adapters.discord import DiscordCourier, create_client, run_discord

    client = create_client(app.bot, settings)

    async def when_ready() -> None:
        await client.connected.wait()
        app.dispatcher.add_courier(DiscordCourier(client))

    ready = asyncio.create_task(when_ready())
    try:
        await run_discord(app.bot, settings, client=client)
    finally:
        ready.cancel()


async def _until_stopped(
    coros: list[Coroutine[Any, Any, None]], background: Coroutine[Any, Any, None]
) -> None:
    """Run the adapters (and *background*) until an adapter stops or fails, or SIGINT/SIGTERM
    arrives; then cancel and await everything."""
    loop = asyncio.get_running_loop()
    tasks = [asyncio.ensure_future(c) for c in coros]
    helper = asyncio.ensure_future(background)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter:
                task.result()  # re-raise an adapter's failure (ConfigError names the key)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        for task in [*tasks, helper, waiter]:
            task.cancel()
        await asyncio.gather(*tasks, helper, waiter, return_exceptions=True)


async def _refresh(app: App, console: Console) -> None:
    summary = await refresh_recent(app.ingestor, app.hf, app.clock())
    _print_summary(console, summary)


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
        _print_summary(console, summary)
    return 1 if summary.failed_days and len(summary.failed_days) == summary.days else 0


def _print_summary(console: Console, summary: IngestSummary) -> None:
    console.print(
        f"{summary.days} day(s): {summary.papers} papers, {summary.new} new", highlight=False
    )
    for day, error in summary.failed_days:
        console.print(f"  {day}: failed: {error}", markup=False, highlight=False)


def discord_invite(settings: Settings, console: Console, application_id: str | None) -> int:
    """Print the invite URL with exactly the scopes and permissions the bot needs."""
    from adapters.discord.permissions import application_id_from_token, invite_url

    app_id: int | str | None = application_id
    if app_id is None and settings.discord_token is not None:
        app_id = application_id_from_token(settings.discord_token.get_secret_value())
    if app_id is None or not str(app_id).isdigit():
        raise ConfigError(
            "set DISCORD_TOKEN or pass --application-id (the number on the Developer "
            "Portal's General Information page)"
        )
    console.print(invite_url(app_id), markup=False, highlight=False, soft_wrap=True)
    return 0


async def search_once(settings: Settings, console: Console, query: str, page: int) -> int:
    if page < 1:
        raise ConfigError("--page must be 1 or more")
    async with open_app(settings) as app:
        reply = await app.bot.run_command(Search(query, offset=(page - 1) * PAGE_SIZE))
        render_lines(reply, console)
    return 1 if reply.is_error else 0
