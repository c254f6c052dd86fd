"""Slack delivery primitives: post, DM, look up earlier posts, read a user's time zone.

The scheduling code builds on these; the interactive app uses :meth:`SlackDelivery.post`
for "Share to channel". Everything goes through one injected ``AsyncWebClient`` (rate-limit
retries honouring ``Retry-After`` are set up on it by :func:`adapters.slack.app.build_client`)
and a :class:`ChannelPacer` that spaces messages about one second apart per channel, as
Slack asks for ``chat.postMessage``. Nothing is dropped: a paced message waits its turn.

Slack errors become a :class:`DeliveryError` with an :class:`Outcome` the caller can act on
and a one-sentence ``user_message``; a bad token at start-up is a :class:`ConfigError`
naming ``SLACK_BOT_TOKEN``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import SlackMessage, render_reply
from bot.errors import ConfigError, PapersbotError
from bot.replies import Reply

log = logging.getLogger(__name__)

EVENT_TYPE = "papersbot_digest"
AUTH_ERRORS = frozenset(
    {"invalid_auth", "token_revoked", "not_authed", "account_inactive", "token_expired"}
)


class Outcome(StrEnum):
    """What a failed delivery means for the caller."""

    NOT_IN_CHANNEL = "not_in_channel"  # invite the bot, then retry
    CHANNEL_NOT_FOUND = "channel_not_found"  # gone, private without the bot, or a user DM
    ARCHIVED = "archived"  # stop posting there
    UNDELIVERABLE = "undeliverable"  # the user cannot receive DMs from the bot
    AUTH = "auth"  # the bot token stopped working: an operator must act
    BUG = "bug"  # we sent something Slack rejects (too long, bad blocks)
    UNAVAILABLE = "unavailable"  # Slack is down or kept rate-limiting: retry later


_OUTCOMES: dict[str, tuple[Outcome, str]] = {
    "not_in_channel": (
        Outcome.NOT_IN_CHANNEL,
        "I'm not in this channel yet: type `/invite @{bot}` here, then try again.",
    ),
    "channel_not_found": (
        Outcome.CHANNEL_NOT_FOUND,
        "I can't post in this conversation. In a private channel, type `/invite @{bot}` "
        "first; in a DM between people I can only answer you privately.",
    ),
    "is_archived": (Outcome.ARCHIVED, "This channel is archived, so I can't post in it."),
    "cannot_dm_bot": (Outcome.UNDELIVERABLE, "I can't send direct messages to a bot."),
    "user_not_found": (Outcome.UNDELIVERABLE, "I couldn't find that Slack user."),
    "user_disabled": (Outcome.UNDELIVERABLE, "That Slack account is deactivated."),
    "msg_too_long": (Outcome.BUG, "Sorry, that message was too long for Slack (error {id})."),
    "msg_blocks_too_long": (Outcome.BUG, "Sorry, that message was too big for Slack (error {id})."),
    "invalid_blocks": (Outcome.BUG, "Sorry, Slack could not show that message (error {id})."),
    "no_text": (Outcome.BUG, "Sorry, Slack could not show that message (error {id})."),
    "ratelimited": (Outcome.UNAVAILABLE, "Slack is busy right now; try again in a minute."),
}
_AUTH_MESSAGE = "My Slack token stopped working; an operator must check SLACK_BOT_TOKEN."
_UNKNOWN = "Sorry, Slack refused that ({code}); try again later."


class DeliveryError(PapersbotError):
    """A Slack call failed; ``outcome`` says what it means, ``user_message`` what to say."""

    def __init__(self, code: str, outcome: Outcome, user_message: str) -> None:
        self.code = code
        self.outcome = outcome
        self.user_message = user_message
        super().__init__(f"slack: {code} ({outcome})")


def classify(code: str, *, bot_name: str = "papersbot", status: int = 200) -> DeliveryError:
    """The :class:`DeliveryError` for a Slack error *code* (or an HTTP *status* ≥ 500)."""
    error_id = secrets.token_hex(4)
    if code in AUTH_ERRORS:
        return DeliveryError(code, Outcome.AUTH, _AUTH_MESSAGE)
    if code in _OUTCOMES:
        outcome, text = _OUTCOMES[code]
        return DeliveryError(code, outcome, text.format(bot=bot_name, id=error_id))
    if status >= 500 or status == 429:
        return DeliveryError(code, Outcome.UNAVAILABLE, _OUTCOMES["ratelimited"][1])
    return DeliveryError(code, Outcome.UNAVAILABLE, _UNKNOWN.format(code=code[:40]))


def payload_size(payload: dict[str, Any]) -> int:
    """Bytes of *payload* as JSON: what to log when Slack calls a message too big."""
    return len(json.dumps(payload, ensure_ascii=False).encode())


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
class BotIdentity:
    """Who the bot is in this workspace (from ``auth.test``)."""

    user_id: str
    name: str
    team_id: str
    bot_id: str | None


class SlackDelivery:
    """Send replies to channels and DMs with pacing, metadata and clear error outcomes."""

    def __init__(self, client: AsyncWebClient, *, pacer: ChannelPacer | None = None) -> None:
        self.client = client
        self.pacer = pacer or ChannelPacer()
        self.identity: BotIdentity | None = None

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
            error = classify(code, bot_name=self.bot_name, status=exc.response.status_code)
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
            raise DeliveryError(
                "network", Outcome.UNAVAILABLE, _OUTCOMES["ratelimited"][1]
            ) from None
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
    ) -> str:
        """Post *reply* publicly in *channel*; return the first message's ``ts``.

        A reply too big for one message goes out as several, in order; each carries
        message metadata ``{event_type: papersbot_digest, event_payload: {digest_key, part,
        parts}}`` when *digest_key* is given, so :meth:`find_posted` can see it later.
        """
        messages = render_reply(reply, shared_by=shared_by)
        first = ""
        for part, message in enumerate(messages, start=1):
            metadata = None
            if digest_key is not None:
                event = {"digest_key": digest_key, "part": part, "parts": len(messages)}
                metadata = {"event_type": EVENT_TYPE, "event_payload": event}
            ts = await self.post_message(channel, message, metadata)
            first = first or ts
        return first

    async def open_dm(self, user: str) -> str:
        """The DM channel id with *user* (``conversations.open``)."""
        data = await self._call("conversations.open", {"users": user})
        return str(data.get("channel", {}).get("id", ""))

    async def send_dm(self, user: str, reply: Reply, *, digest_key: str | None = None) -> str:
        """Open a DM with *user* and post *reply* there; return the first ``ts``."""
        return await self.post_to_channel(await self.open_dm(user), reply, digest_key=digest_key)

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

    async def user_timezone(self, user: str) -> str | None:
        """*user*'s IANA time zone from ``users.info``, or ``None`` if unknown or invalid."""
        try:
            resp = await self.client.users_info(user=user)
        except SlackApiError as exc:
            log.warning("slack users.info failed: %s", exc.response.get("error"))
            return None
        tz = (resp.get("user") or {}).get("tz")
        try:
            return str(ZoneInfo(tz).key) if isinstance(tz, str) and tz else None
        except (ZoneInfoNotFoundError, ValueError):
            return None
