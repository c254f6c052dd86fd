"""The Discord :class:`bot.delivery.courier.Courier`: scheduled posts to channels and users' DMs.

Built on :class:`~adapters.discord.delivery.Deliverer`, so every request is paced under
Discord's global limit, 429s are slept and retried, each part carries a nonce derived from
the delivery key (a retry within Discord's nonce window returns the message already posted)
and a :func:`~adapters.discord.markers.marker` of the key.

``find_sent`` cannot ask Discord for a nonce (message history does not return it), so it
reads the channel's history after *since* (``GET /channels/{id}/messages?after=``, 100 a
page, oldest first) and looks for the bot's own messages carrying the key's marker. That
needs Read Message History, which the invite asks for; a DM needs none.

Outcomes: SENT → ``SENT`` with the first message's id; UNDELIVERABLE (DMs closed, no such
user), FORBIDDEN (permissions) and GONE (deleted channel) → ``PERMANENT``, so the dispatcher
disables the target until someone fixes it; FAILED (5xx, network, a rate limit that outlasted
every retry) → ``RETRY`` with Discord's ``retry_after`` when it gave one.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from typing import assert_never

import discord

from adapters.discord.delivery import Deliverer
from adapters.discord.markers import marker, marks
from adapters.discord.outcomes import ERRORS, Delivery, Outcome
from adapters.discord.pacing import Pacer
from bot import DeliveryKey, LookupFailed, Reply, SendResult, SendStatus, Target

log = logging.getLogger(__name__)

PLATFORM = "discord"
PAGE = 100  # messages per history request, Discord's maximum
MAX_PAGES = 500  # 50,000 messages: past this a look-up says it cannot tell
# A post for a delivery can only exist between its due time and the end of its grace
# window (4 h by default), plus slack: history after that is not read.
WINDOW = timedelta(hours=8)


def send_status(outcome: Outcome) -> SendStatus:
    """What the dispatcher should do after a send ended with *outcome*."""
    match outcome:
        case Outcome.SENT:
            return SendStatus.SENT
        case Outcome.UNDELIVERABLE | Outcome.FORBIDDEN | Outcome.GONE:
            return SendStatus.PERMANENT
        case Outcome.FAILED:
            return SendStatus.RETRY
        case _:
            assert_never(outcome)


def result_of(delivery: Delivery) -> SendResult:
    """The core's :class:`SendResult` for a :class:`Delivery`."""
    status = send_status(delivery.outcome)
    if status is SendStatus.SENT:
        return SendResult(status, message_id=str(delivery.message_id))
    return SendResult(status, detail=delivery.detail, retry_after=delivery.retry_after)


class DiscordCourier:
    """Delivers replies to Discord channels and users' DMs (see the module docstring).

    *client* is the process's discord.py client (logged in before the first send;
    ``find_sent`` needs the bot's own user id). *pacer* defaults to :class:`Pacer`'s
    defaults: 48 requests/s for everything this courier sends, 5 messages per 5 s per
    channel. Build one courier per client: two would each take 48/s of the same 50.
    A look-up reads the history from the delivery's due time to *window* after it; a
    channel too busy to read that far in *max_pages* pages (100 messages each) makes it
    raise :class:`~bot.delivery.courier.LookupFailed` (so nothing is re-sent), never
    answer "not there".
    """

    platform = PLATFORM

    def __init__(
        self,
        client: discord.Client,
        *,
        pacer: Pacer | None = None,
        max_pages: int = MAX_PAGES,
        window: timedelta = WINDOW,
    ) -> None:
        self.deliverer = Deliverer(client, pacer=pacer or Pacer())
        self.max_pages = max_pages
        self.window = window

    async def send(self, target: Target, reply: Reply, key: DeliveryKey) -> SendResult:
        """Post *reply* to *target* with *key* as its nonce and marker."""
        _check(target)
        if not target.address.isdigit():
            return SendResult(SendStatus.PERMANENT, detail=f"{target.address!r} is not an id")
        address = int(target.address)
        if target.kind == "channel":
            delivery = await self.deliverer.post_to_channel(address, reply, nonce=str(key))
        else:
            delivery = await self.deliverer.dm_user(address, reply, nonce=str(key))
        return result_of(delivery)

    async def find_sent(self, target: Target, key: DeliveryKey, since: datetime) -> str | None:
        """The id of the first message of delivery *key* posted to *target* since *since*:
        ``None`` when it is not there (or only some of its parts are); raises
        :class:`~bot.delivery.courier.LookupFailed` when Discord cannot be asked (logged)."""
        _check(target)
        me = self.deliverer.client.user
        if me is None or not target.address.isdigit():
            log.warning(
                "discord look-up of %s in target %s: not logged in, or no id", key, target.id
            )
            raise LookupFailed("not connected to Discord, or the target has no id")
        try:
            channel: discord.abc.Messageable
            if target.kind == "channel":
                channel = self.deliverer.client.get_partial_messageable(int(target.address))
            else:
                channel = await self.deliverer.dm_channel(int(target.address))
            return await self._look_up(channel, me.id, str(key), since)
        except ERRORS as exc:
            log.warning("discord look-up of %s in target %s failed: %r", key, target.id, exc)
            raise LookupFailed(f"Discord could not list the channel's messages ({exc})") from None

    async def _look_up(
        self, channel: discord.abc.Messageable, me: int, key: str, since: datetime
    ) -> str | None:
        wanted = marker(key)
        parts: dict[int, int] = {}  # part number -> message id
        total = 1
        after: discord.abc.Snowflake = discord.Object(id=discord.utils.time_snowflake(since) - 1)
        until = since + self.window
        for _ in range(self.max_pages):
            page = await self.deliverer.call(functools.partial(_page, channel, after))
            for message in page:
                if message.author.id != me:
                    continue
                for found, part, count in marks(message):
                    if found == wanted:
                        parts.setdefault(part, message.id)
                        total = count
            if all(n in parts for n in range(1, total + 1)):
                return str(parts[1])
            if len(page) < PAGE or page[-1].created_at > until:
                break  # the end of the history, or of the delivery's window
            after = page[-1]
        else:
            log.warning("stopped looking for %s after %d messages", key, self.max_pages * PAGE)
            raise LookupFailed(
                f"more than {self.max_pages * PAGE} messages in the channel since it was due"
            )
        if parts:
            log.warning("delivery %s: only parts %s of %d found", key, sorted(parts), total)
        return None


async def _page(
    channel: discord.abc.Messageable, after: discord.abc.Snowflake
) -> list[discord.Message]:
    """One history request: up to 100 messages just after *after*, oldest first."""
    return [m async for m in channel.history(limit=PAGE, after=after, oldest_first=True)]


def _check(target: Target) -> None:
    if target.platform != PLATFORM:
        raise ValueError(f"target {target.id} is on {target.platform!r}, not discord")
