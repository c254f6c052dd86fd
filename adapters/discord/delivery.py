"""Delivery primitives for scheduled posts: a reply to a channel, or to a user's DMs.

Every outcome is a value, never an exception, so the ledger can record it:

    SENT            every part went out; ``message_ids`` holds their ids, first one first
    UNDELIVERABLE   the user blocks DMs or shares no server with the bot (50007), or does
                    not exist (50033): do not retry
    FORBIDDEN       the bot lacks View Channel / Send Messages / Embed Links there (403)
    GONE            the channel (or user) does not exist any more (404)
    FAILED          anything else (5xx after discord.py's retries, network); retry later

Idempotency: each part of a reply is sent with a nonce derived from the caller's key and
the part's index, and discord.py 2.7 sends ``enforce_nonce: true`` with every nonce, so a
retry of the same key within Discord's nonce window returns the message already posted
instead of posting it twice. 429s are handled (slept and retried) by discord.py itself from
the ``retry_after`` Discord sends; :class:`Deliverer` also paces bulk sends with an
:class:`aiolimiter.AsyncLimiter` so a digest run does not hit them in the first place.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import secrets
from dataclasses import dataclass

import aiohttp
import discord
from aiolimiter import AsyncLimiter

from adapters.discord.permissions import missing, missing_permissions_text
from adapters.discord.render import render_reply
from adapters.discord.views import message_kwargs
from bot.replies import Reply

log = logging.getLogger(__name__)

CANNOT_DM = 50007  # the user blocks DMs from the bot, or shares no server with it
INVALID_RECIPIENT = 50033  # no such user to open a DM with
NONCE_CHARS = 25  # Discord's limit for a string nonce


class Outcome(enum.StrEnum):
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"
    FORBIDDEN = "forbidden"
    GONE = "gone"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one reply sent to one target."""

    outcome: Outcome
    message_ids: tuple[int, ...] = ()
    detail: str = ""

    @property
    def message_id(self) -> int | None:
        """The first message's id (what a ledger records), if any part went out."""
        return self.message_ids[0] if self.message_ids else None

    @property
    def retryable(self) -> bool:
        return self.outcome is Outcome.FAILED


def part_nonce(key: str, index: int) -> str:
    """A stable 25-character nonce for part *index* of the delivery identified by *key*."""
    return hashlib.sha256(f"{key}\x00{index}".encode()).hexdigest()[:NONCE_CHARS]


def classify(
    exc: discord.HTTPException, missing_names: list[str] | None = None
) -> tuple[Outcome, str]:
    """Map a Discord HTTP error to an outcome and a sentence for the operator.

    *missing_names*: the permissions the bot lacks in the channel, when the cache knows
    (a 403 does not say which); otherwise the sentence lists every permission it needs."""
    if exc.code == CANNOT_DM:
        return Outcome.UNDELIVERABLE, "the user does not accept DMs from the bot"
    if exc.code == INVALID_RECIPIENT:
        return Outcome.UNDELIVERABLE, "Discord knows no such user to DM"
    if isinstance(exc, discord.Forbidden):
        return Outcome.FORBIDDEN, missing_permissions_text(missing_names)
    if isinstance(exc, discord.NotFound):
        return Outcome.GONE, f"Discord does not know that channel or user (code {exc.code})"
    return Outcome.FAILED, f"Discord answered {exc.status} (code {exc.code}): {exc.text[:200]}"


class Deliverer:
    """Sends replies to channels and DMs through a logged-in discord.py *client*.

    *per_second* paces every message this object sends (all targets together), well under
    Discord's global 50 requests/s and gentle on the 5-messages-per-5-s channel buckets.
    """

    def __init__(self, client: discord.Client, *, per_second: float = 5.0) -> None:
        self._client = client
        self._limiter = AsyncLimiter(per_second, 1.0)

    async def post_to_channel(self, channel_id: int, reply: Reply, nonce: str) -> Delivery:
        """Post *reply* publicly in a channel; *nonce* is the idempotency key of this post."""
        channel = self._client.get_partial_messageable(channel_id)
        return await self._send(channel, reply, nonce, f"channel {channel_id}")

    async def dm_user(self, user_id: int, reply: Reply, nonce: str | None = None) -> Delivery:
        """Send *reply* to a user's DMs (``create_dm``, then send).

        Pass the same *nonce* when retrying a scheduled DM; without one, each call is new.
        """
        target = f"DM to user {user_id}"
        try:
            async with self._limiter:
                channel = await self._client.create_dm(discord.Object(id=user_id))
        except discord.HTTPException as exc:
            return self._failed(target, exc, ())
        except (aiohttp.ClientError, TimeoutError) as exc:
            return self._network(target, exc, ())
        return await self._send(channel, reply, nonce or secrets.token_hex(8), target)

    async def _send(
        self, channel: discord.abc.Messageable, reply: Reply, key: str, target: str
    ) -> Delivery:
        sent: list[int] = []
        for index, message in enumerate(render_reply(reply)):
            try:
                async with self._limiter:
                    posted = await channel.send(
                        **message_kwargs(message), nonce=part_nonce(key, index)
                    )
            except discord.HTTPException as exc:
                return self._failed(target, exc, tuple(sent), self._lacking(channel))
            except (aiohttp.ClientError, TimeoutError) as exc:
                return self._network(target, exc, tuple(sent))
            sent.append(posted.id)
        log.info("delivered %d message(s) to %s", len(sent), target)
        return Delivery(Outcome.SENT, tuple(sent))

    def _lacking(self, channel: discord.abc.Messageable) -> list[str] | None:
        """The permissions the bot lacks in *channel*, if the guild cache can tell."""
        cached = self._client.get_channel(getattr(channel, "id", 0))
        if isinstance(cached, discord.abc.GuildChannel) and cached.guild.me is not None:
            return missing(cached.permissions_for(cached.guild.me)) or None
        return None

    def _failed(
        self,
        target: str,
        exc: discord.HTTPException,
        sent: tuple[int, ...],
        missing_names: list[str] | None = None,
    ) -> Delivery:
        outcome, detail = classify(exc, missing_names)
        level = logging.ERROR if outcome is Outcome.FAILED else logging.WARNING
        log.log(level, "delivery to %s: %s: %s", target, outcome, detail)
        return Delivery(outcome, sent, detail)

    def _network(self, target: str, exc: Exception, sent: tuple[int, ...]) -> Delivery:
        log.error("delivery to %s failed on the network: %r", target, exc)
        return Delivery(Outcome.FAILED, sent, f"network error: {exc!r}")
