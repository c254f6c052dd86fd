"""Discord lists are numbered from the reply's first result: page 2 of a search is 6 to 10,
in the embeds' titles and on the numbered buttons alike."""

from __future__ import annotations

import re

import adapters.discord  # noqa: F401  (first: it imports discord.py without the audioop warning)
from adapters.discord.render import render_reply
from bot.model.caller import Caller
from bot.service.papersbot import PapersBot

CALLER = Caller(platform="discord", user_id="42", channel_id="7")


async def test_page_two_is_numbered_six_to_ten(testbot: PapersBot) -> None:
    first = await testbot.respond("search diffusion", CALLER)
    [more] = [a for a in first.actions if a.kind == "more"]
    second = await testbot.press(more.value, CALLER)
    assert second.text.startswith("Results 6–10 of")
    messages = render_reply(second)
    titles = [embed.title or "" for message in messages for embed in message.embeds]
    numbers = [m[1] for t in titles if (m := re.match(r"(\d+)\. ", t))]
    assert numbers == ["6", "7", "8", "9", "10"]
    labels = [b.label for message in messages for b in message.buttons if "#" in b.label]
    assert labels
    assert {label.rsplit("#", 1)[1] for label in labels} == {"6", "7", "8", "9", "10"}
