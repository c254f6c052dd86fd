import pytest

from bot.grammar.commands import Status
from bot.model.caller import Caller
from bot.service.limits import CommandBudget
from bot.service.papersbot import PapersBot
from bot.store import Store
from tests.fakes.clock import Clock


def test_burst_then_refill(clock: Clock) -> None:
    budget = CommandBudget(burst=3, per_minute=6, clock=clock.monotonic)
    assert [budget.take("u") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert budget.take("u") == 10.0  # one command per 10 s
    assert budget.take("other") == 0.0
    clock.advance(seconds=10)
    assert budget.take("u") == 0.0
    assert budget.take("u") > 0


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    monkeypatch.setattr("bot.service.limits.MAX_KEYS", 5)
    budget = CommandBudget(burst=1, per_minute=60, clock=clock.monotonic)
    for i in range(5):
        budget.take(f"k{i}")
    assert budget.tracked() == 5
    clock.advance(seconds=5)  # every bucket has refilled
    budget.take("new")
    assert budget.tracked() == 1


def test_a_bucket_still_limiting_is_never_forgotten(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    monkeypatch.setattr("bot.service.limits.MAX_KEYS", 2)
    budget = CommandBudget(burst=1, per_minute=1, clock=clock.monotonic)
    budget.take("flooder")
    for i in range(3):
        budget.take(f"k{i}")
    assert budget.take("flooder") > 0  # the full table did not forget an empty bucket


async def test_flooding_user_is_told_to_slow_down(store: Store, clock: Clock) -> None:
    budget = CommandBudget(burst=2, per_minute=1, clock=clock.monotonic)
    bot = PapersBot(store=store, clock=clock, budget=budget)
    flooder = Caller(platform="slack", user_id="U1", user_name="F")
    replies = [await bot.run_command(Status(), flooder) for _ in range(3)]
    assert [r.is_error for r in replies] == [False, False, True]
    assert replies[2].text == "You are sending commands too fast; try again in 60 s."
    calm = await bot.run_command(Status(), Caller(platform="slack", user_id="U2"))
    assert not calm.is_error
