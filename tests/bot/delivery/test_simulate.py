"""``demo --simulate``: the real dispatcher on a simulated clock over recorded days."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.app import bundled_snapshot
from bot.delivery.courier import SendResult, SendStatus
from bot.delivery.simulate import SimClock, parse_span, simulate, split_snapshot
from bot.errors import UserInputError
from bot.model.caller import Caller
from bot.model.delivery import Target
from bot.model.replies import Reply
from bot.service.papersbot import PapersBot
from bot.store import Store

CONSOLE = Caller(platform="console", user_id="me", channel_id="here", can_manage=True)


class Printer:
    platform = "console"

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, Reply]] = []

    async def send(self, target: Target, reply: Reply, key: str) -> SendResult:
        self.posts.append((target.kind, str(key), reply))
        return SendResult(SendStatus.SENT, str(len(self.posts)))

    async def find_sent(self, target: Target, key: str, since: datetime) -> str | None:
        return None


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
    store = await Store.open(tmp_path / "sim.db")
    try:
        box: list[SimClock] = []
        bot = PapersBot(store=store, clock=lambda: box[0]())
        replies: list[Reply] = []

        async def say(line: str, clock: SimClock) -> Reply:
            box[:] = [clock]
            return await bot.respond(line, CONSOLE)

        printer = Printer()
        report = await simulate(
            store,
            bundled_snapshot(),
            timedelta(days=7),
            courier=printer,
            say=say,
            script=(
                "digest on at 09:00 tz Europe/Berlin weekdays top 3",
                "subscribe model at 08:00 tz UTC daily",
            ),
            show=replies.append,
            announce=lambda text: None,
        )
    finally:
        await store.close()
    assert all(not r.is_error for r in replies)
    digests = [key for kind, key, _ in printer.posts if kind == "channel"]
    start, _ = split_snapshot(bundled_snapshot(), timedelta(days=7))
    weekdays = [
        (start + timedelta(days=n)).isoformat()
        for n in range(1, 8)
        if (start + timedelta(days=n)).weekday() < 5
    ]
    assert digests == [f"digest:{day}" for day in weekdays]  # never on a weekend
    dm_papers = [c.paper_id for kind, _, r in printer.posts if kind == "user" for c in r.cards]
    assert dm_papers
    assert len(dm_papers) == len(set(dm_papers))
    assert report.failed == 0
    assert report.missed == 0
