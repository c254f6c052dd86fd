"""Slack delivery primitives: post, DM, look up earlier posts, read who a user is.

The scheduling code builds on these; the interactive app uses
:meth:`SlackDelivery.post_to_channel` for "Share to channel". Everything goes through one
injected ``AsyncWebClient`` (rate-limit retries honouring ``Retry-After`` are set up on it by
:func:`adapters.slack.client.build_client`) and a :class:`~.pacing.ChannelPacer` that spaces
messages about one second apart per channel, as Slack asks for ``chat.postMessage``.

Slack errors become a :class:`DeliveryError` (:mod:`.errors`) with an :class:`Outcome` the
caller can act on, a one-sentence ``user_message`` and Slack's ``Retry-After`` when it sent
one; a bad token at start-up is a :class:`ConfigError` naming ``SLACK_BOT_TOKEN``.
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import NotRequired, TypedDict

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.errors import (
    AUTH_ERRORS,
    BUSY_MESSAGE,
    DeliveryError,
    Outcome,
    classify,
    parse_retry_after,
    payload_size,
)
from adapters.slack.pacing import ChannelPacer
from adapters.slack.parts import (
    PostedParts,
    Resume,
    has_images,
    paper_ids,
    part_number,
    remaining,
    strings,
    without_images,
)
from adapters.slack.payloads import obj, objects, text
from adapters.slack.render import Block, SlackMessage
from adapters.slack.users import BotIdentity, SlackUser, identity_from, user_from
from bot import ConfigError, Reply

log = logging.getLogger(__name__)
NOTHING_YET = Resume()

EVENT_TYPE = "papersbot_digest"
MAX_DM_CHANNELS = 100_000  # remembered DM channel ids (about 10 MB at the cap)
__all__ = [  # the error, pacing and user names are re-exported: callers import them here too
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


class PostPayload(TypedDict):
    """The arguments of one ``chat.postMessage``."""

    channel: str
    text: str
    blocks: list[Block]
    unfurl_links: bool
    unfurl_media: bool
    metadata: NotRequired[dict[str, object]]


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
        self.identity = identity_from(obj(resp.data))
        log.info(
            "slack: authenticated as @%s in team %s", self.identity.name, self.identity.team_id
        )
        return self.identity

    async def _call(
        self,
        method: str,
        request: Callable[[], Awaitable[AsyncSlackResponse]],
        payload: Mapping[str, object] | None = None,
    ) -> Mapping[str, object]:
        """One Web API call, *request*; Slack errors become :class:`DeliveryError`, and a
        *payload* Slack rejects as malformed is logged with its size."""
        try:
            resp = await request()
        except SlackApiError as exc:
            code = str(exc.response.get("error", "unknown"))
            wait = parse_retry_after(exc.response.headers)
            status = exc.response.status_code
            error = classify(code, bot_name=self.bot_name, status=status, retry_after=wait)
            metadata = obj(exc.response.get("response_metadata"))
            error.details = tuple(m for m in strings(metadata.get("messages")))
            if error.outcome is Outcome.BUG:
                size = payload_size(payload or {})
                blocks = len(objects((payload or {}).get("blocks")))
                log.error(
                    "slack %s rejected our payload (%s): %d bytes, %d blocks",
                    method,
                    code,
                    size,
                    blocks,
                )
            else:
                log.warning("slack %s failed: %s", method, code)
            raise error from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Slack unreachable even after the client's own retries: retry later, never drop.
            log.warning("slack %s failed: %s", method, type(exc).__name__)
            raise DeliveryError("network", Outcome.UNAVAILABLE, BUSY_MESSAGE) from None
        return obj(resp.data)

    async def post_message(
        self, channel: str, message: SlackMessage, metadata: dict[str, object] | None = None
    ) -> str:
        """Post one rendered message (paced per channel); return its ``ts``."""
        payload: PostPayload = {
            "channel": channel,
            "text": message.text,
            "blocks": list(message.blocks),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if metadata is not None:
            payload["metadata"] = metadata
        async with self.pacer.slot(channel):
            try:
                data = await self._call(
                    "chat.postMessage", lambda: self.client.chat_postMessage(**payload), payload
                )
            except DeliveryError as exc:
                # Slack refuses a whole message when it cannot fetch one thumbnail: the
                # papers matter more than the pictures (a refused message posted nothing).
                image = any("image" in detail for detail in exc.details)
                if exc.code != "invalid_blocks" or not image or not has_images(payload["blocks"]):
                    raise
                log.warning("slack refused the images in a message to %s; sent without", channel)
                payload["blocks"] = without_images(payload["blocks"])
                data = await self._call(
                    "chat.postMessage", lambda: self.client.chat_postMessage(**payload), payload
                )
        return str(data.get("ts", ""))

    async def post_to_channel(
        self,
        channel: str,
        reply: Reply,
        *,
        digest_key: str | None = None,
        shared_by: str | None = None,
        already: Resume = NOTHING_YET,
    ) -> str:
        """Post *reply* publicly in *channel*; return the first message's ``ts``.

        A reply too big for one message goes out as several, in order; each carries
        message metadata ``{event_type: papersbot_digest, event_payload: {digest_key, part,
        parts, papers}}`` when *digest_key* is given, so :meth:`find_parts` can see it later.
        *already* is what an earlier attempt posted: only the papers it did not show go out,
        as a continuation numbered on from it. If a part fails, the :class:`DeliveryError`
        lists every part out so far (``posted``) and their papers (``posted_papers``).
        """
        messages = remaining(reply, shared_by, already)
        posted, papers = list(already.ts), set(already.papers)
        total = len(posted) + len(messages)
        for part, message in enumerate(messages, start=len(posted) + 1):
            metadata: dict[str, object] | None = None
            if digest_key is not None:
                event = {
                    "digest_key": digest_key,
                    "part": part,
                    "parts": total,
                    "papers": " ".join(message.papers),
                }
                metadata = {"event_type": EVENT_TYPE, "event_payload": event}
            try:
                posted.append(await self.post_message(channel, message, metadata))
            except DeliveryError as exc:
                exc.posted, exc.posted_papers = tuple(posted), frozenset(papers)
                raise
            papers.update(message.papers)
        return posted[0] if posted else ""

    async def open_dm(self, user: str) -> str:
        """The DM channel id with *user* (``conversations.open``, a Tier 3 method, so ids
        are remembered: a user's DM channel never changes)."""
        if (known := self._dm_channels.get(user)) is not None:
            self._dm_channels.move_to_end(user)
            return known
        data = await self._call(
            "conversations.open", lambda: self.client.conversations_open(users=user)
        )
        channel = text(obj(data.get("channel")).get("id")) or ""
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
        already: Resume = NOTHING_YET,
    ) -> str:
        """Open a DM with *user* and post *reply* there; return the first ``ts``."""
        channel = await self.open_dm(user)
        return await self.post_to_channel(channel, reply, digest_key=digest_key, already=already)

    async def find_posted(self, channel: str, digest_key: str, oldest: float) -> str | None:
        """The ``ts`` of part 1 of the post tagged *digest_key* since *oldest* (epoch s),
        when every part of it is there; ``None`` otherwise (see :meth:`find_parts`)."""
        found = await self.find_parts(channel, digest_key, oldest)
        return found.first if found.complete else None

    async def find_parts(self, channel: str, digest_key: str, oldest: float) -> PostedParts:
        """Which parts of the post tagged *digest_key* are in *channel* since *oldest*.

        Reads ``conversations.history`` with ``include_all_metadata`` page by page; for
        each part number the earliest of our messages carrying it counts.
        """
        cursor: str | None = None
        parts: dict[int, str] = {}
        papers: dict[int, tuple[str, ...] | None] = {}
        top = total = 0
        while True:
            data = await self._call(
                "conversations.history",
                functools.partial(
                    self.client.conversations_history,
                    channel=channel,
                    oldest=f"{oldest:.6f}",
                    limit=200,
                    include_all_metadata=True,
                    cursor=cursor,
                ),
            )
            for msg in objects(data.get("messages")):
                ts = text(msg.get("ts"))
                if ts is None or not self._is_tagged(msg, digest_key):
                    continue
                payload = obj(obj(msg.get("metadata")).get("event_payload"))
                part, parts_of = part_number(payload.get("part")), part_number(payload.get("parts"))
                if part >= top:  # a continuation renumbers the whole: its last part knows
                    top, total = part, max(parts_of, total if part == top else 0)
                if part and (part not in parts or float(ts) < float(parts[part])):
                    parts[part] = ts
                    papers[part] = paper_ids(payload.get("papers"))
            cursor = text(obj(data.get("response_metadata")).get("next_cursor"))
            if not cursor:
                return PostedParts(parts, total, papers)

    def _is_tagged(self, msg: Mapping[str, object], digest_key: str) -> bool:
        """Whether *msg* is one of ours and carries *digest_key* in its metadata."""
        meta = obj(msg.get("metadata"))
        if meta.get("event_type") != EVENT_TYPE:
            return False
        me = self.identity
        ours = me is None or msg.get("user") == me.user_id or msg.get("bot_id") == me.bot_id
        return ours and obj(meta.get("event_payload")).get("digest_key") == digest_key

    async def user_info(self, user: str) -> SlackUser | None:
        """*user*'s time zone and workspace roles from ``users.info``; ``None`` (logged) when
        Slack cannot say: unknown user, missing ``users:read``, Slack unreachable."""
        try:
            data = await self._call("users.info", lambda: self.client.users_info(user=user))
        except DeliveryError:
            return None
        return user_from(data, user)

    async def user_timezone(self, user: str) -> str | None:
        """*user*'s IANA time zone from ``users.info``, or ``None`` if unknown or invalid."""
        found = await self.user_info(user)
        return found.timezone if found else None
