"""Scheduled delivery: plan what fell due, then claim → send → mark, exactly once.

The delivery ledger (:mod:`bot.store.ledger`) is the only truth; the dispatcher only moves
rows through it. One :meth:`Dispatcher.tick` runs the :class:`~bot.delivery.planner.Planner`
(schedules that fell due become ledger rows) and then the
:class:`~bot.delivery.sender.Sender` (due rows are claimed, composed once, sent through a
platform's courier and marked). Claims are leases (:mod:`bot.store.ledger`): the start-up
:meth:`Dispatcher.catch_up` retakes only rows whose lease expired, so a second process (or
a restart while the old one is still sending) never takes over rows being sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.delivery.courier import Courier
from bot.delivery.planner import Planner
from bot.delivery.policy import DEFAULT_GRACE, DEFAULT_LEASE, RETENTION, TickReport
from bot.delivery.sender import Sender
from bot.observe import NULL_OBSERVER, Observer
from bot.store.contract import Database

__all__ = ["DEFAULT_GRACE", "Dispatcher", "TickReport"]


class Dispatcher:
    """Plans and delivers scheduled posts through the given couriers (by platform)."""

    def __init__(
        self,
        store: Database,
        clock: Callable[[], datetime],
        couriers: Mapping[str, Courier],
        *,
        grace: timedelta = DEFAULT_GRACE,
        lease: timedelta = DEFAULT_LEASE,
        concurrency: int = 32,
        observer: Observer = NULL_OBSERVER,
    ) -> None:
        self._store = store
        self._clock = clock
        self._couriers = dict(couriers)
        self._running = asyncio.Lock()
        self._planner = Planner(store, grace=grace)
        self._sender = Sender(
            store,
            clock,
            self._couriers,
            grace=grace,
            lease=lease,
            concurrency=concurrency,
            observer=observer,
        )

    def add_courier(self, courier: Courier) -> None:
        """Deliver to *courier*'s platform from now on (adapters join as they connect)."""
        self._couriers[courier.platform] = courier

    def remove_courier(self, platform: str) -> None:
        """Stop delivering to *platform* (its connection moved to another process): its
        rows are left to the process that holds it."""
        self._couriers.pop(platform, None)

    @property
    def platforms(self) -> frozenset[str]:
        """The platforms it can deliver to now."""
        return frozenset(self._couriers)

    async def catch_up(self) -> TickReport:
        """At start-up: plan what fell due while down and send what is owed; claims left
        behind by a crash are retaken when their lease expires (the alarm is set for it)."""
        return await self.tick()

    async def tick(self) -> TickReport:
        """Plan whatever fell due, then deliver every row due now. Never runs twice at once."""
        async with self._running:
            report = TickReport()
            await self._planner.plan(self._clock(), report)
            await self._sender.deliver(report)
            return report

    async def deliver(self) -> TickReport:
        """Only send what is due (rows another process planned): a follower's pass."""
        async with self._running:
            report = TickReport()
            await self._sender.deliver(report)
            return report

    async def plan(self) -> TickReport:
        """Only plan what fell due (ledger rows), sending nothing."""
        async with self._running:
            report = TickReport()
            await self._planner.plan(self._clock(), report)
            return report

    async def housekeeping(self) -> tuple[int, int]:
        """Daily: drop ledger rows older than :data:`~bot.delivery.policy.RETENTION` (they,
        and the papers they recorded, can no longer matter: "new" never reaches back that
        far) and forget removed subscriptions in the matcher. Returns (rows pruned, queries
        forgotten)."""
        pruned = await self._store.ledger.prune(before=self._clock() - RETENTION)
        live = await self._store.schedules.subscription_ids()
        return pruned, self._sender.matches.forget_all_but(live)

    async def next_retry(self) -> datetime | None:
        """When the earliest backed-off delivery may go again (for the alarm)."""
        return await self._store.ledger.next_retry()
