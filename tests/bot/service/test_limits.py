from bot.grammar.commands import Status
from bot.model.caller import Caller
from bot.service.limits import CommandBudget
from bot.service.papersbot import PapersBot
from bot.store import Store
from tests.conftest import fixed_clock


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill() -> None:
    clock = Clock()
    budget = CommandBudget(burst=3, per_minute=6, clock=clock)
    assert [budget.take("u") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert budget.take("u") == 10.0  # one command per 10 s
    assert budget.take("other") == 0.0
    clock.now += 10
    assert budget.take("u") == 0.0
    assert budget.take("u") > 0


def test_memory_is_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("bot.service.limits.MAX_KEYS", 5)
    clock = Clock()
    budget = CommandBudget(burst=1, per_minute=60, clock=clock)
    for i in range(5):
        budget.take(f"k{i}")
    clock.now += 5  # every bucket has refilled
    budget.take("new")
    assert len(budget._buckets) == 1


async def test_flooding_user_is_told_to_slow_down(store: Store) -> None:
    bot = PapersBot(
        store=store, clock=fixed_clock, budget=CommandBudget(burst=2, per_minute=1, clock=Clock())
    )
    flooder = Caller(platform="slack", user_id="U1", user_name="F")
    replies = [await bot.run_command(Status(), flooder) for _ in range(3)]
    assert [r.is_error for r in replies] == [False, False, True]
    assert replies[2].text == "You are sending commands too fast; try again in 60 s."
    calm = await bot.run_command(Status(), Caller(platform="slack", user_id="U2"))
    assert not calm.is_error
