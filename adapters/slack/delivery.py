"""Slack delivery primitives: post, DM, look up earlier posts, read who a user is.

The scheduling code builds on these; the interactive app uses :meth:`SlackDelivery.post`
for "Share to channel". Everything goes through one injected ``AsyncWebClient`` (rate-limit
retries honouring ``Retry-After`` are set up on it by :func:`adapters.slack.app.build_client`)
and a :class:`ChannelPacer` that spaces messages about one second apart per channel, as
Slack asks for ``chat.postMessage``. Nothing is dropped: a paced message waits its turn.

Slack errors become a :class:`DeliveryError` (:mod:`.errors`) with an :class:`Outcome` the
caller can act on, a one-sentence ``user_message`` and Slack's ``Retry-After`` when it sent
one; a bad token at start-up is a :class:`ConfigError` naming ``SLACK_BOT_TOKEN``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.errors import (
    AUTH_ERRORS,
    BUSY_MESSAGE,
    DeliveryError,
    Outcome,
    classify,
    parse_retry_after,
    payload_size,
)
from adapters.slack.render import SlackMessage, render_reply
from bot import ConfigError, Reply, UserInputError, parse_timezone

log = logging.getLogger(__name__)

EVENT_TYPE = "papersbot_digest"
__all__ = [  # the error names are re-exported: callers import them from here too
    "AUTH_ERRORS",
    "EVENT_TYPE",
    "BotIdentity",
    "ChannelPacer",
    "DeliveryError",
    "Outcome",
    "SlackDelivery",
    "SlackUser",
    "classify",
    "payload_size",
]


class ChannelPacer:
    """At most one message per *interval* seconds per channel, first come first served.

    One ``asyncio.Lock`` per channel keeps order; a monotonic clock measures the gap since
    that channel's previous send finished. *clock* and *sleep* are injectable for tests.
    """

    def __init__(
        self,
        interval: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    @asynccontextmanager
    async def slot(self, channel: str) -> AsyncIterator[None]:
        """Wait for *channel*'s turn; the body sends one message."""
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            last = self._last.get(channel)
            if last is not None and (wait := last + self.interval - self._clock()) > 0:
                await self._sleep(wait)
            try:
                yield
            finally:
                self._last[channel] = self._clock()


@dataclass(frozen=True, slots=True)
class SlackUser:
    """What ``users.info`` says about a user that the bot acts on."""

    user_id: str
    team_id: str | None
    timezone: str | None  # a valid IANA name, canonically spelled, else None
    is_admin: bool = False
    is_owner: bool = False
    is_primary_owner: bool = False

    @property
    def is_workspace_admin(self) -> bool:
        """An admin or owner of their workspace (Slack's own roles)."""
        return self.is_admin or self.is_owner or self.is_primary_owner


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the bot is in this workspace (from ``auth.test``)."""

    user_id: str
    name: str
    team_id: str
    bot_id: str | None


MAX_DM_CHANNELS = 100_000  # remembered DM channel ids (about 10 MB at the cap)


class SlackDelivery:
    """Send replies to channels and DMs with pacing, metadata and clear error outcomes."""

    def __init__(self, client: AsyncWebClient, *, pacer: ChannelPacer | None = None) -> None:
        self.client = client
        self.pacer = pacer or ChannelPacer()
        self.identity: BotIdentity | None = None
        self._dm_channels: OrderedDict[str, str] = OrderedDict()  # user -> DM channel

    @property
    def bot_name(self) -> str:
        return self.identity.name if self.identity else "papersbot"

    async def check_auth(self) -> BotIdentity:
        """Call ``auth.test`` once at start-up; a bad token fails fast, naming the setting."""
        try:
            resp = await self.client.auth_test()
        except SlackApiError as exc:
            code = str(exc.response.get("error", "unknown"))
            if code in AUTH_ERRORS:
                raise ConfigError(
                    f"SLACK_BOT_TOKEN was rejected by Slack ({code}); "
                    "copy the Bot User OAuth Token (xoxb-...) from the app's OAuth page"
                ) from None
            raise classify(code, status=exc.response.status_code) from None
        self.identity = BotIdentity(
            user_id=str(resp.get("user_id", "")),
            name=str(resp.get("user", "papersbot")),
            team_id=str(resp.get("team_id", "")),
            bot_id=resp.get("bot_id"),
        )
        log.info(
            "slack: authenticated as @%s in team %s", self.identity.name, self.identity.team_id
        )
        return self.identity

    async def _call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """One Web API call; Slack errors become :class:`DeliveryError`."""
        try:
            call = getattr(self.client, method.replace(".", "_"))
            resp = await call(**payload)
        except SlackApiError as exc:
            code = str(exc.response.get("error", "unknown"))
            wait = parse_retry_after(exc.response.headers)
            status = exc.response.status_code
            error = classify(code, bot_name=self.bot_name, status=status, retry_after=wait)
            if error.outcome is Outcome.BUG:
                log.error(
                    "slack %s rejected our payload (%s): %d bytes, %d blocks",
                    method,
                    code,
                    payload_size(payload),
                    len(payload.get("blocks") or ()),
                )
            else:
                log.warning("slack %s failed: %s", method, code)
            raise error from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Slack unreachable even after the client's own retries: retry later, never drop.
            log.warning("slack %s failed: %s", method, type(exc).__name__)
            raise DeliveryError("network", Outcome.UNAVAILABLE, BUSY_MESSAGE) from None
        return dict(resp.data) if isinstance(resp.data, dict) else {}

    async def post_message(
        self, channel: str, message: SlackMessage, metadata: dict[str, Any] | None = None
    ) -> str:
        """Post one rendered message (paced per channel); return its ``ts``."""
        payload: dict[str, Any] = {"channel": channel, **message.payload()}
        payload.update(unfurl_links=False, unfurl_media=False)
        if metadata is not None:
            payload["metadata"] = metadata
        async with self.pacer.slot(channel):
            data = await self._call("chat.postMessage", payload)
        return str(data.get("ts", ""))

    async def post_to_channel(
        self,
        channel: str,
        reply: Reply,
        *,
        digest_key: str | None = None,
        shared_by: str | None = None,
        already: Sequence[str] = (),
    ) -> str:
        """Post *reply* publicly in *channel*; return the first message's ``ts``.

        A reply too big for one message goes out as several, in order; each carries
        message metadata ``{event_type: papersbot_digest, event_payload: {digest_key, part,
        parts}}`` when *digest_key* is given, so :meth:`find_posted` can see it later.
        *already* are the ``ts`` of parts an earlier attempt posted: those are skipped. If a
        part fails, the :class:`DeliveryError` lists every part out so far in ``posted``.
        """
        messages = render_reply(reply, shared_by=shared_by)
        posted = list(already[: len(messages)])
        for part, message in enumerate(messages[len(posted) :], start=len(posted) + 1):
            metadata = None
            if digest_key is not None:
                event = {"digest_key": digest_key, "part": part, "parts": len(messages)}
                metadata = {"event_type": EVENT_TYPE, "event_payload": event}
            try:
                posted.append(await self.post_message(channel, message, metadata))
            except DeliveryError as exc:
                exc.posted = tuple(posted)
                raise
        return posted[0] if posted else ""

    async def open_dm(self, user: str) -> str:
        """The DM channel id with *user* (``conversations.open``, a Tier 3 method, so ids
        are remembered: a user's DM channel never changes)."""
        if (known := self._dm_channels.get(user)) is not None:
            self._dm_channels.move_to_end(user)
            return known
        data = await self._call("conversations.open", {"users": user})
        channel = str(data.get("channel", {}).get("id", ""))
        if channel:
            self._dm_channels[user] = channel
            if len(self._dm_channels) > MAX_DM_CHANNELS:
                self._dm_channels.popitem(last=False)
        return channel

    async def send_dm(
        self,
        user: str,
        reply: Reply,
        *,
        digest_key: str | None = None,
        already: Sequence[str] = (),
    ) -> str:
        """Open a DM with *user* and post *reply* there; return the first ``ts``."""
        channel = await self.open_dm(user)
        return await self.post_to_channel(channel, reply, digest_key=digest_key, already=already)

    async def find_posted(self, channel: str, digest_key: str, oldest: float) -> str | None:
        """The ``ts`` of our first message tagged *digest_key* since *oldest* (epoch s), if any.

        Reads ``conversations.history`` with ``include_all_metadata`` page by page.
        """
        cursor: str | None = None
        found: str | None = None
        while True:
            args: dict[str, Any] = {"channel": channel, "oldest": f"{oldest:.6f}", "limit": 200}
            args.update(include_all_metadata=True, cursor=cursor)
            data = await self._call("conversations.history", args)
            for msg in data.get("messages", []):
                meta = msg.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                ours = meta.get("event_type") == EVENT_TYPE and self._is_ours(msg)
                earlier = found is None or float(msg["ts"]) < float(found)
                if ours and payload.get("digest_key") == digest_key and earlier:
                    found = str(msg["ts"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return found

    def _is_ours(self, msg: dict[str, Any]) -> bool:
        me = self.identity
        return me is None or msg.get("user") == me.user_id or msg.get("bot_id") == me.bot_id

    async def user_info(self, user: str) -> SlackUser | None:
        """*user*'s time zone and workspace roles from ``users.info``; ``None`` (logged) when
        Slack cannot say: unknown user, missing ``users:read``, Slack unreachable."""
        try:
            data = await self._call("users.info", {"user": user})
        except DeliveryError:
            return None
        info = data.get("user") or {}
        return SlackUser(
            user_id=str(info.get("id") or user),
            team_id=str(info["team_id"]) if info.get("team_id") else None,
            timezone=_zone(info.get("tz")),
            is_admin=info.get("is_admin") is True,
            is_owner=info.get("is_owner") is True,
            is_primary_owner=info.get("is_primary_owner") is True,
        )

    async def user_timezone(self, user: str) -> str | None:
        """*user*'s IANA time zone from ``users.info``, or ``None`` if unknown or invalid."""
        found = await self.user_info(user)
        return found.timezone if found else None


def _zone(value: object) -> str | None:
    """*value* as a canonical IANA zone name the core accepts, else ``None``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_timezone(value)
    except UserInputError:
        return None
