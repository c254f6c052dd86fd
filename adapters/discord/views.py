"""Interaction answers and persistent buttons.

Buttons are stateless: a button's ``custom_id`` is ``pb:`` plus the core's action value
(``pb:more:<token>:<offset>``, ``pb:show:<id>``, ``pb:share:<id>``, ``pb:subscribe:<token>``),
and :class:`PaperButton`, a :class:`discord.ui.DynamicItem` registered once per client, routes
every press by that template. Nothing is kept in memory per message, so buttons keep working
after a restart, and a stale or forged id reaches :meth:`PapersBot.press`, which answers with
a polite ephemeral error. Views are stopped before sending so discord.py does not store them.
Presses carry the same :func:`caller_for` as slash commands (``can_manage`` included).

:func:`answer` is the one way an interaction is answered: run the core, and if that takes
longer than the client's ``defer_after`` (Discord allows 3 s for the first response), defer
first and follow up; then send the rendered messages with ``AllowedMentions.none()``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable
from typing import Any, Protocol, runtime_checkable

import discord

from adapters.discord.permissions import can_manage_channels
from adapters.discord.render import CUSTOM_ID_PREFIX, DiscordMessage, render_reply
from bot import Caller, PapersBot, Reply

log = logging.getLogger(__name__)

DEFER_AFTER = 1.0  # seconds of core work before we defer; Discord's deadline is 3 s
INTERACTION_EXPIRED = 10062  # "Unknown interaction": the 3 s window passed
ALREADY_ACKNOWLEDGED = 40060
UNKNOWN_WEBHOOK = 10015  # the 15-minute interaction token has expired
BUTTON_TEMPLATE = re.compile(re.escape(CUSTOM_ID_PREFIX) + r"(?P<value>[!-~]{1,97})")
_STYLES = {
    "more": discord.ButtonStyle.primary,
    "share": discord.ButtonStyle.success,
    "subscribe": discord.ButtonStyle.success,
}


@runtime_checkable
class PapersClientLike(Protocol):
    """What the handlers need from the client (``adapters.discord.client.PapersClient``)."""

    papers: PapersBot
    defer_after: float


def caller_for(interaction: discord.Interaction[Any]) -> Caller:
    """The core's :class:`Caller` for whoever triggered *interaction*, and where.

    ``can_manage`` is Manage Channels as Discord resolved it for the member in this channel
    (``False`` in a DM); ``timezone`` stays ``None`` because Discord never tells a bot a
    user's zone, so the core falls back to its default.
    """
    return Caller(
        platform="discord",
        user_id=str(interaction.user.id),
        user_name=interaction.user.display_name,
        channel_id=str(interaction.channel_id) if interaction.channel_id else None,
        workspace_id=str(interaction.guild_id) if interaction.guild_id else None,
        can_manage=can_manage_channels(interaction),
        timezone=None,
    )


def _client(interaction: discord.Interaction[Any]) -> PapersClientLike:
    client = interaction.client
    if not isinstance(client, PapersClientLike):
        raise TypeError("papersbot handlers need a PapersClient")
    return client


class PaperButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=BUTTON_TEMPLATE
):
    """A More / Show / Share / Subscribe button whose whole state is its ``custom_id``."""

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
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> PaperButton:
        label = getattr(item, "label", None) or "…"
        return cls(f"{CUSTOM_ID_PREFIX}{match['value']}", label, row=item.row)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await press(interaction, self.value)


async def press(interaction: discord.Interaction[Any], value: str) -> None:
    """Answer a button press carrying the core action *value* (Share posts publicly)."""
    bot = _client(interaction).papers
    share = value.partition(":")[0] == "share"
    await answer(interaction, bot.press(value, caller_for(interaction)), share=share)


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


def message_kwargs(message: DiscordMessage) -> dict[str, Any]:
    """Keyword arguments for ``send``/``send_message``/``followup.send`` of one message."""
    kwargs: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none()}
    if message.content:
        kwargs["content"] = message.content
    if message.embeds:
        kwargs["embeds"] = list(message.embeds)
    view = build_view(message)
    if view is not None:
        kwargs["view"] = view
    return kwargs


async def answer(
    interaction: discord.Interaction[Any], work: Awaitable[Reply], *, share: bool = False
) -> None:
    """Run *work* (the core) and answer *interaction* with its reply.

    A successful share gets the heading ``Shared by <@user>`` (no ping). Every failure is
    logged once; an expired interaction (10062) cannot be answered at all, so it is logged
    as such and dropped.
    """
    task = asyncio.ensure_future(work)
    try:
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), _client(interaction).defer_after)
        except TimeoutError:
            await _defer(interaction)
            reply = await task
        heading = f"Shared by {interaction.user.mention}" if share and not reply.is_error else None
        await send_reply(interaction, reply, heading=heading)
    except discord.HTTPException as exc:
        if not _log_http_failure(interaction, exc):
            await _apologise(interaction, exc)
    except Exception as exc:
        await _apologise(interaction, exc)
    finally:
        if not task.done():
            task.cancel()


async def _defer(interaction: discord.Interaction[Any]) -> None:
    if interaction.type is discord.InteractionType.component:
        await interaction.response.defer()  # acknowledge; our messages follow as new ones
    else:
        await interaction.response.defer(ephemeral=True, thinking=True)


async def send_reply(
    interaction: discord.Interaction[Any], reply: Reply, *, heading: str | None = None
) -> None:
    """Send *reply* as the interaction's response, then follow-ups for any further parts.

    After a "thinking" defer (slash commands) the first follow-up replaces the thinking
    message and keeps its visibility, which is ephemeral: slash replies are all ephemeral.
    """
    messages = render_reply(reply, heading=heading)
    ephemeral = reply.ephemeral or reply.is_error
    if not interaction.response.is_done():
        await interaction.response.send_message(**message_kwargs(messages[0]), ephemeral=ephemeral)
        messages = messages[1:]
    for message in messages:
        await interaction.followup.send(**message_kwargs(message), ephemeral=ephemeral, wait=True)


def _log_http_failure(interaction: discord.Interaction[Any], exc: discord.HTTPException) -> bool:
    """Log the failures that leave nobody to answer; ``False`` for any other failure."""
    if exc.code == INTERACTION_EXPIRED:
        log.warning(
            "interaction %s expired before it was answered (Discord allows 3 s); the user "
            "saw 'The application did not respond'",
            interaction.id,
        )
    elif exc.code == ALREADY_ACKNOWLEDGED:
        log.warning("interaction %s was already acknowledged", interaction.id)
    elif exc.code == UNKNOWN_WEBHOOK:
        log.warning(
            "interaction %s: its 15-minute token expired before a follow-up", interaction.id
        )
    else:
        return False
    return True


async def _apologise(interaction: discord.Interaction[Any], exc: Exception) -> None:
    """Log *exc* once with an error id and tell the user, if Discord still lets us."""
    error_id = secrets.token_hex(4)
    log.error("error %s answering interaction %s", error_id, interaction.id, exc_info=exc)
    text = f"Sorry, something went wrong (error {error_id})."
    none = discord.AllowedMentions.none()
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=none)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=none)
    except discord.HTTPException as again:
        if not _log_http_failure(interaction, again):
            log.error("error %s: the apology failed too: %s", error_id, again)
    except Exception as again:  # never let an apology raise out of a handler
        log.error("error %s: the apology failed too: %r", error_id, again)
