"""Hostile ``INTERACTION_CREATE`` payloads through the real discord.py client: unknown and
stale subcommands, missing, unknown and mistyped options, and forged button ids. Every one
gets a short ephemeral answer (never the apology for a bug, never a traceback in the log),
and the bot goes on answering real commands."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.service.papersbot import PapersBot
from tests.adapters.conftest_discord import discord_env
from tests.fakes.discord import CHANNEL_ID, FakeDiscord, Interaction
from tests.fuzz.nasty import NASTY

EPHEMERAL = 1 << 6
APOLOGY = "Sorry, something went wrong"
Json = dict[str, Any]


def _command(fake: FakeDiscord) -> Json:
    [papers] = fake.commands[None]
    return papers


def _sub(name: str, options: Any) -> list[Json]:
    return [{"name": name, "type": 1, "options": options}]


def _curated(papers: Json) -> dict[str, Json]:
    """Data parts Discord itself would never send, but a stale client, a replay or a
    forger could."""
    cid, name = papers["id"], papers["name"]

    def command(options: Any, *, id_: str = cid) -> Json:
        return {"id": id_, "name": name, "type": 1, "options": options}

    return {
        "unknown subcommand": command(_sub("explode", [])),
        "no subcommand": command([]),
        "options not a list": command({"name": "search"}),
        "required option missing": command(_sub("search", [])),
        "unknown option": command(_sub("today", [{"name": "bogus", "type": 4, "value": 3}])),
        "integer as text": command(_sub("today", [{"name": "count", "type": 4, "value": "ten"}])),
        "huge integer": command(_sub("today", [{"name": "count", "type": 4, "value": 10**30}])),
        "text as number": command(_sub("search", [{"name": "query", "type": 3, "value": 5}])),
        "text as object": command(_sub("search", [{"name": "query", "type": 3, "value": {}}])),
        "10k query": command(_sub("search", [{"name": "query", "type": 3, "value": "x" * 10_000}])),
        "group as leaf": command([{"name": "digest", "type": 1, "options": []}]),
        "leaf as group": command([{"name": "search", "type": 2, "options": _sub("on", [])}]),
        "unknown command id": command(_sub("today", []), id_="1"),
        "unknown command name": {"id": cid, "name": "notpapers", "type": 1, "options": []},
    }


def _buttons() -> dict[str, Json]:
    forged = ["", "papers:", "papers:more:0", "papers:show:../../etc", "x" * 100, "\u202e:more"]
    return {f"button {v[:20]!r}": {"custom_id": v, "component_type": 2} for v in forged}


async def _answered(fake: FakeDiscord, kind: int, data: Json) -> Interaction:
    ix = await fake._interact(kind, data, fake.channels[CHANNEL_ID])
    async with asyncio.timeout(10):
        while ix.callback is None:  # noqa: ASYNC110 (the client answers over HTTP)
            await asyncio.sleep(0.01)
    return ix


def _clear(ix: Interaction) -> str:
    assert ix.callback is not None
    body = ix.callback.get("data") or {}
    text = body.get("content") or " ".join(e.get("title", "") for e in body.get("embeds", []))
    assert text, ix.callback
    assert not text.startswith(APOLOGY), text
    return str(text)


async def test_curated_hostile_interactions_get_clear_answers(
    testbot: PapersBot, caplog: pytest.LogCaptureFixture
) -> None:
    async with discord_env(testbot) as (fake, _):
        cases = {**_curated(_command(fake)), **_buttons()}
        for label, data in cases.items():
            kind = 3 if "custom_id" in data else 2
            ix = await _answered(fake, kind, data)
            _clear(ix)
            assert ix.callback is not None
            assert ix.callback["data"]["flags"] & EPHEMERAL, label
        real = await fake.slash("today", count=2)
        async with asyncio.timeout(10):
            while not real.messages:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        assert real.messages[0]["embeds"]
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


NAMES = ["search", "today", "show", "more", "help", "status", "subscribe", "subscriptions",
         "unsubscribe", "digest", "on", "off", "query", "count", "at", "tz", "id"]  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=300),
    st.sampled_from(NASTY),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
)
OPTION = st.fixed_dictionaries(
    {"name": st.one_of(st.sampled_from(NAMES), st.text(max_size=20)),
     "type": st.one_of(st.integers(min_value=1, max_value=11), st.sampled_from([0, 99, -1]))},
    optional={"value": VALUES, "focused": st.booleans()},
)  # fmt: skip
LEAF = st.fixed_dictionaries(
    {"name": st.sampled_from(NAMES), "type": st.sampled_from([1, 2, 3]),
     "options": st.lists(OPTION, max_size=4)}
)  # fmt: skip
DATA = st.fixed_dictionaries(
    {"options": st.one_of(
        st.lists(LEAF, max_size=2),
        st.lists(st.fixed_dictionaries(
            {"name": st.sampled_from(["digest"]), "type": st.just(2),
             "options": st.lists(LEAF, max_size=2)}), max_size=1),
    )}
)  # fmt: skip


def _generated(count: int) -> list[Json]:
    """*count* data parts from hypothesis, drawn once and deterministically (the bot runs in
    one event loop and one fake for all of them, so hypothesis only generates here)."""
    drawn: list[Json] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),  # only drawing here, on a busy machine
    )
    @given(DATA)
    def draw(data: Json) -> None:
        drawn.append(data)

    draw()
    return drawn


COUNT = 120


async def test_generated_command_payloads_get_clear_answers(
    testbot: PapersBot, caplog: pytest.LogCaptureFixture
) -> None:
    """{COUNT} generated command payloads: subcommand and option names from the real
    ones and random, option types valid and not, values of every JSON type and the nasty
    strings."""
    async with discord_env(testbot) as (fake, _):
        papers = _command(fake)
        for data in _generated(COUNT):
            ix = await _answered(fake, 2, {"id": papers["id"], "name": papers["name"], **data})
            _clear(ix)
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
