"""One clock, many senders: which process runs the clockwork, and delivery in the others.

The leading process (:class:`~bot.store.contract.Leadership`: always the one process on
SQLite, an elected one on PostgreSQL) runs the :class:`~bot.delivery.clockwork.Clockwork`:
it plans what fell due, refreshes Daily Papers and keeps house. Every other process
follows: it claims and sends its share of the due rows whenever another process planned
some (a notification), and at least every :attr:`Leadership.retry` seconds, and tries to
take the lead at the same pace. So a fan-out is split between all processes (claims are
leased row locks taken with ``SKIP LOCKED``), and when the leader dies a follower takes its
place within seconds. A leader that loses its database session stops its clockwork at
once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from bot.delivery.clockwork import Clockwork
from bot.delivery.dispatcher import Dispatcher
from bot.errors import PapersbotError
from bot.store.contract import Leadership

log = logging.getLogger(__name__)


class Coordinator:
    """Leads or follows until cancelled; readiness asks it whether delivery is alive."""

    def __init__(self, clockwork: Clockwork, dispatcher: Dispatcher, leadership: Leadership):
        self._clockwork = clockwork
        self._dispatcher = dispatcher
        self._leadership = leadership
        self._followed: float | None = None  # monotonic time of the last follower pass
        self.leading = False
        self._passes: set[asyncio.Task[None]] = set()

    @property
    def sweep_every(self) -> timedelta:
        return self._clockwork.sweep_every

    @property
    def ticked_ago(self) -> float | None:
        """Seconds since delivery last worked here: the clockwork's tick when leading, the
        last follower pass otherwise (``None`` before either)."""
        if self.leading:
            return self._clockwork.ticked_ago
        return None if self._followed is None else time.monotonic() - self._followed

    async def run(self) -> None:
        """Lead when possible, follow otherwise; give the lead up when cancelled."""
        leadership = self._leadership
        leadership.on_schedule_change(self._clockwork.rearm)
        try:
            while True:
                if await leadership.try_lead():
                    await self._lead()
                else:
                    await self._follow()
        finally:
            self.leading = False
            for passing in list(self._passes):
                passing.cancel()
            await asyncio.gather(*self._passes, return_exceptions=True)
            await leadership.close()

    async def _lead(self) -> None:
        log.info("this process leads: it plans deliveries, refreshes papers and keeps house")
        self.leading = True
        try:
            try:
                await self._clockwork.start()
            except PapersbotError as exc:  # the alarm could not be set: the sweep goes on
                log.error("the clock started without its alarm: %s", exc)
            while await self._leadership.holding():
                await self._leadership.wait_for_work(self._leadership.retry)
        finally:
            self.leading = False
            await self._clockwork.stop()
        log.warning("this process no longer leads; following")

    async def _follow(self) -> None:
        """Send this process's share of what is due, then wait for more (or the retry).
        A long pass (a big fan-out) does not hold up a takeover: the lead is tried every
        retry meanwhile, and a pass still running when this process takes the lead
        finishes before the clockwork's first tick (the dispatcher runs one at a time)."""
        retry = self._leadership.retry
        passing = asyncio.create_task(self._pass())
        self._passes.add(passing)
        passing.add_done_callback(self._passes.discard)
        while not passing.done():
            await asyncio.wait({passing}, timeout=retry)
            if not passing.done() and await self._leadership.try_lead():
                return
        await self._leadership.wait_for_work(retry)

    async def _pass(self) -> None:
        try:
            report = await self._dispatcher.deliver()
        except PapersbotError as exc:
            log.error("delivery pass failed: %s", exc)
        except Exception:  # a bug must not end this process's share of the sending
            log.exception("delivery pass failed unexpectedly")
        else:
            self._followed = time.monotonic()
            if report.sent or report.failed or report.retrying:
                log.info("delivery pass: %s", report)
