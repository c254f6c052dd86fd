"""APScheduler 3.x as the alarm clock; the store is the truth of what is due.

Nothing about schedules lives in APScheduler: its jobs are rebuilt from the store at every
start and only ever wake :meth:`bot.delivery.dispatcher.Dispatcher.tick`, which asks the store what
fell due. Four jobs:

- ``alarm``: a ``DateTrigger`` at the earliest ``next_fire`` of any digest or subscription
  (or the end of a delivery's backoff), re-armed after each ring and whenever a command
  changes a schedule, so posts go out on the minute;
- ``sweep``: every minute, the same tick, in case an alarm was missed (suspend, clock
  jumps) — an early, late or doubled wake-up neither loses nor repeats a delivery;
- ``housekeeping``: daily, old finished ledger rows and expired search tokens are pruned,
  and removed subscriptions leave the matcher;
- ``refresh``: the Daily Papers ingest, every ``PAPERSBOT_REFRESH_MINUTES`` (and once at
  start, before the catch-up pass).

Every job coalesces and runs one instance at a time; misfires always run (late is better
than never, and the dispatcher's grace window decides what is too late).

The dispatcher's clock may be injected; APScheduler runs on the real one, so the alarm is
set that far ahead in real time. :attr:`Clockwork.alarm_at` says when it is due on the
injected clock, :meth:`Clockwork.rearmed` waits for a move to land and :meth:`Clockwork.ring`
does what the alarm does, so tests drive all three without waiting on the wall clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from bot.delivery.dispatcher import Dispatcher
from bot.errors import PapersbotError
from bot.store.contract import Database
from bot.store.pages import PAGE_TTL

log = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(minutes=1)
# After a failed tick (a full disk, a damaged page) the alarm waits this long, doubling up
# to the sweep's minute, instead of ringing again at once for rows still due.
FAILED_TICK_WAIT = timedelta(seconds=5)
FIRST_REFRESH_WAIT = timedelta(seconds=90)
_JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


class Clockwork:
    """Owns the APScheduler instance; :meth:`start` inside the running event loop."""

    def __init__(
        self,
        store: Database,
        dispatcher: Dispatcher,
        *,
        clock: Callable[[], datetime],
        refresh: Callable[[], Awaitable[object]] | None = None,
        refresh_every: timedelta = timedelta(hours=1),
        sweep_every: timedelta = SWEEP_EVERY,
    ) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self._clock = clock
        self._refresh = refresh
        self._refresh_every = refresh_every
        self._sweep_every = sweep_every
        self._scheduler: AsyncIOScheduler | None = None
        self._alarm_at: datetime | None = None
        self._rearming: set[asyncio.Task[None]] = set()  # and the start-up refresh
        self._moving: set[asyncio.Task[None]] = set()  # the re-arms alone
        self._failed_ticks = 0  # in a row, for the alarm's back-off
        self._ticked: float | None = None  # time.monotonic() of the last finished tick
        self._busy = 0  # ticks running now (a big fan-out takes minutes)

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    @property
    def leading(self) -> bool:
        """A running clockwork is the leader's (see :mod:`bot.delivery.coordinator`)."""
        return self.running

    @property
    def ticked_ago(self) -> float | None:
        """Real seconds since a delivery pass (the catch-up pass, a sweep or an alarm) last
        finished without an error, 0 while one runs (a 10,000-DM fan-out takes minutes and
        is the clock working); ``None`` before the first. Readiness checks it."""
        if self._ticked is None:
            return None
        return 0.0 if self._busy else time.monotonic() - self._ticked

    @property
    def sweep_every(self) -> timedelta:
        return self._sweep_every

    @property
    def alarm_at(self) -> datetime | None:
        """When the alarm is due, on the injected clock (``None``: nothing is scheduled)."""
        return self._alarm_at

    async def start(self) -> None:
        """Refresh Daily Papers, catch up on what fell due while stopped, then arm the jobs.

        The refresh comes first so that a digest that fell due during the outage is built
        from today's papers, not from what was stored before (it would say "nothing new"
        and that day would never be posted). It gets :data:`FIRST_REFRESH_WAIT`; a slower
        one goes on in the background while the catch-up runs with what is stored.
        """
        refreshing: asyncio.Task[None] | None = None
        if self._refresh is not None:
            refreshing = asyncio.create_task(self._refresh_now())
            done, _ = await asyncio.wait({refreshing}, timeout=FIRST_REFRESH_WAIT.total_seconds())
            if not done:
                log.warning("the start-up refresh is slow; catching up with what is stored")
                self._rearming.add(refreshing)
                refreshing.add_done_callback(self._rearming.discard)
        await self._catch_up()
        scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=_JOB_DEFAULTS)
        scheduler.add_job(
            self._tick, IntervalTrigger(seconds=self._sweep_every.total_seconds()), id="sweep"
        )
        scheduler.add_job(
            self._housekeeping,
            IntervalTrigger(hours=24),
            id="housekeeping",
            next_run_time=datetime.now(UTC) + timedelta(hours=1),
        )
        if self._refresh is not None:
            scheduler.add_job(
                self._refresh_now,
                IntervalTrigger(seconds=self._refresh_every.total_seconds()),
                id="refresh",
            )
        scheduler.start()
        self._scheduler = scheduler
        await self._arm()

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        self._alarm_at = None
        self._ticked = None
        for task in list(self._rearming):
            task.cancel()
        await asyncio.gather(*self._rearming, return_exceptions=True)

    def rearm(self) -> None:
        """A schedule changed: move the alarm (called from commands; never blocks them)."""
        if self._scheduler is None:
            return
        task = asyncio.get_running_loop().create_task(self._arm())
        self._rearming.add(task)
        self._moving.add(task)
        task.add_done_callback(self._rearming.discard)
        task.add_done_callback(self._moving.discard)

    async def rearmed(self) -> None:
        """Wait until the alarm moves asked for so far (:meth:`rearm`) are done."""
        await asyncio.gather(*self._moving)

    async def _arm(self) -> None:
        """Set the alarm for the earliest due schedule or retry (but not while backing off
        after failed ticks: a due row would ring the alarm again at once)."""
        if self._scheduler is None:
            return
        times = [
            t
            for t in (
                await self._store.schedules.earliest_fire(),
                await self._dispatcher.next_retry(),
            )
            if t is not None
        ]
        if not times:
            self._remove("alarm")
            self._alarm_at = None
            return
        # The dispatcher's clock may be injected; the alarm runs on the real one.
        self._alarm_at = min(times)
        if self._failed_ticks:
            wait = min(FAILED_TICK_WAIT * 2 ** (self._failed_ticks - 1), self._sweep_every)
            self._alarm_at = max(self._alarm_at, self._clock() + wait)
        wait = max(timedelta(0), self._alarm_at - self._clock())
        run_at = datetime.now(UTC) + wait + timedelta(milliseconds=50)
        self._scheduler.add_job(
            self.ring, DateTrigger(run_date=run_at), id="alarm", replace_existing=True
        )

    def _remove(self, job_id: str) -> None:
        if self._scheduler is not None and self._scheduler.get_job(job_id) is not None:
            self._scheduler.remove_job(job_id)

    async def ring(self) -> None:
        """What the alarm does when it goes off: deliver what is due now, then re-arm."""
        await self._tick()
        await self._arm()

    async def _tick(self) -> None:
        self._busy += 1
        try:
            report = await self._dispatcher.tick()
        except PapersbotError as exc:
            self._failed_ticks += 1
            log.error("delivery tick failed: %s", exc)
        except Exception:
            self._failed_ticks += 1
            log.exception("delivery tick failed unexpectedly")
        else:
            self._failed_ticks = 0
            self._ticked = time.monotonic()
            if report.planned or report.sent or report.failed or report.retrying:
                log.info("delivery tick: %s", report)
        finally:
            self._busy -= 1

    async def _catch_up(self) -> None:
        """A failed catch-up (a full disk, say) must not stop the bot from serving: what is
        owed stays in the store, and the alarm (backing off) and the sweep try again."""
        try:
            report = await self._dispatcher.catch_up()
        except PapersbotError as exc:
            self._failed_ticks += 1
            log.error("catch-up failed, will retry: %s", exc)
        except Exception:  # a bug must not stop the process either: the sweep retries
            self._failed_ticks += 1
            log.exception("catch-up failed unexpectedly, will retry")
        else:
            self._ticked = time.monotonic()
            log.info("catch-up: %s", report)

    async def _housekeeping(self) -> None:
        try:
            pruned, forgotten = await self._dispatcher.housekeeping()
            pages = await self._store.pages.prune(before=self._clock() - PAGE_TTL)
        except PapersbotError as exc:
            log.error("housekeeping failed: %s", exc)
        else:
            log.info(
                "housekeeping: %d old deliveries pruned, %d queries forgotten, "
                "%d expired search tokens pruned",
                pruned,
                forgotten,
                pages,
            )

    async def _refresh_now(self) -> None:
        assert self._refresh is not None
        try:
            await self._refresh()
        except PapersbotError as exc:
            log.warning("refresh failed: %s", exc)
        except Exception:
            log.exception("refresh failed unexpectedly")

    def jobs(self) -> list[Any]:
        """The scheduled jobs (for tests and ``status``-like introspection)."""
        return list(self._scheduler.get_jobs()) if self._scheduler is not None else []
