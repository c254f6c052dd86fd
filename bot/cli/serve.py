"""``papersbot run``: every configured adapter, scheduled delivery beside them, until a
signal or an adapter stops. One ``run`` per SQLite database: a second is refused at start
(:class:`~bot.store.lock.DatabaseLock`); on PostgreSQL any number share the database, one
of them leading the clock (:mod:`bot.delivery.coordinator`).

The adapters come from the registry (:mod:`bot.plugins`); this module never names one.
Each adapter hands its courier to the dispatcher as it connects; the clockwork (scheduled
delivery and the Daily Papers refresh) starts once every adapter is ready, or after
:data:`COURIER_WAIT`, so the catch-up pass does not burn a retry on a platform seconds away
from connecting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

from rich.console import Console

from bot.app import App, open_app
from bot.cli.elected import Elected
from bot.cli.offline import print_summary
from bot.config import Settings
from bot.ops.server import serve_ops
from bot.plugins import Adapter, AdapterPlugin, platform_plugins, terminal_plugin
from bot.sources.backfill import backfill, backfill_days
from bot.sources.ingest import refresh_recent
from bot.store import is_postgres
from bot.store.lock import DatabaseLock

log = logging.getLogger(__name__)

COURIER_WAIT = timedelta(seconds=60)


async def run(settings: Settings, console: Console) -> int:
    """Start every configured adapter; with no platform configured, say so and use the
    terminal (the console)."""
    plugins = platform_plugins(settings)
    if is_postgres(settings.papersbot_database):
        return await _run(settings, console, plugins)  # any number of processes may share it
    with DatabaseLock(settings.papersbot_database):
        return await _run(settings, console, plugins)


async def _run(settings: Settings, console: Console, plugins: list[AdapterPlugin]) -> int:
    async with open_app(settings) as app:
        first_start = await app.store.papers.count() == 0
        if plugins:
            adapters = [_adapter(app, plugin) for plugin in plugins]
            console.print(f"Starting {', '.join(a.name for a in adapters)}.", highlight=False)
            await serve(app, adapters, backfill_now=first_start)
            return 0
        console.print(
            "No SLACK_BOT_TOKEN or DISCORD_TOKEN is set: starting the console adapter.",
            highlight=False,
        )
        terminal = terminal_plugin().create(app.context)
        if not sys.stdin.isatty():
            summary = await refresh_recent(app.ingestor, app.hf, app.clock())
            print_summary(console, summary)
            terminal.show(await app.bot.respond("status"))
            console.print("stdin is not a terminal; nothing more to do.")
            return 0
        await serve(app, [terminal], backfill_now=first_start)
        return 0


def _adapter(app: App, plugin: AdapterPlugin) -> Adapter:
    """*plugin*'s adapter; one that allows a single session per bot runs, on a shared
    PostgreSQL store, in one elected process at a time (:mod:`bot.cli.elected`)."""
    if plugin.one_session and is_postgres(app.settings.papersbot_database):
        role = f"adapter:{plugin.name}"
        return Elected(
            lambda: plugin.create(app.context), app.store.leadership(role), app.dispatcher
        )
    return plugin.create(app.context)


async def serve(app: App, adapters: list[Adapter], *, backfill_now: bool = False) -> None:
    """Run *adapters* and the clockwork until an adapter stops or fails, or SIGINT/SIGTERM
    arrives; then stop everything. An adapter's failure (a ConfigError naming a rejected
    token, say) is raised after the others are stopped. The operations server (when
    ``PAPERSBOT_HEALTH_PORT`` is set) answers from before the adapters connect until
    shutdown begins; *backfill_now* starts the first-day backfill beside them."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks: list[asyncio.Task[None]] = []
    app.operations.watch(adapters)
    app.operations.metrics.expect_platforms([a.name.lower() for a in adapters])
    try:
        async with _operations_server(app):
            for adapter in adapters:
                await adapter.start()
            hookups = [asyncio.create_task(_hand_over(app, a)) for a in adapters]
            tasks = [asyncio.create_task(a.closed()) for a in adapters]
            tasks.append(asyncio.create_task(_until(stop)))
            clock = asyncio.create_task(_clockwork(app, hookups))
            background = [asyncio.create_task(_backfill(app))] if backfill_now else []
            done, _ = await asyncio.wait([*tasks, clock], return_when=asyncio.FIRST_COMPLETED)
            tasks += [clock, *hookups, *background]
            for task in done:
                task.result()  # re-raise an adapter's failure
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for adapter in reversed(adapters):
            await adapter.stop()


async def _hand_over(app: App, adapter: Adapter) -> None:
    """Give the dispatcher the adapter's courier once it is connected."""
    await adapter.until_ready()
    courier = adapter.courier
    if courier is not None:
        app.dispatcher.add_courier(courier)


async def _until(stop: asyncio.Event) -> None:
    await stop.wait()


async def _clockwork(app: App, hookups: list[asyncio.Task[None]]) -> None:
    """Scheduled delivery and refresh, until cancelled: the clockwork in the leading
    process, a share of the sending in every process (:mod:`bot.delivery.coordinator`)."""
    _, pending = await asyncio.wait(hookups, timeout=COURIER_WAIT.total_seconds())
    if pending:
        log.warning("starting scheduled delivery before every platform connected")
    await app.coordinator.run()


@contextlib.asynccontextmanager
async def _operations_server(app: App) -> AsyncIterator[None]:
    """``/healthz``, ``/readyz`` and ``/metrics`` on ``PAPERSBOT_HEALTH_PORT``, if set."""
    port = app.settings.papersbot_health_port
    if port is None:
        yield
        return
    async with serve_ops(app.operations, app.settings.papersbot_health_host, port):
        yield


async def _backfill(app: App) -> None:
    """The first-day backfill (see :mod:`bot.sources.backfill`); commands are answered
    meanwhile, it only shares the store's write lock with them."""
    days = backfill_days(app.clock().date(), app.settings.papersbot_backfill_days)
    if not days:
        return
    app.backfill.days = tuple(days)
    try:
        await backfill(
            app.ingestor,
            app.hf,
            app.backfill,
            clock=app.clock,
            interval=app.settings.papersbot_backfill_interval,
        )
    except Exception:  # never take the bot down with it
        log.exception("backfill failed unexpectedly")
        app.backfill.stopped = "an unexpected error (logged)"
        app.backfill.finished_at = app.clock()
