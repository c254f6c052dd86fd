"""Text no layer can take (lone surrogates, NUL) typed into a command or a button value:
a normal answer, never a traceback, and the store keeps working."""

from __future__ import annotations

from bot.model.caller import Caller
from bot.service.papersbot import PapersBot

USER = Caller(platform="slack", user_id="U1", channel_id="C1", workspace_id="T1")


async def test_a_subscription_with_a_lone_surrogate_is_kept_valid(testbot: PapersBot) -> None:
    reply = await testbot.respond("subscribe diffusion \ud800 models\x00", USER)
    assert not reply.is_error, reply.text
    listed = await testbot.respond("subscriptions", USER)
    assert "diffusion \ufffd models" in "\n".join(listed.notes)


async def test_a_search_and_a_button_with_lone_surrogates_answer_normally(
    testbot: PapersBot,
) -> None:
    reply = await testbot.respond("search \udcff diffusion", USER)
    assert "Sorry" not in reply.text
    pressed = await testbot.press("more:\ud800:5", USER)
    assert pressed.is_error
    assert "Sorry" not in pressed.text
