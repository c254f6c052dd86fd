"""Rendered messages as discord.py send arguments: content, embeds and a view of buttons.

Buttons are stateless: a button's ``custom_id`` is ``pb:`` plus the core's action value
(``pb:more:<token>:<offset>``, ``pb:show:<id>``, ``pb:share:<id>``, ``pb:subscribe:<token>``),
and :class:`PaperButton` is a :class:`discord.ui.DynamicItem` matching that template. Views
are stopped before sending so discord.py does not store them: nothing is kept in memory per
message, so buttons keep working after a restart. A press is routed by the template to the
class :func:`bound_button` makes for one client (:class:`adapters.discord.buttons.PaperButtons`
registers it), which hands the value to the core.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TypedDict

import discord

from adapters.discord.render import CUSTOM_ID_PREFIX, DiscordMessage

BUTTON_TEMPLATE = re.compile(re.escape(CUSTOM_ID_PREFIX) + r"(?P<value>[!-~]{1,97})")
_STYLES = {
    "more": discord.ButtonStyle.primary,
    "share": discord.ButtonStyle.success,
    "subscribe": discord.ButtonStyle.success,
}

PressHandler = Callable[[discord.Interaction[discord.Client], str], Awaitable[None]]
"""What answers a press: the interaction and the core's action value."""


class SendKwargs(TypedDict, total=False):
    """Keyword arguments of ``send`` / ``send_message`` / ``followup.send`` for one message."""

    allowed_mentions: discord.AllowedMentions
    content: str
    embeds: list[discord.Embed]
    view: discord.ui.View


class PaperButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=BUTTON_TEMPLATE
):
    """A More / Show / Share / Subscribe button whose whole state is its ``custom_id``.

    This class renders; presses reach the subclass :func:`bound_button` makes.
    """

    def __init__(self, custom_id: str, label: str, *, row: int | None = None) -> None:
        kind = custom_id.removeprefix(CUSTOM_ID_PREFIX).partition(":")[0]
        style = _STYLES.get(kind, discord.ButtonStyle.secondary)
        super().__init__(discord.ui.Button(label=label, custom_id=custom_id, style=style), row=row)

    @property
    def value(self) -> str:
        """The core's action value (the ``custom_id`` without ``pb:``)."""
        return (self.item.custom_id or "").removeprefix(CUSTOM_ID_PREFIX)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[discord.Client],
        item: discord.ui.Item[discord.ui.View],
        match: re.Match[str],
        /,
    ) -> PaperButton:
        label = item.label if isinstance(item, discord.ui.Button) else None
        return cls(f"{CUSTOM_ID_PREFIX}{match['value']}", label or "…", row=item.row)


def bound_button(press: PressHandler) -> type[PaperButton]:
    """A :class:`PaperButton` class whose presses go to *press*, for one client to register
    with ``add_dynamic_items`` (discord.py builds the item from the class on each press)."""

    class BoundPaperButton(PaperButton, template=BUTTON_TEMPLATE):
        async def callback(self, interaction: discord.Interaction[discord.Client]) -> None:
            await press(interaction, self.value)

    return BoundPaperButton


def build_view(message: DiscordMessage) -> discord.ui.View | None:
    """The rendered buttons as a stopped (never stored) view; ``None`` when there are none."""
    if not message.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for button in message.buttons:
        if button.url is not None:
            view.add_item(discord.ui.Button(label=button.label, url=button.url, row=button.row))
        elif button.custom_id is not None:
            view.add_item(PaperButton(button.custom_id, button.label, row=button.row))
    view.stop()  # presses are routed by PaperButton's template, not by this object
    return view


def message_kwargs(message: DiscordMessage) -> SendKwargs:
    """Keyword arguments for ``send``/``send_message``/``followup.send`` of one message."""
    kwargs: SendKwargs = {"allowed_mentions": discord.AllowedMentions.none()}
    if message.content:
        kwargs["content"] = message.content
    if message.embeds:
        kwargs["embeds"] = list(message.embeds)
    view = build_view(message)
    if view is not None:
        kwargs["view"] = view
    return kwargs
