"""The composition root: every I/O object is built here, once, and passed in.

Nothing else in the code base opens a client, a database or reads settings. The CLI
(:mod:`bot.cli`) opens an :class:`App` and hands ``app.context`` to the adapters it loads
from the registry (:mod:`bot.plugins`); ``run``, ``demo`` and ``demo --simulate`` all build
the same App (the simulation only passes its own clock and a temporary database).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import httpx

from bot.config import Settings
from bot.delivery.clockwork import Clockwork
from bot.delivery.coordinator import Coordinator
from bot.delivery.dispatcher import Dispatcher
from bot.ops.health import Operations
from bot.ops.metrics import Metrics
from bot.plugins import AdapterContext
from bot.service.installs import WorkspaceInstalls
from bot.service.papersbot import PapersBot
from bot.service.sealing import Sealer
from bot.sources.backfill import BackfillProgress
from bot.sources.hf import HuggingFaceSource
from bot.sources.http import Fetcher, build_client
from bot.sources.ingest import Ingestor, refresh_recent
from bot.store import Database, open_database


def utc_now() -> datetime:
    return datetime.now(UTC)


def bundled_snapshot() -> Path:
    """The real recorded days shipped inside the package (see ``bot/data/PROVENANCE.md``)."""
    return Path(str(resources.files("bot") / "data" / "snapshot.jsonl.gz"))


@dataclass(frozen=True, slots=True)
class App:
    settings: Settings
    store: Database
    bot: PapersBot
    ingestor: Ingestor
    hf: HuggingFaceSource
    clock: Callable[[], datetime]
    dispatcher: Dispatcher  # couriers are added as platform adapters connect
    clockwork: Clockwork  # not started: the coordinator starts it in the leading process
    coordinator: Coordinator  # leads (the clockwork) or follows (sends); the CLI runs it
    operations: Operations  # /healthz, /readyz, /metrics (served by the CLI and Slack HTTP)
    backfill: BackfillProgress  # the first-day backfill, if `run` starts one
    installs: WorkspaceInstalls | None = None  # with PAPERSBOT_SECRET_KEY only

    @property
    def context(self) -> AdapterContext:
        """What an adapter is built with (see :mod:`bot.plugins`)."""
        return AdapterContext(
            bot=self.bot,
            settings=self.settings,
            clock=self.clock,
            operations=self.operations,
            observer=self.operations.metrics,
            installs=self.installs,
        )


@asynccontextmanager
async def open_app(
    settings: Settings,
    *,
    database: str | Path | None = None,
    offline: bool = False,
    clock: Callable[[], datetime] = utc_now,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[App]:
    """Open the store and HTTP client, build the bot; close everything on exit.

    *offline* keeps the bot from looking papers up on Hugging Face (the demo).
    """
    # A key that is set must be a key (ConfigError naming it); unset, OAuth mode refuses
    # to start when the Slack adapter starts, and everything else runs as before.
    key = settings.papersbot_secret_key
    sealer = Sealer.from_setting(key) if key is not None else None
    async with build_client(settings, transport=transport) as client:
        store = await open_database(database or settings.papersbot_database, check=True)
        try:
            metrics = Metrics()
            progress = BackfillProgress()
            fetcher = Fetcher(
                client,
                "Hugging Face",
                retries=settings.papersbot_http_retries,
                observer=metrics,
                label="hf",
            )
            token = settings.hf_token.get_secret_value() if settings.hf_token else None
            hf = HuggingFaceSource(fetcher, settings.hf_api_url, token)
            ingestor = Ingestor(store=store, clock=clock)
            dispatcher = Dispatcher(
                store,
                clock,
                {},
                grace=timedelta(hours=settings.papersbot_grace_hours),
                lease=timedelta(seconds=settings.papersbot_lease_seconds),
                observer=metrics,
            )
            clockwork = Clockwork(
                store,
                dispatcher,
                clock=clock,
                refresh=None if offline else (lambda: refresh_recent(ingestor, hf, clock())),
                refresh_every=timedelta(minutes=settings.papersbot_refresh_minutes),
            )
            coordinator = Coordinator(clockwork, dispatcher, store.leadership())
            bot = PapersBot(
                store=store,
                clock=clock,
                lookup=None if offline else hf,
                default_tz=settings.papersbot_timezone,
                on_schedule_change=clockwork.rearm,
                observer=metrics,
                backfill=progress,
            )
            operations = Operations(
                store=store, metrics=metrics, clockwork=coordinator, clock=clock, backfill=progress
            )
            installs = WorkspaceInstalls(store, sealer, clock) if sealer is not None else None
            yield App(
                settings,
                store,
                bot,
                ingestor,
                hf,
                clock,
                dispatcher,
                clockwork,
                coordinator,
                operations,
                progress,
                installs,
            )
        finally:
            await store.close()
