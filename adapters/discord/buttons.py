"""Presses of papersbot's buttons, answered by the core.

:class:`PaperButtons` receives the core and the :class:`~adapters.discord.answers.Answerer`
from the client. Its :attr:`~PaperButtons.item_class` is the
:class:`~adapters.discord.views.PaperButton` class the client registers, so every ``pb:``
press comes here; a press outside that namespace (an older build's button) is passed in by
the client's ``on_interaction``. A stale or forged value reaches :meth:`PapersBot.press`,
which answers with a polite ephemeral error.
"""

from __future__ import annotations

import discord

from adapters.discord.answers import Answerer, caller_for
from adapters.discord.views import PaperButton, bound_button
from bot import PapersBot


class PaperButtons:
    """What a press of More / Show / Share / Subscribe does: ask *bot*, answer through
    *answerer* (Share posts publicly, with the sharer's name)."""

    def __init__(self, bot: PapersBot, answerer: Answerer) -> None:
        self.bot = bot
        self.answerer = answerer
        self.item_class: type[PaperButton] = bound_button(self.press)

    async def press(self, interaction: discord.Interaction[discord.Client], value: str) -> None:
        """Answer a button press carrying the core action *value*."""
        share = value.partition(":")[0] == "share"
        work = self.bot.press(value, caller_for(interaction))
        await self.answerer.answer(interaction, work, share=share)
