"""The slack-bolt ``AsyncApp`` for ``/papers`` and its buttons: convert in, call the core,
convert out.

Each request is acknowledged by a listener that starts the work as a task of its own and
calls ``ack()`` (``process_before_response=True``), so the HTTP (or Socket Mode)
acknowledgement leaves as soon as the signature is checked, however slow the store is, well
inside Slack's 3 seconds. (Bolt's *lazy listeners* do the same but deep-copy every request
first, a third of the cost of answering ``help``.) The answer then goes to the request's
``response_url`` through :class:`Respond`, which posts over the adapter's one aiohttp
session instead of opening a session and a connection per message: ephemeral unless the
core says otherwise. A reply the core marks public (a shared card, a digest turned on or off) is
posted to the channel with ``chat.postMessage``; a shared card is attributed to the user who
shared it.

Buttons carry the core's opaque values (:mod:`bot.grammar.actions`): ``papers_more``,
``papers_show``, ``papers_share`` and ``papers_subscribe`` go to :meth:`PapersBot.press`,
which answers a stale or forged value politely. Link buttons (``papers_link_*``) open a URL
in the browser; Slack still reports the click, so it is acknowledged and ignored.

``subscribe`` and ``digest`` (typed, or the Subscribe button) need to know more about the
caller than the request says: the answering task asks ``users.info`` once for the user's time
zone and workspace role. ``Caller.can_manage`` is true for workspace admins and owners and
for the user ids in ``SLACK_DIGEST_MANAGERS``; if ``users.info`` fails the command still
runs, with no time zone and only the allow-list.

Payload parsing lives in :mod:`.payloads`, the Web API client in :mod:`.client`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.client import bolt_client
from adapters.slack.delivery import SlackDelivery
from adapters.slack.errors import DeliveryError, Outcome, classify, payload_size
from adapters.slack.guard import bolt_logger
from adapters.slack.payloads import (
    COMMAND,
    caller_from_action,
    caller_from_command,
    command_text,
    command_verb,
    text,
)
from adapters.slack.render import ACTION_IDS, LINK_ACTION_PREFIX, render_reply
from bot import Caller, Reply

log = logging.getLogger(__name__)

PROFILE_VERBS = frozenset({"subscribe", "digest"})  # commands that need users.info
PROFILE_ACTIONS = ("subscribe:",)  # button values that do
SHARE_ACTION = "share:"  # the button value whose public reply is attributed
MAX_RESPONSES = 4  # Slack allows 5 uses of a response_url; keep one for an error line
DRAIN_SECONDS = 5.0  # at shutdown, how long answers already acknowledged may take to finish


class Responder(Protocol):
    """The part of :class:`bot.service.papersbot.PapersBot` this adapter uses."""

    async def respond(self, text: str, caller: Caller | None = None) -> Reply: ...

    async def press(self, value: str, caller: Caller | None = None) -> Reply: ...


# Which delivery serves a request: the one token in single-workspace mode, the request's
# workspace's own token in OAuth mode (adapters.slack.tenancy).
Deliveries = Callable[[AsyncBoltContext], SlackDelivery]
# OAuth mode: the workspace a request belongs to (team, or enterprise when org-wide).
WorkspaceOf = Callable[[AsyncBoltContext], str | None]


class Respond:
    """Bolt's ``respond()`` for one request's ``response_url``, over a shared aiohttp
    session (Bolt's own opens a session and a connection for every message)."""

    def __init__(self, response_url: str | None, session: aiohttp.ClientSession | None) -> None:
        self.response_url = response_url
        self._session = session

    async def __call__(
        self,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
    ) -> WebhookResponse:
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        message: dict[str, Any] = {"text": text}
        if blocks:
            message["blocks"] = blocks
        if response_type is not None:
            message["response_type"] = response_type
        if replace_original is not None:
            message["replace_original"] = replace_original
        client = AsyncWebhookClient(self.response_url, session=self._session)
        return await client.send_dict(message)


class Answering:
    """Answers being worked on after their acknowledgement: each held until it ends, and all
    given :data:`DRAIN_SECONDS` to finish when the adapter stops (a user who saw the ack
    gets the answer across a restart, not silence); what is left then is cancelled."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def drain(self) -> None:
        if not self._running:
            return
        _, pending = await asyncio.wait(set(self._running), timeout=DRAIN_SECONDS)
        if pending:
            log.warning("slack: %d answers still running at shutdown are cancelled", len(pending))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


async def with_profile(caller: Caller, delivery: SlackDelivery, managers: frozenset[str]) -> Caller:
    """*caller* with ``timezone`` and ``can_manage`` from ``users.info`` and *managers*.

    Workspace roles count only for a member of the workspace the request came from: in a
    channel shared with another organisation (Slack Connect), their admins are not ours.
    """
    allowed = caller.user_id in managers
    user = await delivery.user_info(caller.user_id) if caller.user_id else None
    if user is None:
        return dataclasses.replace(caller, can_manage=allowed)
    home = user.team_id is None or caller.workspace_id in (None, user.team_id)
    admin = home and user.is_workspace_admin
    return dataclasses.replace(caller, timezone=user.timezone, can_manage=allowed or admin)


async def send_reply(respond: Respond, reply: Reply, *, replace: bool | None = None) -> None:
    """Send *reply* through ``response_url``; a rejected message is logged with its size
    and the user gets one short line instead."""
    response_type = "ephemeral" if reply.ephemeral else "in_channel"
    messages = render_reply(reply)
    if len(messages) > MAX_RESPONSES:
        # Interactive replies are paginated well below this; a digest goes through
        # chat.postMessage instead. Say so rather than drop silently.
        log.warning(
            "slack reply needs %d messages; response_url takes %d, the rest are not sent",
            len(messages),
            MAX_RESPONSES,
        )
    for message in messages[:MAX_RESPONSES]:
        payload = message.payload()
        resp = await respond(**payload, response_type=response_type, replace_original=replace)
        if resp.status_code == 200:
            continue
        code = (resp.body or "").strip()[:60] or f"http_{resp.status_code}"
        error = classify(code, status=resp.status_code)
        if error.outcome is Outcome.BUG:
            log.error(
                "slack response_url rejected our payload (%s): %d bytes, %d blocks",
                code,
                payload_size(payload),
                len(payload["blocks"]),
            )
        else:
            log.warning("slack response_url failed: %s (status %d)", code, resp.status_code)
        await respond(text=error.user_message, response_type="ephemeral", replace_original=False)
        return


async def _guarded(respond: Respond, work: Callable[[], Awaitable[None]]) -> None:
    """Run a listener's work; anything unexpected is logged once and answered briefly."""
    try:
        await work()
    except Exception:
        error_id = secrets.token_hex(4)
        log.exception("slack listener failed, error %s", error_id)
        try:
            await respond(
                text=f"Sorry, something went wrong (error {error_id}).",
                response_type="ephemeral",
                replace_original=False,
            )
        except Exception as exc:  # Slack unreachable too: the log line above is the record
            log.warning("could not tell the user about error %s: %s", error_id, exc)


class Listeners:
    """The listeners for *bot*: acknowledge, then convert in, ask the core, convert out.

    Bolt passes each listener the arguments its parameters name (``ack``, ``command``,
    ``body``, ``action``, ``context``); the payload dicts are read through :mod:`.payloads`.
    """

    def __init__(
        self,
        bot: Responder,
        deliveries: Deliveries,
        managers: frozenset[str],
        workspace_of: WorkspaceOf | None = None,
        session: aiohttp.ClientSession | None = None,
        answering: Answering | None = None,
    ) -> None:
        self.bot = bot
        self.deliveries = deliveries
        self.managers = managers
        self.workspace_of = workspace_of
        self.session = session
        self.answering = answering if answering is not None else Answering()

    async def command(
        self, ack: AsyncAck, command: dict[str, object], context: AsyncBoltContext
    ) -> None:
        """Acknowledge ``/papers ...`` and answer it in the background."""
        self.answering.start(
            self.on_command(command, Respond(context.response_url, self.session), context)
        )
        await ack()

    async def button(
        self,
        ack: AsyncAck,
        body: dict[str, object],
        action: dict[str, object],
        context: AsyncBoltContext,
    ) -> None:
        """Acknowledge a button press and answer it in the background."""
        respond = Respond(context.response_url, self.session)
        self.answering.start(self.on_button(body, action, respond, context))
        await ack()

    def _where(self, caller: Caller, context: AsyncBoltContext) -> Caller:
        """OAuth mode: the workspace is the one Bolt authorized the request for (an org-wide
        install's enterprise), and the user's DMs live in it."""
        if self.workspace_of is None:
            return caller
        workspace = self.workspace_of(context) or caller.workspace_id
        return dataclasses.replace(caller, workspace_id=workspace, dm_workspace=workspace)

    async def on_command(
        self, command: dict[str, object], respond: Respond, context: AsyncBoltContext
    ) -> None:
        """``/papers ...``: answer what the user typed."""

        async def work() -> None:
            delivery = self.deliveries(context)
            caller = caller_from_command(command)
            typed = command_text(text(command.get("text")) or "")
            if command_verb(typed) in PROFILE_VERBS:
                caller = await with_profile(caller, delivery, self.managers)
            caller = self._where(caller, context)  # after the team check of with_profile
            reply = await self.bot.respond(typed, caller)
            await self._answer(reply, caller, respond, None, delivery)

        await _guarded(respond, work)

    async def on_button(
        self,
        body: dict[str, object],
        action: dict[str, object],
        respond: Respond,
        context: AsyncBoltContext,
    ) -> None:
        """A More / Show / Share / Subscribe press: answer the core action it carries."""

        async def work() -> None:
            delivery = self.deliveries(context)
            caller = caller_from_action(body)
            value = text(action.get("value")) or ""
            if value.startswith(PROFILE_ACTIONS):
                caller = await with_profile(caller, delivery, self.managers)
            caller = self._where(caller, context)
            reply = await self.bot.press(value, caller)
            shared = value.startswith(SHARE_ACTION)
            await self._answer(reply, caller, respond, False, delivery, shared=shared)

        await _guarded(respond, work)

    async def _answer(
        self,
        reply: Reply,
        caller: Caller,
        respond: Respond,
        replace: bool | None,
        delivery: SlackDelivery,
        *,
        shared: bool = False,
    ) -> None:
        """Ephemeral replies go to ``response_url``; public ones are channel messages, and a
        shared card names who shared it."""
        if reply.ephemeral or reply.is_error:
            await send_reply(respond, reply, replace=replace)
            return
        if caller.channel_id is None:
            await respond(text="I can't tell which channel to post in.", response_type="ephemeral")
            return
        try:
            shared_by = caller.user_id if shared else None
            await delivery.post_to_channel(caller.channel_id, reply, shared_by=shared_by)
        except DeliveryError as exc:
            await respond(text=exc.user_message, response_type="ephemeral", replace_original=False)


def _bolt_app(delivery: SlackDelivery, signing_secret: str | None) -> AsyncApp:
    """An ``AsyncApp`` that acks as soon as ``ack()`` returns (``process_before_response``
    with the work in a task of its own, instead of Bolt's 10 ms ack polling)."""
    identity, token = delivery.identity, delivery.client.token
    authorize = None
    if identity is not None:
        # Reuse the start-up auth.test instead of Bolt's lazy one on the first request; a
        # token revoked later surfaces as token_revoked on our own calls (DeliveryError).
        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return AuthorizeResult(
                enterprise_id=enterprise_id,
                team_id=team_id or identity.team_id,
                bot_user_id=identity.user_id,
                bot_id=identity.bot_id,
                bot_token=token,
            )

    client = bolt_client(delivery.client, token=None if identity is not None else token)
    return AsyncApp(
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
        authorize=authorize,
        process_before_response=True,
        logger=bolt_logger(),
    )


async def _ack(ack: AsyncAck) -> None:
    await ack()


def add_listeners(
    app: AsyncApp,
    bot: Responder,
    deliveries: Deliveries,
    managers: frozenset[str],
    workspace_of: WorkspaceOf | None = None,
    session: aiohttp.ClientSession | None = None,
    answering: Answering | None = None,
) -> None:
    """``/papers`` and its buttons on *app*; replies to ``response_url`` go over *session*,
    and the work after each ack is held by *answering*."""
    listeners = Listeners(bot, deliveries, managers, workspace_of, session, answering)
    buttons = re.compile("^(" + "|".join(ACTION_IDS.values()) + ")$")
    app.command(COMMAND)(listeners.command)
    app.action(buttons)(listeners.button)
    app.action(re.compile("^" + LINK_ACTION_PREFIX))(_ack)  # a URL button: nothing to do


def build_app(
    bot: Responder,
    delivery: SlackDelivery,
    *,
    signing_secret: str | None,
    managers: frozenset[str] = frozenset(),
    answering: Answering | None = None,
) -> AsyncApp:
    """The Bolt app. *signing_secret* is required for HTTP mode; ``None`` means Socket Mode,
    where requests arrive over the authenticated websocket instead. *managers* are the Slack
    user ids allowed to manage any channel's digest (``SLACK_DIGEST_MANAGERS``). Call
    :meth:`SlackDelivery.check_auth` first so the app reuses its ``auth.test`` result."""
    app = _bolt_app(delivery, signing_secret)
    session = delivery.client.session
    add_listeners(app, bot, lambda _: delivery, managers, session=session, answering=answering)
    return app
