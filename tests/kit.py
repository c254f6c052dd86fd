"""Shared parts of the dispatcher tests: a settable clock, a recording courier, helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from bot.delivery.courier import LookupFailed, SendResult, SendStatus
from bot.delivery.dispatcher import Dispatcher
from bot.grammar.commands import parse_command
from bot.model.caller import Caller
from bot.model.delivery import DeliveryKey, Target
from bot.model.replies import Reply
from bot.service.papersbot import PapersBot
from bot.store import Store
from bot.store.runs import IngestRun

START = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)  # Wednesday; the snapshot's latest day


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Recorder:
    """A courier that records sends, can fail on demand, and can 'crash' before the mark."""

    platform = "slack"

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, Reply]] = []  # (address, key, reply)
        self.fail_with: list[SendResult] = []
        self.lookups = 0
        self.lookup_failures = 0  # how many look-ups raise LookupFailed first

    async def send(self, target: Target, reply: Reply, key: DeliveryKey) -> SendResult:
        if self.fail_with:
            return self.fail_with.pop(0)
        self.posts.append((target.address, str(key), reply))
        return SendResult(SendStatus.SENT, f"m{len(self.posts)}")

    async def find_sent(self, target: Target, key: DeliveryKey, since: datetime) -> str | None:
        self.lookups += 1
        if self.lookup_failures:
            self.lookup_failures -= 1
            raise LookupFailed("history unavailable")
        for i, (address, posted_key, _) in enumerate(self.posts, start=1):
            if address == target.address and posted_key == str(key):
                return f"m{i}"
        return None

    def sent_keys(self) -> list[str]:
        return [key for _, key, _ in self.posts]


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
    courier: Recorder,
    clock: Clock,
    *,
    reached: Callable[[Target], bool] = lambda target: True,
) -> None:
    """Plan and claim every due row and send those whose target is *reached*, then stop
    as a SIGKILL would: nothing is marked."""
    await Dispatcher(store, clock, {courier.platform: courier}).plan()
    for row in await store.ledger.open_deliveries(now=clock.now, stale_after=timedelta(0)):
        claimed = await store.ledger.claim(row.id, now=clock.now, stale_after=timedelta(0))
        assert claimed is not None
        target = await store.targets.by_id(claimed.target_id)
        assert target is not None
        if reached(target):
            await courier.send(target, Reply(text="the post"), claimed.key)
