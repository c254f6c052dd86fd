"""Planning: turn every schedule whose ``next_fire`` has passed into ledger rows.

Every digest and subscription that fell due gets one ledger row per fire instant since
(:func:`bot.model.schedule.fires_between`, DST-correct), keyed by the local date
(:class:`~bot.model.delivery.DeliveryKey`), then its ``next_fire`` moves on. Planning is
idempotent (one row per target and key), so a crash between the two steps, or an alarm that
rings twice, plans nothing twice. A fire older than the grace window is recorded
``missed``, never sent late.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from bot.delivery.policy import MISSED_RECORDED, TickReport
from bot.model.delivery import DeliveryKey
from bot.model.schedule import Schedule, fires_between, next_fire
from bot.store.contract import Database

PLAN_BATCH = 2000  # schedules planned per transaction
MISSED_REASON = "fell due while the bot was down, past the grace window"

PlannedRow = tuple[int, DeliveryKey, datetime, bool]  # target id, key, due at, missed?


# Subscribers share schedules (08:00 in a zone, weekdays): a planning pass computes each
# distinct (schedule, instant) once.
@lru_cache(maxsize=4096)
def _fires_between(schedule: Schedule, first: datetime, now: datetime) -> tuple[datetime, ...]:
    return tuple(fires_between(schedule, first - timedelta(microseconds=1), now))


@lru_cache(maxsize=4096)
def _next_fire(schedule: Schedule, now: datetime) -> datetime:
    return next_fire(schedule, now)


class Planner:
    """Plans the fires of every due schedule into the ledger, in batches."""

    def __init__(self, store: Database, *, grace: timedelta) -> None:
        self._store = store
        self._grace = grace

    async def plan(self, now: datetime, report: TickReport) -> None:
        """Plan every digest and subscription due at *now* (skipping disabled targets)."""
        ledger, schedules = self._store.ledger, self._store.schedules
        disabled = await self._store.targets.disabled()
        while digests := await schedules.due_digests(now, limit=PLAN_BATCH):
            rows: list[PlannedRow] = []
            for digest in digests:
                if digest.target_id not in disabled:
                    rows += self._fires(
                        digest.target_id, digest.schedule, digest.next_fire, now, None
                    )
            await ledger.plan_many(rows, missed_reason=MISSED_REASON)
            await schedules.advance_many(
                "digest",
                [(d.target_id, d.next_fire, _next_fire(d.schedule, now)) for d in digests],
            )
            _count(report, rows)
        while subs := await schedules.due_subscriptions(now, limit=PLAN_BATCH):
            rows = []
            for sub in subs:
                if sub.target_id not in disabled:
                    rows += self._fires(sub.target_id, sub.schedule, sub.next_fire, now, sub.id)
            await ledger.plan_many(rows, missed_reason=MISSED_REASON)
            await schedules.advance_many(
                "sub", [(s.id, s.next_fire, _next_fire(s.schedule, now)) for s in subs]
            )
            _count(report, rows)

    def _fires(
        self,
        target_id: int,
        schedule: Schedule,
        first: datetime,
        now: datetime,
        subscription: int | None,
    ) -> list[PlannedRow]:
        """Ledger rows for every fire from *first* up to now; after a long outage, only the
        last :data:`~bot.delivery.policy.MISSED_RECORDED` of fires are recorded."""
        fires = _fires_between(schedule, max(first, now - self._grace - MISSED_RECORDED), now)
        return [
            (target_id, DeliveryKey.fired(schedule.tz, fire, subscription), fire, late)
            for fire in fires
            for late in (now - fire > self._grace,)
        ]


def _count(report: TickReport, rows: list[PlannedRow]) -> None:
    late = sum(missed for _, _, _, missed in rows)
    report.planned += len(rows) - late
    report.missed += late
