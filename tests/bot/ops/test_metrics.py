"""The metrics move where the work happens: commands through the service facade, deliveries
through the sender, fetches through the sources, on a real store and real HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import load_settings
from bot.delivery.courier import SendResult, SendStatus
from bot.delivery.dispatcher import Dispatcher
from bot.errors import SourceUnavailable
from bot.model.caller import Caller
from bot.ops.metrics import Metrics
from bot.service.limits import CommandBudget
from bot.service.papersbot import PapersBot
from bot.sources.hf import HuggingFaceSource
from bot.sources.http import Fetcher, build_client
from bot.store import Store
from tests.bot.ops.promtext import families, value
from tests.fakes.clock import Clock
from tests.fakes.courier import RecordingCourier
from tests.fakes.hf import FakeHuggingFace
from tests.kit import fresh_feed, say

DOCUMENTED = {  # the README's Monitoring table
    "papersbot_build_info": "gauge",
    "papersbot_commands_total": "counter",
    "papersbot_command_duration_seconds": "histogram",
    "papersbot_deliveries_total": "counter",
    "papersbot_delivery_retries_total": "counter",
    "papersbot_ledger_deliveries": "gauge",
    "papersbot_source_fetches_total": "counter",
    "papersbot_source_last_success_timestamp_seconds": "gauge",
    "papersbot_rate_limit_waits_total": "counter",
    "papersbot_rate_limit_wait_seconds_total": "counter",
    "papersbot_papers": "gauge",
    "papersbot_adapter_connected": "gauge",
    "papersbot_scheduler_last_tick_age_seconds": "gauge",
    "papersbot_leader": "gauge",
    "papersbot_backfill_days": "gauge",
    "process_resident_memory_bytes": "gauge",
    "process_cpu_seconds_total": "counter",
}


def test_every_documented_family_is_exposed_with_its_type() -> None:
    exposed = families(Metrics().render())
    assert {k: exposed.get(k) for k in DOCUMENTED} == DOCUMENTED


def test_two_apps_never_share_a_counter() -> None:
    one, two = Metrics(), Metrics()
    one.command("slack", "search", "ok", 0.01)
    assert (
        value(
            one.render(), "papersbot_commands_total", platform="slack", verb="search", outcome="ok"
        )
        == 1
    )
    assert (
        value(
            two.render(), "papersbot_commands_total", platform="slack", verb="search", outcome="ok"
        )
        is None
    )


async def test_commands_are_counted_by_platform_verb_and_outcome(
    store: Store, clock: Clock
) -> None:
    metrics = Metrics()
    bot = PapersBot(
        store=store,
        clock=clock,
        observer=metrics,
        budget=CommandBudget(clock=clock.monotonic, burst=3),
    )
    someone = Caller("discord", "U9")
    assert not (await bot.respond("search diffusion", someone)).is_error
    assert (await bot.respond("show 2001.00001", someone)).is_error  # not stored, no lookup
    assert (await bot.respond("frobnicate", someone)).is_error  # no such command
    assert "too fast" in (await bot.respond("today", someone)).text
    await bot.press("more:bogus:5")  # a forged button value, from the console
    text = metrics.render().decode()

    def count(verb: str, outcome: str, platform: str = "discord") -> float | None:
        return value(
            text, "papersbot_commands_total", platform=platform, verb=verb, outcome=outcome
        )

    assert count("search", "ok") == 1
    assert count("show", "not_found") == 1
    assert count("unknown", "user_error") == 1
    assert count("unknown", "throttled") == 1
    assert count("unknown", "user_error", "console") == 1  # the forged button
    latency = value(
        text, "papersbot_command_duration_seconds_count", platform="discord", verb="search"
    )
    assert latency == 1
    assert "frobnicate" not in text  # user text never becomes a label


async def test_deliveries_count_final_states_retries_and_rate_limit_waits(
    bot: PapersBot, store: Store, clock: Clock
) -> None:
    metrics = Metrics()
    courier = RecordingCourier(clock)
    dispatcher = Dispatcher(store, clock, {"slack": courier}, observer=metrics)
    await fresh_feed(store, clock())
    await say(bot, "digest on at 15:30 tz UTC")
    await say(bot, "subscribe diffusion at 15:30 tz UTC")
    clock.advance(minutes=30)
    courier.fail_with = [SendResult(SendStatus.RETRY, detail="ratelimited", retry_after=42.0)]
    await dispatcher.tick()
    clock.advance(minutes=5)
    await dispatcher.tick()
    text = metrics.render().decode()
    sent = value(text, "papersbot_deliveries_total", platform="slack", kind="digest", state="sent")
    dm = [
        value(text, "papersbot_deliveries_total", platform="slack", kind="dm", state=s)
        for s in ("sent", "silent")
    ]
    assert sent == 1
    assert sum(v or 0 for v in dm) == 1  # a DM goes out, or is recorded as having nothing new
    retries = sum(
        value(text, "papersbot_delivery_retries_total", platform="slack", kind=k) or 0
        for k in ("digest", "dm")
    )
    assert retries == 1
    assert value(text, "papersbot_rate_limit_waits_total", by="slack") == 1
    assert value(text, "papersbot_rate_limit_wait_seconds_total", by="slack") == 42.0


async def test_a_permanent_failure_counts_as_failed(
    bot: PapersBot, store: Store, clock: Clock
) -> None:
    metrics = Metrics()
    courier = RecordingCourier(clock)
    courier.fail_with = [SendResult(SendStatus.PERMANENT, detail="channel_not_found")]
    dispatcher = Dispatcher(store, clock, {"slack": courier}, observer=metrics)
    await fresh_feed(store, clock())
    await say(bot, "digest on at 15:30 tz UTC")
    clock.advance(minutes=30)
    await dispatcher.tick()
    text = metrics.render().decode()
    assert (
        value(text, "papersbot_deliveries_total", platform="slack", kind="digest", state="failed")
        == 1
    )


async def test_source_fetches_and_429_waits_are_counted(clock: Clock) -> None:
    metrics = Metrics()
    async with FakeHuggingFace.recorded([clock().date()]) as fake:
        settings = load_settings(env_file=None)
        async with build_client(settings) as client:
            fetcher = Fetcher(
                client, "Hugging Face", retries=2, sleep=clock.sleep, observer=metrics, label="hf"
            )
            source = HuggingFaceSource(fetcher, fake.url)
            fake.rate_limited, fake.retry_after = 1, "3"
            assert await source.daily(clock().date())
            fake.failing = {clock().date() - timedelta(days=1)}
            with pytest.raises(SourceUnavailable):
                await source.daily(clock().date() - timedelta(days=1))
    text = metrics.render().decode()
    assert value(text, "papersbot_source_fetches_total", source="hf", outcome="ok") == 1
    assert value(text, "papersbot_source_fetches_total", source="hf", outcome="unavailable") == 1
    assert value(text, "papersbot_rate_limit_waits_total", by="hf") == 1
    assert value(text, "papersbot_rate_limit_wait_seconds_total", by="hf") == 3.0
