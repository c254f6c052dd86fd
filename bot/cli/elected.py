"""An adapter one process at a time may run, elected among processes sharing a database.

Discord allows one gateway session per bot (per shard): were every process sharing a
PostgreSQL store to connect, each would receive every interaction. So such an adapter
(:attr:`AdapterPlugin.one_session`) runs in the process that holds its lock (an advisory
lock of its own, :meth:`Database.leadership`, independent of the clock's leader). The other
processes stand by and try the lock every few seconds; when the holder dies its session,
and so its lock, goes, and the next to try connects. Only the holder delivers to that
platform: its courier is handed to the dispatcher while it holds the lock and taken back
when it stops, so the others never claim those rows.

On SQLite (one process) the lock is always held, and this is the adapter itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bot.delivery.courier import Courier
from bot.delivery.dispatcher import Dispatcher
from bot.plugins import Adapter
from bot.store.contract import Leadership

log = logging.getLogger(__name__)


class Elected:
    """:class:`~bot.plugins.Adapter` over a fresh inner adapter each time this process is
    elected to run it."""

    def __init__(
        self, create: Callable[[], Adapter], leadership: Leadership, dispatcher: Dispatcher
    ) -> None:
        self._create = create
        self._spare: Adapter | None = create()  # built, not started: no I/O yet
        self.name = self._spare.name
        self._leadership = leadership
        self._dispatcher = dispatcher
        self._inner: Adapter | None = None
        self._platform: str | None = None
        self._decided = asyncio.Event()  # the first attempt at the lock is done
        self._task: asyncio.Task[None] | None = None

    @property
    def holding(self) -> bool:
        return self._inner is not None

    @property
    def courier(self) -> Courier | None:
        """Handed to the dispatcher by this class itself, while it holds the lock."""
        return None

    @property
    def ready(self) -> bool:
        """Connected while holding the lock; standing by (ready to take over) otherwise."""
        inner = self._inner
        return self._decided.is_set() and (inner is None or inner.ready)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._hold(), name=f"elected {self.name}")

    async def until_ready(self) -> None:
        assert self._task is not None, "start() first"
        decided = asyncio.ensure_future(self._decided.wait())
        try:
            await asyncio.wait({decided, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            decided.cancel()
        if self._task.done():
            await self._task  # it failed before deciding: raise its error
        inner = self._inner
        if inner is not None:
            await inner.until_ready()

    async def closed(self) -> None:
        assert self._task is not None, "start() first"
        await asyncio.shield(self._task)

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._leadership.close()

    async def _hold(self) -> None:
        """Run the inner adapter whenever this process holds the lock, until it stops on
        its own (returned or raised: :meth:`closed` passes that on)."""
        leadership = self._leadership
        while True:
            if await leadership.try_lead():
                log.info("this process holds %s's one session", self.name)
                if await self._run_inner():
                    return
                log.warning("this process no longer holds %s's session; standing by", self.name)
            else:
                self._decided.set()
                await leadership.wait_for_work(leadership.retry)

    async def _run_inner(self) -> bool:
        """Run a fresh inner adapter while the lock holds; ``True`` if it stopped on its own
        (the process should stop), ``False`` if the lock was lost."""
        inner, self._spare = self._spare or self._create(), None
        self._inner = inner
        try:
            await inner.start()
            self._decided.set()
            stopped = asyncio.ensure_future(inner.closed())
            handing = asyncio.ensure_future(self._hand_over(inner))
            try:
                while await self._leadership.holding():
                    done, _ = await asyncio.wait({stopped}, timeout=self._leadership.retry)
                    if done:
                        stopped.result()  # raise its failure (a rejected token, say)
                        return True
                return False
            finally:
                handing.cancel()
                stopped.cancel()
        finally:
            self._inner = None
            if self._platform is not None:
                self._dispatcher.remove_courier(self._platform)
                self._platform = None
            await inner.stop()

    async def _hand_over(self, inner: Adapter) -> None:
        await inner.until_ready()
        courier = inner.courier
        if courier is not None:
            self._platform = courier.platform
            self._dispatcher.add_courier(courier)
