"""``/healthz``, ``/readyz`` and ``/metrics`` as platform-free answers.

:class:`Operations` answers a path with an :class:`OpsAnswer` (status, content type, body);
the operations server (:mod:`bot.ops.server`) and, in Slack HTTP mode, the Slack adapter's
own port serve the same answers.

- ``/healthz``: 200 while the process's event loop answers (nothing else is checked: a
  liveness probe that restarts the bot while its database is slow helps no one).
- ``/readyz``: 200 when the store answers within :data:`STORE_TIMEOUT`, every configured
  adapter is connected and the delivery clock ticked within :attr:`Operations.tick_limit`
  (a pass still running counts as ticking); otherwise 503. Both carry a JSON body with each
  check and, on 503, ``reason``: the first check that failed, in words.
- ``/metrics``: the Prometheus text format (:mod:`bot.ops.metrics`), its state gauges read
  from the store first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.errors import StoreError
from bot.ops.metrics import CONTENT_TYPE, Metrics
from bot.sources.backfill import BackfillProgress
from bot.store.contract import Database

log = logging.getLogger(__name__)

PATHS = ("/healthz", "/readyz", "/metrics")
STORE_TIMEOUT = 2.0  # seconds the store has to answer a readiness check
JSON = "application/json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class OpsAnswer:
    """One HTTP answer: what the ops server or an adapter's web server sends back."""

    status: int
    content_type: str
    body: bytes


class Watched(Protocol):
    """What readiness needs of an adapter (the :class:`~bot.plugins.Adapter` port has it)."""

    @property
    def name(self) -> str: ...

    @property
    def ready(self) -> bool: ...


class Ticking(Protocol):
    """What readiness needs of the delivery clock (:class:`~bot.delivery.clockwork.Clockwork`)."""

    @property
    def ticked_ago(self) -> float | None: ...

    @property
    def sweep_every(self) -> timedelta: ...

    @property
    def leading(self) -> bool:
        """Whether this process runs the clock (else it follows: it only sends)."""
        ...


class Operations:
    """Answers the operations paths for one app. Adapters join with :meth:`watch`."""

    def __init__(
        self,
        *,
        store: Database,
        metrics: Metrics,
        clockwork: Ticking,
        clock: Callable[[], datetime],
        backfill: BackfillProgress,
    ) -> None:
        self._store = store
        self.metrics = metrics
        self._clockwork = clockwork
        self._clock = clock
        self._backfill = backfill
        self._adapters: list[Watched] = []

    @property
    def tick_limit(self) -> float:
        """Seconds without a tick after which the clock counts as stopped: three sweeps."""
        return 3 * self._clockwork.sweep_every.total_seconds()

    def watch(self, adapters: Sequence[Watched]) -> None:
        """Readiness waits for every one of *adapters* to be connected."""
        self._adapters = list(adapters)

    async def answer(self, path: str) -> OpsAnswer:
        """The answer to ``GET path`` (404 for any other path)."""
        if path == "/healthz":
            return _json(200, {"ok": True})
        if path == "/readyz":
            ready, body = await self.readiness()
            return _json(200 if ready else 503, body)
        if path == "/metrics":
            try:
                await asyncio.wait_for(self._store.ping(), STORE_TIMEOUT)
                await self._update_metrics()
            except (StoreError, sqlite3.Error, TimeoutError) as exc:  # counters still count
                log.warning("metrics without the store's gauges: %r", exc)
            return OpsAnswer(200, CONTENT_TYPE, self.metrics.render())
        return _json(404, {"error": f"no such path; try {', '.join(PATHS)}"})

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Whether the bot is ready, and each check's result."""
        checks: dict[str, Any] = {}
        reasons: list[str] = []
        try:
            await asyncio.wait_for(self._store.ping(), STORE_TIMEOUT)
            checks["store"] = "ok"
        except (StoreError, TimeoutError) as exc:
            checks["store"] = "unreachable"
            reasons.append(f"the store does not answer ({exc or 'timed out'})")
        checks["adapters"] = {
            a.name: "connected" if a.ready else "not connected" for a in self._adapters
        }
        reasons += [f"{a.name} is not connected" for a in self._adapters if not a.ready]
        ago = self._clockwork.ticked_ago
        if ago is None:
            checks["clock"] = "not started"
            reasons.append("the delivery clock has not started (waiting for adapters)")
        elif ago > self.tick_limit:
            checks["clock"] = f"last tick {ago:.0f} s ago"
            reasons.append(f"the delivery clock has not ticked for {ago:.0f} s")
        else:
            checks["clock"] = "ok"
        checks["role"] = "leader" if self._clockwork.leading else "follower"
        body: dict[str, Any] = {"ready": not reasons, "checks": checks}
        if reasons:
            body["reason"] = "; ".join(reasons)
        return not reasons, body

    async def _update_metrics(self) -> None:
        store = self._store
        runs = await store.runs.last()
        progress = self._backfill
        self.metrics.update(
            backlog=await store.ledger.backlog(now=self._clock()),
            last_success={
                source: ok.finished_at for source, (_, ok) in runs.items() if ok is not None
            },
            papers=await store.papers.count(),
            connected={a.name.lower(): a.ready for a in self._adapters},
            tick_age=self._clockwork.ticked_ago,
            leader=self._clockwork.leading,
            backfill={
                "planned": len(progress.days),
                "fetched": progress.done - len(progress.failed),
                "failed": len(progress.failed),
            },
        )


def _json(status: int, body: dict[str, Any]) -> OpsAnswer:
    return OpsAnswer(status, JSON, json.dumps(body).encode())
