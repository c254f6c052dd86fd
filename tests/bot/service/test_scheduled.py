"""subscribe / subscriptions / unsubscribe / digest: good and bad input, and nothing
changes on a bad command."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.model.caller import Caller
from bot.model.delivery import DeliveryKey
from bot.service.limits import CommandBudget
from bot.service.papersbot import PapersBot
from bot.service.scheduling import MAX_SUBSCRIPTIONS
from bot.store import Store
from tests.fakes.clock import START as NOW
from tests.fakes.clock import Clock

ANN = Caller(
    platform="slack", user_id="U1", channel_id="C1", workspace_id="T1", timezone="Europe/Berlin"
)
BOSS = Caller(platform="slack", user_id="U9", channel_id="C1", workspace_id="T1", can_manage=True)


@pytest.fixture
def bot(store: Store, clock: Clock) -> PapersBot:
    budget = CommandBudget(burst=1000)  # the flood limit has tests of its own
    return PapersBot(store=store, clock=clock, default_tz="America/New_York", budget=budget)


async def ask(bot: PapersBot, text: str, caller: Caller = ANN) -> tuple[str, tuple[str, ...], bool]:
    reply = await bot.respond(text, caller)
    return reply.text, reply.notes, reply.is_error


async def test_subscribe_uses_the_platform_zone_and_defaults(bot: PapersBot) -> None:
    text, notes, error = await ask(bot, "subscribe sparse autoencoders")
    assert not error
    assert "Subscribed (#1)" in text
    assert "weekdays at 08:00 Europe/Berlin" in notes[0]
    assert "Thu 20 Aug 08:00" in notes[0]
    text, notes, _ = await ask(
        bot, "subscribe diffusion at 8pm", Caller(platform="slack", user_id="U2")
    )
    assert "20:00 America/New_York" in notes[0]  # no platform zone: the setting


@pytest.mark.parametrize(
    ("command", "fragment"),
    [
        ("subscribe", "Subscribe to what?"),
        ("subscribe diffusion at 25:00", "no hour 25"),
        ("subscribe diffusion tz Europe/Berln", "did you mean `Europe/Berlin`"),
        ("subscribe diffusion since:7d", "drop the `since:`"),
        ("subscribe -video", "at least one word"),
        ("subscribe " + "x" * 260, "characters"),
        ('subscribe "unclosed', "quote"),
        ("unsubscribe", "Which subscription?"),
        ("unsubscribe two", "is not one"),
        ("unsubscribe 99", "no subscription #99"),
        ("digest on", "Only people who can manage"),
        ("digest off", "Only people who can manage"),
        ("digest maybe", "digest on"),
    ],
)
async def test_bad_input_is_explained_and_changes_nothing(
    bot: PapersBot, store: Store, command: str, fragment: str
) -> None:
    text, _, error = await ask(bot, command)
    assert error
    assert fragment.lower() in text.lower(), text
    assert await store.schedules.all_subscriptions() == []
    assert await store.schedules.due_digests(datetime(2100, 1, 1, tzinfo=UTC)) == []


async def test_duplicates_and_the_limit(bot: PapersBot) -> None:
    await ask(bot, "subscribe llm at 9am")
    text, _, error = await ask(bot, "subscribe LLM at 09:00")
    assert error
    assert "already have that subscription (#1)" in text
    for n in range(MAX_SUBSCRIPTIONS - 1):
        assert not (await ask(bot, f"subscribe topic{n}"))[2]
    text, _, error = await ask(bot, "subscribe one more")
    assert error
    assert f"{MAX_SUBSCRIPTIONS} subscriptions" in text


async def test_list_and_unsubscribe_only_your_own(bot: PapersBot) -> None:
    await ask(bot, "subscribe llm weekly fri")
    other = Caller(platform="slack", user_id="U2")
    text, _, error = await ask(bot, "unsubscribe 1", other)
    assert error
    assert "no subscription #1" in text
    text, notes, _ = await ask(bot, "subscriptions")
    assert "1 subscription" in text
    assert "weekly on Friday at 08:00" in notes[0]
    assert (await ask(bot, "subscriptions", other))[0].startswith("You have no subscriptions")
    assert (await ask(bot, "unsubscribe #1"))[0] == "Unsubscribed from #1."
    assert "no subscriptions to remove" in (await ask(bot, "unsubscribe all"))[0]


async def test_subscribe_button_subscribes_to_the_search(bot: PapersBot) -> None:
    reply = await bot.respond("search diffusion", ANN)
    button = next(a for a in reply.actions if a.kind == "subscribe")
    confirmed = await bot.press(button.value, ANN)
    assert not confirmed.is_error
    assert "“diffusion”" in confirmed.text
    stale = await bot.press("subscribe:0123456789abcdef", ANN)
    assert stale.is_error
    assert "expired" in stale.text


async def test_digest_on_status_off(bot: PapersBot) -> None:
    text, notes, error = await ask(
        bot, "digest on at 7:30 tz Asia/Tokyo top 3 min-upvotes 5 filter diffusion -video", BOSS
    )
    assert not error
    assert text == "Digest on for this channel"
    assert "Top 3 papers" in notes[0]
    assert "“diffusion -video”" in notes[0]
    assert "at least 5 upvotes" in notes[0]
    assert "07:30 Asia/Tokyo" in notes[0]
    text, notes, _ = await ask(bot, "digest status")  # anyone may look
    assert text == "This channel's digest"
    assert "Next post: Thu 20 Aug 07:30" in notes[1]
    text, _, _ = await ask(bot, "digest on empty-days silent", BOSS)
    assert text == "Digest updated for this channel"
    assert (await ask(bot, "digest off", BOSS))[0] == "Digest off for this channel."
    assert "no digest" in (await ask(bot, "digest status"))[0]


async def test_digest_needs_a_channel(bot: PapersBot) -> None:
    text, _, error = await ask(
        bot, "digest on", Caller(platform="slack", user_id="U1", can_manage=True)
    )
    assert error
    assert "run this in the channel" in text


async def test_a_zone_with_a_space_is_explained(bot: PapersBot, store: Store) -> None:
    text, _, error = await ask(bot, "subscribe llm tz America/New York")
    assert error
    assert "America/New_York" in text
    assert await store.schedules.all_subscriptions() == []


async def test_any_subscribe_resumes_paused_dms(bot: PapersBot, store: Store) -> None:
    await ask(bot, "subscribe llm")
    target = await store.targets.ensure("slack", "", "user", "U1")
    await store.targets.disable(target.id, now=NOW, reason="the user blocks DMs")
    assert "Heads-up" in " ".join((await ask(bot, "subscriptions"))[1])
    text, notes, error = await ask(bot, "subscriptions")
    assert notes[0].startswith("Paused: the user blocks DMs")
    text, _, error = await ask(bot, "subscribe llm")  # the same one again
    assert not error
    assert text == "Your DMs are back on (you already had #1)."
    resumed = await store.targets.ensure("slack", "", "user", "U1")
    assert resumed.disabled_at is None


async def test_moving_todays_digest_after_it_went_out_says_tomorrow(
    bot: PapersBot, store: Store
) -> None:
    await ask(bot, "digest on at 09:00 tz UTC daily", BOSS)
    target = await store.targets.ensure("slack", "T1", "channel", "C1")
    await store.ledger.plan(
        target.id, DeliveryKey.digest(date(2026, 8, 19)), due_at=NOW.replace(hour=9)
    )
    _, notes, _ = await ask(bot, "digest on at 20:00 tz UTC daily", BOSS)
    assert "Next post: Thu 20 Aug 20:00 UTC" in notes[1]
    digest = await store.schedules.digest(target.id)
    assert digest is not None
    assert digest.next_fire == datetime(2026, 8, 20, 20, tzinfo=UTC)
