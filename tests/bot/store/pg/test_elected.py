"""Discord's one gateway session among processes sharing PostgreSQL: exactly one process
runs the adapter, only it delivers to the platform, and another takes over when it dies.

Two :class:`Elected` wrappers stand for two processes: each has its own real leader lock
(a connection of its own to the test's real server) and its own real dispatcher; the inner
adapter is a small stand-in that records its life and brings a recording courier.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from bot.cli.elected import Elected
from bot.delivery.dispatcher import Dispatcher
from bot.errors import ConfigError
from bot.store import Store
from bot.store.pg.leader import PgLeadership
from tests.fakes.clock import Clock
from tests.fakes.courier import RecordingCourier

ROLE = "adapter:discord"


class Gateway:
    """An adapter with one session: connected between start and stop."""

    name = "Discord"

    def __init__(self, log: list[str], clock: Clock, *, fail: bool = False) -> None:
        self.log = log
        self._courier = RecordingCourier(clock, platform="discord")
        self._stopped = asyncio.Event()
        self._fail = fail
        self.ready = False

    @property
    def courier(self) -> RecordingCourier | None:
        return self._courier if self.ready else None

    async def start(self) -> None:
        self.log.append("start")
        self.ready = True

    async def until_ready(self) -> None:
        return

    async def closed(self) -> None:
        if self._fail:
            raise ConfigError("DISCORD_TOKEN was rejected")
        await self._stopped.wait()

    async def stop(self) -> None:
        if self.ready:
            self.log.append("stop")
        self.ready = False
        self._stopped.set()


def _process(
    pg_dsn: str, dispatcher: Dispatcher, log: list[str], clock: Clock, **kw: bool
) -> Elected:
    leadership = PgLeadership(pg_dsn, ROLE)
    leadership.retry = 0.05
    return Elected(lambda: Gateway(log, clock, **kw), leadership, dispatcher)


async def until(check: Callable[[], bool], seconds: float = 10) -> None:
    async with asyncio.timeout(seconds):
        while not check():  # noqa: ASYNC110 - state another task changes
            await asyncio.sleep(0.01)


async def test_one_process_holds_the_session_and_another_takes_over_when_it_dies(
    pg_dsn: str, tmp_path: Path
) -> None:
    clock = Clock()
    store = await Store.open(tmp_path / "couriers.db")  # the dispatchers only route here
    first_log: list[str] = []
    second_log: list[str] = []
    one, two = Dispatcher(store, clock, {}), Dispatcher(store, clock, {})
    first = _process(pg_dsn, one, first_log, clock)
    second = _process(pg_dsn, two, second_log, clock)
    admin = await asyncpg.connect(pg_dsn)
    try:
        await first.start()
        await first.until_ready()
        await second.start()
        await second.until_ready()
        assert first.holding
        assert not second.holding
        assert second.ready  # standing by counts as ready: it is there to take over
        await until(lambda: one.platforms == {"discord"})
        assert two.platforms == frozenset()  # a process without the session claims none
        # The holder's session dies, and with it the lock: it stops at once, and from then
        # on exactly one of the two holds the session (the first may win it back).
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
        )
        await until(lambda: first_log[:2] == ["start", "stop"])
        await until(lambda: first.holding != second.holding)
        # The process goes (as after a SIGKILL and no restart): the other takes over.
        await first.stop()
        await until(lambda: second.holding and two.platforms == {"discord"})
        assert one.platforms == frozenset()
        assert second_log == ["start"]
    finally:
        await admin.close()
        await first.stop()
        await second.stop()
        await store.close()
    assert second_log == ["start", "stop"]


async def test_a_rejected_token_stops_the_process_like_any_adapter_failure(
    pg_dsn: str, tmp_path: Path
) -> None:
    clock = Clock()
    store = await Store.open(tmp_path / "couriers.db")
    elected = _process(pg_dsn, Dispatcher(store, clock, {}), [], clock, fail=True)
    try:
        await elected.start()
        with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
            async with asyncio.timeout(10):
                await elected.closed()
    finally:
        await elected.stop()
        await store.close()
