"""Answering interactions: who asked (:func:`caller_for`) and :class:`Answerer`.

:meth:`Answerer.answer` is the one way an interaction is answered: run the core, and if that
takes longer than ``defer_after`` (Discord allows 3 s for the first response), defer first
and follow up; then send the rendered messages with ``AllowedMentions.none()``. Slash
commands and button presses carry the same :func:`caller_for` (``can_manage`` included).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable

import discord

from adapters.discord.permissions import can_manage_channels
from adapters.discord.render import render_reply
from adapters.discord.views import message_kwargs
from bot import Caller, Reply

log = logging.getLogger(__name__)

DEFER_AFTER = 1.0  # seconds of core work before we defer; Discord's deadline is 3 s
INTERACTION_EXPIRED = 10062  # "Unknown interaction": the 3 s window passed
ALREADY_ACKNOWLEDGED = 40060
UNKNOWN_WEBHOOK = 10015  # the 15-minute interaction token has expired

Interaction = discord.Interaction[discord.Client]  # answering needs nothing client-specific


def caller_for(interaction: Interaction) -> Caller:
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


class Answerer:
    """Answers interactions with the core's replies; defers when the core takes longer
    than *defer_after* seconds (tests pass 0 to force the deferred path)."""

    def __init__(self, *, defer_after: float = DEFER_AFTER) -> None:
        self.defer_after = defer_after

    async def answer(
        self, interaction: Interaction, work: Awaitable[Reply], *, share: bool = False
    ) -> None:
        """Run *work* (the core) and answer *interaction* with its reply.

        A successful share gets the heading ``Shared by <@user>`` (no ping). Every failure is
        logged once; an expired interaction (10062) cannot be answered at all, so it is
        logged as such and dropped.
        """
        task = asyncio.ensure_future(work)
        try:
            try:
                reply = await asyncio.wait_for(asyncio.shield(task), self.defer_after)
            except TimeoutError:
                await _defer(interaction)
                reply = await task
            shared = share and not reply.is_error
            heading = f"Shared by {interaction.user.mention}" if shared else None
            await send_reply(interaction, reply, heading=heading)
        except discord.HTTPException as exc:
            if not _log_http_failure(interaction, exc):
                await _apologise(interaction, exc)
        except Exception as exc:
            await _apologise(interaction, exc)
        finally:
            if not task.done():
                task.cancel()


async def _defer(interaction: Interaction) -> None:
    if interaction.type is discord.InteractionType.component:
        await interaction.response.defer()  # acknowledge; our messages follow as new ones
    else:
        await interaction.response.defer(ephemeral=True, thinking=True)


async def send_reply(interaction: Interaction, reply: Reply, *, heading: str | None = None) -> None:
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


def _log_http_failure(interaction: Interaction, exc: discord.HTTPException) -> bool:
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


async def _apologise(interaction: Interaction, exc: Exception) -> None:
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
