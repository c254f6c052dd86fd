"""Delivery primitives for scheduled posts: a reply to a channel, or to a user's DMs.

Every outcome is a value, never an exception, so the ledger can record it:

    SENT            every part went out; ``message_ids`` holds their ids, first one first
    UNDELIVERABLE   the user blocks DMs or shares no server with the bot (50007), or does
                    not exist (50033): do not retry
    FORBIDDEN       the bot lacks View Channel / Send Messages / Embed Links there (403)
    GONE            the channel (or user) does not exist any more (404)
    FAILED          anything else (5xx after discord.py's retries, network, a rate limit that
                    outlasted every retry); retry later, after ``retry_after`` when known

Idempotency: each part of a reply is sent with a nonce derived from the caller's key and
the part's index, and discord.py 2.7 sends ``enforce_nonce: true`` with every nonce, so a
retry of the same key within Discord's nonce window (minutes) returns the message already
posted instead of posting it twice. Past that window only a marker can find it: a keyed send
ends each part with :func:`marker` (``d:<8 hex of sha256(key)>``, plus ``i/n`` when a reply
takes several messages) in the last embed's footer, or as a subtext line when the message
has no embed with room; :class:`adapters.discord.courier.DiscordCourier` reads it back.

Pacing (:class:`Pacer`): Discord allows 50 requests per second per bot, counting every
request. Every request made here (opening a DM, each message part, each history page) takes
a slot of one leaky bucket of 48 per second holding at most 2, so no one-second span holds
more than 50; message posts can also be held to 5 per 5 s per channel. A 429
is slept and retried by discord.py itself (it reads ``retry_after`` from the body); one that
outlasts discord.py's five tries is retried here too before it counts as FAILED.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import discord
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from adapters.discord.permissions import missing, missing_permissions_text
from adapters.discord.render import MAX_CONTENT, MAX_EMBED_TOTAL, render_reply
from adapters.discord.views import message_kwargs
from bot import Reply

log = logging.getLogger(__name__)

CANNOT_DM = 50007  # the user blocks DMs from the bot, or shares no server with it
INVALID_RECIPIENT = 50033  # no such user to open a DM with
NONCE_CHARS = 25  # Discord's limit for a string nonce
MAX_FOOTER = 2048
GLOBAL_PER_SECOND = 48.0  # of Discord's 50: headroom for jitter between here and Discord
CHANNEL_MESSAGES, CHANNEL_PERIOD = 5, 5.0  # Discord's per-channel message bucket
RATE_LIMIT_TRIES = 4  # rounds of discord.py's own five tries, before FAILED
DM_CACHE = 100_000  # user id -> DM channel id entries kept (about 10 MB at most)
_CHANNEL_LIMITERS = 1024  # idle per-channel buckets are dropped past this many

T = TypeVar("T")
# What a request can raise that is the platform's doing, not ours.
ERRORS = (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, TimeoutError)


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
    retry_after: float | None = None  # seconds Discord asked us to wait, when it did

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


def marker(key: str) -> str:
    """The short, findable tag of delivery *key*: ``d:`` and 8 hex digits of its SHA-256."""
    return "d:" + hashlib.sha256(key.encode()).hexdigest()[:8]


def tagged(kwargs: dict[str, Any], tag: str) -> dict[str, Any]:
    """*kwargs* of one message with *tag* appended to its last embed's footer, or else (no
    embed, or no room under the 6000-character embed total) as a subtext line of content."""
    embeds: list[discord.Embed] = kwargs.get("embeds") or []
    if embeds:
        last = embeds[-1]
        old = last.footer.text or ""
        text = f"{old} · {tag}" if old else tag
        if len(text) <= MAX_FOOTER and sum(map(len, embeds)) + len(text) - len(old) <= (
            MAX_EMBED_TOTAL
        ):
            copy = last.copy()  # render's embed objects stay untouched
            copy.set_footer(text=text, icon_url=last.footer.icon_url)
            return kwargs | {"embeds": [*embeds[:-1], copy]}
    content = kwargs.get("content") or ""
    text = f"{content}\n-# {tag}" if content else f"-# {tag}"
    if len(text) <= MAX_CONTENT:
        return kwargs | {"content": text}
    log.warning("no room for marker %s; this message cannot be found again", tag)
    return kwargs


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


def _throttled(exc: BaseException) -> bool:
    """A 429 that discord.py gave up on after its own retries (``Via`` present: Discord's,
    not a Cloudflare ban, which retrying would only prolong)."""
    return (
        isinstance(exc, discord.HTTPException)
        and exc.status == 429
        and bool(exc.response.headers.get("Via"))
    )


def retry_after(exc: BaseException) -> float | None:
    """Seconds a rate-limit error asks to wait, if it is one."""
    if isinstance(exc, discord.RateLimited):
        return exc.retry_after
    if isinstance(exc, discord.HTTPException) and exc.status == 429:
        try:
            return float(exc.response.headers.get("Retry-After", 1.0))
        except ValueError:
            return 1.0
    return None


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    return min(retry_after(exc) or 1.0, 60.0) if exc else 1.0


class Pacer:
    """Slots for requests: one leaky bucket for all of them, one more per channel for posts.

    The global bucket holds only *burst* requests (``AsyncLimiter(per_second, 1)`` would let
    ``2 × per_second`` through in the first second), so any one-second span holds at most
    ``per_second + burst``. Two rather than one, so that a slot the event loop wakes late
    is made up by the next and the pace really is *per_second* (with one, about 1 ms was
    lost per slot: 45.5/s for 48). Channel buckets allow *channel_messages* at once, then
    one per ``channel_period / channel_messages`` seconds; ``channel_messages=None`` leaves
    per-channel pacing to discord.py, which follows the bucket headers Discord sends.
    """

    def __init__(
        self,
        per_second: float = GLOBAL_PER_SECOND,
        *,
        burst: int = 2,
        channel_messages: int | None = CHANNEL_MESSAGES,
        channel_period: float = CHANNEL_PERIOD,
    ) -> None:
        self.per_second, self.burst = per_second, burst
        self._global = AsyncLimiter(burst, burst / per_second)
        self._channel_rate = (channel_messages, channel_period)
        self._channels: dict[int, AsyncLimiter] = {}

    async def request(self) -> None:
        """Wait for the next global slot; the caller then makes one request."""
        await self._global.acquire()

    async def message(self, channel_id: int) -> None:
        """Wait for *channel_id*'s bucket, then for a global slot; then post one message."""
        messages, period = self._channel_rate
        limiter = self._channels.get(channel_id)
        if limiter is None and messages is not None:
            if len(self._channels) >= _CHANNEL_LIMITERS:
                self._channels = {
                    k: v for k, v in self._channels.items() if not v.has_capacity(v.max_rate)
                }
            limiter = self._channels[channel_id] = AsyncLimiter(messages, period)
        if limiter is not None:
            await limiter.acquire()
        await self._global.acquire()


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

    async def dm_channel(self, user_id: int) -> discord.abc.Messageable:
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
        self, channel: discord.abc.Messageable, reply: Reply, key: str, target: str, *, tag: bool
    ) -> Delivery:
        sent: list[int] = []
        messages = render_reply(reply)
        channel_id = getattr(channel, "id", 0)
        for index, message in enumerate(messages):
            kwargs = message_kwargs(message) | {"nonce": part_nonce(key, index)}
            if tag:
                parts = f" {index + 1}/{len(messages)}" if len(messages) > 1 else ""
                kwargs = tagged(kwargs, marker(key) + parts)
            try:
                posted = await self.call(functools.partial(channel.send, **kwargs), channel_id)
            except ERRORS as exc:
                return self._failed(target, exc, tuple(sent), channel)
            sent.append(posted.id)
        log.info("delivered %d message(s) to %s", len(sent), target)
        return Delivery(Outcome.SENT, tuple(sent))

    def _lacking(self, channel: discord.abc.Messageable) -> list[str] | None:
        """The permissions the bot lacks in *channel*, if the guild cache can tell."""
        cached = self.client.get_channel(getattr(channel, "id", 0))
        if isinstance(cached, discord.abc.GuildChannel) and cached.guild.me is not None:
            return missing(cached.permissions_for(cached.guild.me)) or None
        return None

    def _failed(
        self,
        target: str,
        exc: Exception,
        sent: tuple[int, ...],
        channel: discord.abc.Messageable | None = None,
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
