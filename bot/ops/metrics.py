"""The Prometheus metrics of one papersbot process (see the README's Monitoring table).

:class:`Metrics` owns its own :class:`~prometheus_client.CollectorRegistry` (several apps in
one test process never share counters) and implements :class:`~bot.observe.Observer`, so the
core counts commands, deliveries, fetches and rate-limit waits where they happen. Gauges
that describe state (the ledger's backlog, the last successful fetch per source, papers
stored, adapters connected, the backfill) are set from the store just before each scrape
(:meth:`Metrics.update`), so they are true after a restart too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from bot.identity import bot_version

# What generate_latest writes: the text format every Prometheus version reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Commands answer in milliseconds; a search on a large store or a lookup on Hugging Face
# can take seconds (Slack's budget is 3 s).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DELIVERY_STATES = ("sent", "silent", "failed", "missed")
DELIVERY_KINDS = ("digest", "dm")
BACKLOG_STATES = ("due", "retrying", "claimed", "failed")


class Metrics:
    """Every papersbot metric, in a registry of its own (:attr:`registry`)."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        ProcessCollector(registry=r)  # process_resident_memory_bytes, process_cpu_seconds_total
        self.build = Gauge("papersbot_build_info", "Version running", ["version"], registry=r)
        self.build.labels(bot_version()).set(1)
        self._commands(r)
        self._deliveries(r)
        self._sources(r)
        self._state(r)

    def _commands(self, r: CollectorRegistry) -> None:
        self.commands = Counter(
            "papersbot_commands_total",
            "Commands and button presses answered, by platform, verb and outcome",
            ["platform", "verb", "outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "papersbot_command_duration_seconds",
            "Time from a command reaching the core to its reply",
            ["platform", "verb"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def _deliveries(self, r: CollectorRegistry) -> None:
        self.deliveries = Counter(
            "papersbot_deliveries_total",
            "Scheduled deliveries that reached a final state, by platform, kind and state",
            ["platform", "kind", "state"],
            registry=r,
        )
        self.retries = Counter(
            "papersbot_delivery_retries_total",
            "Delivery attempts that failed for now and were scheduled again",
            ["platform", "kind"],
            registry=r,
        )
        self.backlog = Gauge(
            "papersbot_ledger_deliveries",
            "Deliveries in the ledger by state: due now, retrying later, claimed, failed",
            ["state"],
            registry=r,
        )

    def _sources(self, r: CollectorRegistry) -> None:
        self.fetches = Counter(
            "papersbot_source_fetches_total",
            "Requests to paper sources, by source and outcome (after retries)",
            ["source", "outcome"],
            registry=r,
        )
        self.last_success = Gauge(
            "papersbot_source_last_success_timestamp_seconds",
            "Unix time of each source's last successful ingest run",
            ["source"],
            registry=r,
        )
        self.waits = Counter(
            "papersbot_rate_limit_waits_total",
            "Times a source or platform asked us to wait (HTTP 429, retry_after)",
            ["by"],
            registry=r,
        )
        self.waited = Counter(
            "papersbot_rate_limit_wait_seconds_total",
            "Seconds sources and platforms asked us to wait",
            ["by"],
            registry=r,
        )

    def _state(self, r: CollectorRegistry) -> None:
        self.papers = Gauge("papersbot_papers", "Papers in the store", registry=r)
        self.connected = Gauge(
            "papersbot_adapter_connected",
            "1 when the adapter is connected",
            ["adapter"],
            registry=r,
        )
        self.tick_age = Gauge(
            "papersbot_scheduler_last_tick_age_seconds",
            "Seconds since the delivery clock last ticked (0 while a pass runs)",
            registry=r,
        )
        self.leader = Gauge(
            "papersbot_leader",
            "1 in the process that runs the delivery clock (planning, refresh, housekeeping)",
            registry=r,
        )
        self.backfill = Gauge(
            "papersbot_backfill_days",
            "First-day backfill: weekdays planned, fetched and failed",
            ["state"],
            registry=r,
        )

    def expect_platforms(self, platforms: list[str]) -> None:
        """Start the delivery series of *platforms* at zero, so a dashboard's rate() sees
        the first delivery as an increase."""
        for platform in platforms:
            for kind in DELIVERY_KINDS:
                self.retries.labels(platform, kind)
                for state in DELIVERY_STATES:
                    self.deliveries.labels(platform, kind, state)

    # -- the Observer port ------------------------------------------------------------------

    def command(self, platform: str, verb: str, outcome: str, seconds: float) -> None:
        self.commands.labels(platform, verb, outcome).inc()
        self.latency.labels(platform, verb).observe(seconds)

    def delivery(self, platform: str, kind: str, state: str) -> None:
        self.deliveries.labels(platform, kind, state).inc()

    def delivery_retry(self, platform: str, kind: str) -> None:
        self.retries.labels(platform, kind).inc()

    def fetch(self, source: str, outcome: str) -> None:
        self.fetches.labels(source, outcome).inc()

    def rate_limited(self, by: str, seconds: float) -> None:
        self.waits.labels(by).inc()
        self.waited.labels(by).inc(max(0.0, seconds))

    # -- state, set before each scrape ------------------------------------------------------

    def update(
        self,
        *,
        backlog: Mapping[str, int],
        last_success: Mapping[str, datetime],
        papers: int,
        connected: Mapping[str, bool],
        tick_age: float | None,
        backfill: Mapping[str, int],
        leader: bool = True,
    ) -> None:
        for state in BACKLOG_STATES:
            self.backlog.labels(state).set(backlog.get(state, 0))
        for source, when in last_success.items():
            self.last_success.labels(source).set(when.timestamp())
        self.papers.set(papers)
        for adapter, up in connected.items():
            self.connected.labels(adapter).set(1 if up else 0)
        if tick_age is not None:
            self.tick_age.set(tick_age)
        self.leader.set(1 if leader else 0)
        for state, days in backfill.items():
            self.backfill.labels(state).set(days)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
