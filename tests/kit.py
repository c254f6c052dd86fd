"""Helpers of the dispatcher tests: a channel manager, commands that must succeed, a fresh
feed, a new paper, and a delivery that "crashes" between send and mark.

The clock and the courier are the shared fakes (:mod:`tests.fakes.clock`,
:mod:`tests.fakes.courier`), taken as the ``clock`` and ``courier`` fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta

from bot.delivery.dispatcher import Dispatcher
from bot.delivery.policy import DEFAULT_LEASE
from bot.grammar.commands import parse_command
from bot.model.caller import Caller
from bot.model.delivery import Target
from bot.model.replies import Reply
from bot.service.papersbot import PapersBot
from bot.store import Store
from bot.store.records import IngestRun
from tests.fakes.clock import Clock
from tests.fakes.courier import RecordingCourier

MANAGER = Caller(
    platform="slack",
    user_id="U1",
    user_name="ann",
    channel_id="C1",
    workspace_id="T1",
    can_manage=True,
)


async def say(bot: PapersBot, text: str, caller: Caller = MANAGER) -> Reply:
    reply = await bot.run_command(parse_command(text), caller)
    assert not reply.is_error, reply.text
    return reply


async def fresh_feed(store: Store, now: datetime) -> None:
    await store.runs.record(
        IngestRun("hf", now.date(), now - timedelta(minutes=1), now, True, 0, None)
    )


async def new_paper(store: Store, paper_id: str, title: str, day: date, now: datetime) -> None:
    stored = await store.papers.get("2608.17271")
    assert stored is not None
    paper = replace(stored.paper, id=paper_id, title=title, daily_day=day, ai_keywords=())
    await store.papers.upsert([paper], seen_at=now)


async def crash_after_sending(
    store: Store,
    courier: RecordingCourier,
    clock: Clock,
    *,
    reached: Callable[[Target], bool] = lambda target: True,
) -> None:
    """Plan and claim every due row (under the default lease) and send those whose target is
    *reached*, then stop as a SIGKILL would: nothing is marked, the leases stay."""
    await Dispatcher(store, clock, {courier.platform: courier}).plan()
    for row in await store.ledger.open_deliveries(now=clock.now):
        claimed = await store.ledger.claim(row.id, now=clock.now, lease=DEFAULT_LEASE)
        assert claimed is not None
        target = await store.targets.by_id(claimed.target_id)
        assert target is not None
        if reached(target):
            await courier.send(target, Reply(text="the post"), claimed.key)
