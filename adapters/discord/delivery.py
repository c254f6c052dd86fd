"""Delivery primitives for scheduled posts: a reply to a channel, or to a user's DMs.

:class:`Deliverer` sends each part of a rendered reply in a paced slot (:mod:`.pacing`),
tagged for idempotency (:mod:`.markers`), and returns a :class:`~.outcomes.Delivery` value,
never an exception (:mod:`.outcomes`). A 429 is slept and retried by discord.py itself (it
reads ``retry_after`` from the body); one that outlasts discord.py's five tries is retried
here too before it counts as FAILED.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TypeVar

import discord
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from adapters.discord.markers import PostKwargs, marker, part_nonce, tagged
from adapters.discord.outcomes import ERRORS, Delivery, Outcome, classify, retry_after
from adapters.discord.pacing import GLOBAL_PER_SECOND, Pacer
from adapters.discord.permissions import missing
from adapters.discord.render import render_reply
from adapters.discord.views import message_kwargs
from bot import Reply

log = logging.getLogger(__name__)

RATE_LIMIT_TRIES = 4  # rounds of discord.py's own five tries, before FAILED
DM_CACHE = 100_000  # user id -> DM channel id entries kept (about 10 MB at most)

T = TypeVar("T")
Channel = discord.PartialMessageable | discord.DMChannel  # where a scheduled post goes


def _throttled(exc: BaseException) -> bool:
    """A 429 that discord.py gave up on after its own retries (``Via`` present: Discord's,
    not a Cloudflare ban, which retrying would only prolong)."""
    return (
        isinstance(exc, discord.HTTPException)
        and exc.status == 429
        and bool(exc.response.headers.get("Via"))
    )


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    return min(retry_after(exc) or 1.0, 60.0) if exc else 1.0


class Deliverer:
    """Sends replies to channels and DMs through a logged-in discord.py *client*.

    *pacer* paces every request this object makes, all targets together; without one,
    ``Pacer(per_second, channel_messages=None)``: keep *per_second* under Discord's 50 minus
    whatever else the process sends meanwhile (interaction answers do not count; Discord
    exempts them). :class:`~adapters.discord.courier.DiscordCourier` adds per-channel
    buckets. DM channel ids are cached per user (they never change), so a user's second DM
    costs one request instead of two; discord.py's own cache keeps only the last 128.
    """

    def __init__(
        self,
        client: discord.Client,
        *,
        per_second: float = GLOBAL_PER_SECOND,
        pacer: Pacer | None = None,
    ) -> None:
        self.client = client
        self.pacer = pacer or Pacer(per_second, channel_messages=None)
        self._dm_ids: OrderedDict[int, int] = OrderedDict()

    async def post_to_channel(self, channel_id: int, reply: Reply, nonce: str) -> Delivery:
        """Post *reply* publicly in a channel; *nonce* is the idempotency key of this post,
        and its :func:`marker` tags every part."""
        channel = self.client.get_partial_messageable(channel_id)
        return await self._send(channel, reply, nonce, f"channel {channel_id}", tag=True)

    async def dm_user(self, user_id: int, reply: Reply, nonce: str | None = None) -> Delivery:
        """Send *reply* to a user's DMs (opening the DM channel unless its id is cached).

        Pass the same *nonce* when retrying a scheduled DM (it also tags the message); without
        one, each call is new.
        """
        target = f"DM to user {user_id}"
        key, tag = (nonce, True) if nonce is not None else (secrets.token_hex(8), False)
        cached = user_id in self._dm_ids
        try:
            channel = await self.dm_channel(user_id)
        except ERRORS as exc:
            return self._failed(target, exc, ())
        result = await self._send(channel, reply, key, target, tag=tag)
        if cached and result.outcome is Outcome.GONE and not result.message_ids:
            self._dm_ids.pop(user_id, None)  # a stale cache entry: open the DM afresh, once
            return await self.dm_user(user_id, reply, nonce)
        return result

    async def dm_channel(self, user_id: int) -> Channel:
        """The DM channel with *user_id*: from the cache, else ``POST /users/@me/channels``.

        Raises :class:`discord.HTTPException` or a network error when it cannot be opened.
        """
        dm_id = self._dm_ids.get(user_id)
        if dm_id is not None:
            self._dm_ids.move_to_end(user_id)
            return self.client.get_partial_messageable(dm_id, type=discord.ChannelType.private)
        user = discord.Object(id=user_id)
        channel = await self.call(functools.partial(self.client.create_dm, user))
        self._dm_ids[user_id] = channel.id
        if len(self._dm_ids) > DM_CACHE:
            self._dm_ids.popitem(last=False)
        return channel

    async def call(self, request: Callable[[], Awaitable[T]], channel_id: int | None = None) -> T:
        """Run one REST *request* in a paced slot (a message slot of *channel_id* if given),
        again after a 429 that discord.py gave up on; anything else is raised."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(_throttled),
            wait=_wait,
            stop=stop_after_attempt(RATE_LIMIT_TRIES),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if channel_id is None:
                    await self.pacer.request()
                else:
                    await self.pacer.message(channel_id)
                return await request()
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def _send(
        self, channel: Channel, reply: Reply, key: str, target: str, *, tag: bool
    ) -> Delivery:
        sent: list[int] = []
        messages = render_reply(reply)
        for index, message in enumerate(messages):
            kwargs: PostKwargs = {**message_kwargs(message), "nonce": part_nonce(key, index)}
            if tag:
                parts = f" {index + 1}/{len(messages)}" if len(messages) > 1 else ""
                kwargs = tagged(kwargs, marker(key) + parts)
            try:
                posted = await self.call(functools.partial(channel.send, **kwargs), channel.id)
            except ERRORS as exc:
                return self._failed(target, exc, tuple(sent), channel)
            sent.append(posted.id)
        log.info("delivered %d message(s) to %s", len(sent), target)
        return Delivery(Outcome.SENT, tuple(sent))

    def _lacking(self, channel: Channel) -> list[str] | None:
        """The permissions the bot lacks in *channel*, if the guild cache can tell."""
        cached = self.client.get_channel(channel.id)
        if isinstance(cached, discord.abc.GuildChannel) and cached.guild.me is not None:
            return missing(cached.permissions_for(cached.guild.me)) or None
        return None

    def _failed(
        self,
        target: str,
        exc: Exception,
        sent: tuple[int, ...],
        channel: Channel | None = None,
    ) -> Delivery:
        if isinstance(exc, discord.HTTPException):
            lacking = self._lacking(channel) if channel is not None else None
            outcome, detail = classify(exc, lacking)
        elif isinstance(exc, discord.RateLimited):
            outcome, detail = Outcome.FAILED, f"rate limited for {exc.retry_after:.0f} s"
        else:
            outcome, detail = Outcome.FAILED, f"network error: {exc!r}"
        level = logging.ERROR if outcome is Outcome.FAILED else logging.WARNING
        log.log(level, "delivery to %s: %s: %s", target, outcome, detail)
        return Delivery(outcome, sent, detail, retry_after(exc))
