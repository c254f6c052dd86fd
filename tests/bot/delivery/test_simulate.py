"""``demo --simulate``: the real dispatcher on a simulated clock over recorded days."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import bundled_snapshot, open_app
from bot.config import load_settings
from bot.delivery.simulate import Simulation, parse_span, split_snapshot
from bot.errors import UserInputError
from bot.model.caller import Caller
from bot.model.replies import Reply
from tests.fakes.courier import RecordingCourier

CONSOLE = Caller(platform="console", user_id="me", channel_id="here", can_manage=True)


def test_parse_span() -> None:
    assert parse_span("3d") == timedelta(days=3)
    assert parse_span(" 36H ") == timedelta(hours=36)
    for bad in ("", "3", "3w", "0h", "15d", "-1d"):
        with pytest.raises(UserInputError):
            parse_span(bad)


def test_the_window_holds_the_most_recorded_days() -> None:
    start, held = split_snapshot(bundled_snapshot(), timedelta(days=4))
    assert held
    assert all(start < day <= start + timedelta(days=4) for day in held)


async def test_a_week_of_posts_fires_on_schedule(tmp_path: Path) -> None:
    """The app ``run`` builds (store, bot, dispatcher), on the simulation's clock."""
    simulation = Simulation.plan(bundled_snapshot(), timedelta(days=7))
    courier = RecordingCourier(simulation.clock, platform="console")
    replies: list[Reply] = []
    settings = load_settings(env_file=None)
    async with open_app(
        settings, database=tmp_path / "sim.db", offline=True, clock=simulation.clock
    ) as app:
        app.dispatcher.add_courier(courier)

        async def say(line: str) -> Reply:
            return await app.bot.respond(line, CONSOLE)

        report = await simulation.run(
            app.store,
            app.dispatcher,
            say=say,
            script=(
                "digest on at 09:00 tz Europe/Berlin weekdays top 3",
                "subscribe model at 08:00 tz UTC daily",
            ),
            show=replies.append,
            announce=lambda text: None,
        )
    assert all(not r.is_error for r in replies)
    digests = [str(post.key) for post in courier.posts if post.address == "here"]
    start, _ = split_snapshot(bundled_snapshot(), timedelta(days=7))
    weekdays = [
        (start + timedelta(days=n)).isoformat()
        for n in range(1, 8)
        if (start + timedelta(days=n)).weekday() < 5
    ]
    assert digests == [f"digest:{day}" for day in weekdays]  # never on a weekend
    dm_papers = [
        c.paper_id for post in courier.posts if post.address == "me" for c in post.reply.cards
    ]
    assert dm_papers
    assert len(dm_papers) == len(set(dm_papers))
    assert report.failed == 0
    assert report.missed == 0
