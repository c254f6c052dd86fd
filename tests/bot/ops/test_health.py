"""``/healthz``, ``/readyz`` and ``/metrics`` answered by :class:`Operations` on a real store
and a real clockwork, then served over real HTTP by the operations server."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.delivery.clockwork import Clockwork
from bot.delivery.courier import SendResult
from bot.delivery.dispatcher import Dispatcher
from bot.model.delivery import DeliveryKey, Target
from bot.model.replies import Reply
from bot.ops.health import Operations
from bot.ops.metrics import Metrics
from bot.ops.server import serve_ops
from bot.service.papersbot import PapersBot
from bot.sources.backfill import BackfillProgress
from bot.store import Store
from tests.bot.ops.promtext import value
from tests.fakes.clock import Clock
from tests.fakes.courier import RecordingCourier
from tests.kit import fresh_feed, say


@dataclass
class Platform:
    """What readiness reads of an adapter."""

    name: str
    ready: bool = False


def _operations(store: Store, clock: Clock, clockwork: Clockwork) -> Operations:
    return Operations(
        store=store,
        metrics=Metrics(),
        clockwork=clockwork,
        clock=clock,
        backfill=BackfillProgress(),
    )


async def test_ready_only_when_the_store_answers_adapters_connect_and_the_clock_ticks(
    store: Store, clock: Clock
) -> None:
    dispatcher = Dispatcher(store, clock, {})
    clockwork = Clockwork(store, dispatcher, clock=clock)
    ops = _operations(store, clock, clockwork)
    discord = Platform("Discord")
    ops.watch([discord])
    assert (await ops.answer("/healthz")).status == 200
    answer = await ops.answer("/readyz")
    body = json.loads(answer.body)
    assert answer.status == 503
    assert body["checks"] == {
        "store": "ok",
        "adapters": {"Discord": "not connected"},
        "clock": "not started",
        "role": "follower",  # not running the clock (yet)
    }
    assert body["reason"].startswith("Discord is not connected; the delivery clock")
    discord.ready = True
    await clockwork.start()
    try:
        answer = await ops.answer("/readyz")
        assert (answer.status, json.loads(answer.body)["ready"]) == (200, True)
        assert json.loads(answer.body)["checks"]["role"] == "leader"
        metrics = (await ops.answer("/metrics")).body.decode()
        assert value(metrics, "papersbot_leader") == 1
    finally:
        await clockwork.stop()
    assert (await ops.answer("/readyz")).status == 503  # stopped: not ticking any more


async def test_a_store_that_does_not_answer_is_not_ready(tmp_path: Path, clock: Clock) -> None:
    store = await Store.open(tmp_path / "gone.db")
    clockwork = Clockwork(store, Dispatcher(store, clock, {}), clock=clock)
    ops = _operations(store, clock, clockwork)
    await store.close()
    answer = await ops.answer("/readyz")
    body = json.loads(answer.body)
    assert answer.status == 503
    assert body["checks"]["store"] == "unreachable"
    assert "the store does not answer" in body["reason"]
    metrics = await ops.answer("/metrics")  # counters still come out; a line is logged
    assert metrics.status == 200


async def test_metrics_read_the_ledger_backlog_and_sources_from_the_store(
    bot: PapersBot, store: Store, clock: Clock
) -> None:
    courier = RecordingCourier(clock)
    dispatcher = Dispatcher(store, clock, {"slack": courier})
    await fresh_feed(store, clock())
    await say(bot, "digest on at 15:30 tz UTC")
    clock.advance(minutes=30)
    await dispatcher.plan()  # one digest due, not sent
    ops = _operations(store, clock, Clockwork(store, dispatcher, clock=clock))
    ops.watch([Platform("Slack", ready=True)])
    text = (await ops.answer("/metrics")).body
    assert value(text, "papersbot_ledger_deliveries", state="due") == 1
    assert value(text, "papersbot_ledger_deliveries", state="claimed") == 0
    assert value(text, "papersbot_papers") == await store.papers.count()
    assert value(text, "papersbot_adapter_connected", adapter="slack") == 1
    last = await store.runs.last()
    _, ok = last["hf"]
    assert ok is not None
    stamp = value(text, "papersbot_source_last_success_timestamp_seconds", source="hf")
    assert stamp == ok.finished_at.timestamp()
    await dispatcher.tick()
    text = (await ops.answer("/metrics")).body
    assert value(text, "papersbot_ledger_deliveries", state="due") == 0


async def test_the_server_speaks_http_and_refuses_other_paths(store: Store, clock: Clock) -> None:
    clockwork = Clockwork(store, Dispatcher(store, clock, {}), clock=clock)
    ops = _operations(store, clock, clockwork)
    async with serve_ops(ops, "127.0.0.1", 0) as url, aiohttp.ClientSession() as http:
        async with http.get(f"{url}/healthz") as resp:
            assert (resp.status, await resp.json()) == (200, {"ok": True})
        async with http.get(f"{url}/readyz") as resp:
            assert resp.status == 503
            assert resp.headers["Content-Type"].startswith("application/json")
        async with http.get(f"{url}/metrics") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
            assert "papersbot_commands_total" in await resp.text()
        async with http.get(f"{url}/admin") as resp:
            assert resp.status == 404
        async with http.post(f"{url}/healthz") as resp:
            assert resp.status == 405


async def test_a_busy_port_is_an_error_naming_the_setting(store: Store, clock: Clock) -> None:
    ops = _operations(store, clock, Clockwork(store, Dispatcher(store, clock, {}), clock=clock))
    async with serve_ops(ops, "127.0.0.1", 0) as url:
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match=r"PAPERSBOT_HEALTH_PORT on 127\.0\.0\.1:"):
            async with serve_ops(ops, "127.0.0.1", port):
                pass


async def test_a_long_delivery_pass_counts_as_ticking(
    bot: PapersBot, store: Store, clock: Clock
) -> None:
    """A fan-out that takes minutes is the clock at work, not a stopped clock."""
    gate, sending = asyncio.Event(), asyncio.Event()

    class SlowCourier(RecordingCourier):
        async def send(self, target: Target, reply: Reply, key: DeliveryKey) -> SendResult:
            sending.set()
            await gate.wait()
            return await super().send(target, reply, key)

    dispatcher = Dispatcher(store, clock, {"slack": SlowCourier(clock)})
    clockwork = Clockwork(store, dispatcher, clock=clock)
    await clockwork.start()
    try:
        await fresh_feed(store, clock())
        await say(bot, "digest on at 15:30 tz UTC")
        clock.advance(minutes=30)
        ring = asyncio.create_task(clockwork.ring())
        await asyncio.wait_for(sending.wait(), 5)
        assert clockwork.ticked_ago == 0.0
        gate.set()
        await ring
        ago = clockwork.ticked_ago
        assert ago is not None
        assert 0.0 <= ago < 5
    finally:
        await clockwork.stop()
