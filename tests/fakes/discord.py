"""A loopback Discord for tests, driven by the real discord.py client.

One aiohttp server on 127.0.0.1 plays both halves of Discord:

* the gateway (``/gw``): HELLO, heartbeat ACK, IDENTIFY → READY, and ``INTERACTION_CREATE``
  dispatches built by :meth:`FakeDiscord.slash` (only for commands the client synced, with
  option values checked against the synced limits, as Discord's own client does) and
  :meth:`FakeDiscord.press` (only for a button that is really on the message);
* REST (``/api/v10``, handlers in :mod:`tests.fakes.discord_rest`): ``/users/@me``,
  ``/oauth2/applications/@me``, command sync ``PUT`` (global and guild), interaction
  callbacks, webhook follow-ups and edits, channel messages (``nonce`` + ``enforce_nonce``
  dedupe) and their history (``after``/``before``/``limit``), ``/users/@me/channels``.

Responses are JSON with ``Content-Type`` exactly ``application/json`` (discord.py compares it
with ``==``). Every message and callback body is validated (:mod:`tests.fakes.discord_payloads`)
against Discord's own schemas (``shared/data/discord_openapi``) plus the limits the spec
cannot express (bot content 2000,
6000 embed characters, no empty message) and, by default, our policy that every payload
carries ``allowed_mentions: {"parse": []}``; a bad one gets Discord's 400 ``50035`` and lands
in :attr:`FakeDiscord.rejected`. Faults: :meth:`~FakeDiscord.fail` (any status and code on a
route), :meth:`~FakeDiscord.rate_limit` (429 with ``Via`` and ``retry_after``),
:attr:`~FakeDiscord.blocked_dms` (50007), :attr:`~FakeDiscord.forbidden` channels (50013),
unknown channels (404 10003), and interactions answered late or dispatched ``expired=True``
(10062), and :meth:`~FakeDiscord.limit_requests`: Discord's global limit of 50 requests per
second per bot token, answered with a global 429. Every request is recorded in
:attr:`FakeDiscord.requests`. Ids are snowflakes of the time they were made, so a history
read ``after`` a time works: by default Discord's clock (the wall clock, which a real bot
process also reads), or an injected ``clock`` such as the test clock. Not modelled: the nonce
window (Discord dedupes for "a few minutes"; here, forever), bucket headers, 5xx retries.
"""

from __future__ import annotations

import adapters.discord  # noqa: F401  (first: it imports discord.py without the audioop warning)

# isort: split
import asyncio
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord
from aiohttp import WSMsgType, web
from discord.gateway import DiscordWebSocket

from adapters.discord.client import PapersClient, point_at
from bot.service.papersbot import PapersBot
from tests.fakes.discord_payloads import (
    APP_ID,
    BOT_ID,
    CHANNEL_ID,
    GUILD_ID,
    MEMBER_PERMISSIONS,
    USER_ID,
    Json,
    Rejected,
    check_command,
    guild_channel,
    interaction_payload,
    message_object,
    message_problems,
    user,
)
from tests.fakes.discord_rest import ROUTES, GlobalLimit


@dataclass
class Interaction:
    """One dispatched interaction, with what the bot answered."""

    id: int
    token: str
    kind: int  # 2 command, 3 component
    channel_id: int
    expired: bool = False
    dispatched: float = 0.0
    attempts: int = 0
    callback: Json | None = None
    callback_at: float | None = None
    messages: list[Json] = field(default_factory=list)  # response, then follow-ups

    @property
    def latency(self) -> float:
        """Seconds from dispatch to the callback's arrival at the fake."""
        assert self.callback_at is not None, "not answered"
        return self.callback_at - self.dispatched


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    body: Json
    headers: dict[str, str]
    times: int


class FakeDiscord:
    """The fake: ``await start()``, then point discord.py at :attr:`api_url`/:attr:`gateway_url`."""

    def __init__(
        self, *, require_no_mentions: bool = True, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.require_no_mentions = require_no_mentions
        self.clock = clock or _discords_clock
        self.deadline = 3.0  # seconds Discord waits for an interaction's first response
        self.requests: list[tuple[str, str, Any, int]] = []  # method, path, body, status
        self.sent: list[Json] = []  # every accepted message body, in order
        self.rejected: list[tuple[str, list[str]]] = []
        self.identify: Json | None = None
        self.commands: dict[int | None, list[Json]] = {}  # by guild id; None is global
        self.guilds = {GUILD_ID}
        self.channels: dict[int, Json] = {}
        self.messages: dict[int, list[Json]] = {}  # by channel id
        self.nonces: dict[str, Json] = {}
        self.blocked_dms: set[int] = set()
        self.unknown_users: set[int] = set()
        self.forbidden: set[int] = set()
        self.interactions: dict[int, Interaction] = {}
        self.limit: GlobalLimit | None = None  # see limit_requests()
        self.hold_ready: asyncio.Event | None = None  # set: READY waits until it is set
        self._faults: list[Fault] = []
        self._dms: dict[int, int] = {}  # user id -> DM channel id
        self._last_id = 0
        self._seq = 0
        self._ws: web.WebSocketResponse | None = None
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.arrived = 0.0
        self.add_channel(CHANNEL_ID)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gw", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gw"

    def new_id(self) -> int:
        """A fresh snowflake for the current time (strictly increasing)."""
        now = discord.utils.time_snowflake(self.clock())
        self._last_id = max(self._last_id + 1, now)
        return self._last_id

    # -- knobs --------------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        code: int,
        message: str,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        """The next *times* requests matching *method* and the *path* regex fail like this."""
        body = {"code": code, "message": message, **extra}
        self._faults.append(Fault(method, re.compile(path), status, body, headers or {}, times))

    def rate_limit(self, method: str, path: str, retry_after: float = 0.05, times: int = 1) -> None:
        """429s as Discord sends them: a ``Via`` header (without it discord.py assumes a
        Cloudflare ban) and ``retry_after`` in the JSON body, which discord.py sleeps."""
        headers = {"Via": "1.1 google", "Retry-After": "1", "X-RateLimit-Scope": "user"}
        extra = {"retry_after": retry_after, "global": False}
        self.fail(
            method,
            path,
            429,
            0,
            "You are being rate limited.",
            times=times,
            headers=headers,
            **extra,
        )

    def limit_requests(self, per_second: int = 50) -> GlobalLimit:
        """From now on, refuse a bot token's requests beyond *per_second* in any one second
        with Discord's global 429 (``global: true``); the limit counts what it refused."""
        self.limit = GlobalLimit(per_second)
        return self.limit

    def add_channel(self, channel_id: int) -> None:
        self.channels[channel_id] = guild_channel(channel_id)

    def dm_channel(self, user_id: int) -> Json:
        """The DM channel between the bot and *user_id* (created on first use)."""
        if user_id in self._dms:
            return self.channels[self._dms[user_id]]
        channel = {"id": str(self.new_id()), "type": 1, "recipients": [user(user_id)]}
        self.channels[int(channel["id"])] = channel
        self._dms[user_id] = int(channel["id"])
        return channel

    def by_token(self, token: str) -> Interaction:
        """The acknowledged interaction behind a webhook token, else Discord's 10015."""
        ix = next((i for i in self.interactions.values() if i.token == token), None)
        if ix is None or ix.callback is None:
            raise Rejected(404, 10015, "Unknown Webhook")
        return ix

    # -- waiting ------------------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until *predicate* holds; it is re-checked after every REST request."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    async def answered(self, ix: Interaction) -> Interaction:
        """Wait for the bot's first answer to *ix*, then for its handler to finish."""
        await self.wait_for(lambda: ix.attempts > 0)
        await drain_handlers()
        return ix

    # -- gateway ------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            if frame["op"] == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif frame["op"] == 2:
                self.identify = frame["d"]
                if self.hold_ready is not None:
                    await self.hold_ready.wait()
                await self.dispatch("READY", self._ready())
        self._ws = None
        return ws

    def _ready(self) -> Json:
        return {
            "v": 10,
            "user": user(BOT_ID, "papersbot", bot=True),
            "guilds": [],
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(APP_ID), "flags": 0},
        }

    async def dispatch(self, event: str, data: Json) -> None:
        assert self._ws is not None, "no gateway connection"
        self._seq += 1
        await self._ws.send_str(json.dumps({"op": 0, "t": event, "s": self._seq, "d": data}))

    async def slash(
        self,
        sub: str,
        *,
        command: str = "papers",
        dm: bool = False,
        expired: bool = False,
        permissions: int = MEMBER_PERMISSIONS,
        **options: Any,
    ) -> Interaction:
        """Run ``/<command> <sub> option=value ...`` as a user would, in the guild or a DM.

        *sub* may name a subcommand of a subcommand group: ``"digest on"``.
        """
        scope = GUILD_ID if not dm and GUILD_ID in self.commands else None
        synced = next(c for c in self.commands.get(scope, []) if c["name"] == command)
        group, _, leaf = sub.rpartition(" ")
        spec = next(o for o in synced["options"] if o["name"] == (group or leaf))
        if group:
            assert spec["type"] == 2, f"{group!r} is not a subcommand group"
            spec = next(o for o in spec["options"] if o["name"] == leaf)
        given = [check_command(spec, name, value) for name, value in options.items()]
        data = {"id": synced["id"], "name": command, "type": 1}
        data["options"] = [{"name": leaf, "type": 1, "options": given}]
        if group:
            data["options"] = [{"name": group, "type": 2, "options": data["options"]}]
        channel = self.dm_channel(USER_ID) if dm else self.channels[CHANNEL_ID]
        return await self._interact(2, data, channel, expired=expired, permissions=permissions)

    async def press(
        self, message: Json, label_or_id: str, *, permissions: int = MEMBER_PERMISSIONS
    ) -> Interaction:
        """Click the button with that label or custom id on *message* (one the bot sent)."""
        buttons = [c for row in message.get("components", []) for c in row["components"]]
        button = next(b for b in buttons if label_or_id in (b.get("label"), b.get("custom_id")))
        assert "custom_id" in button, "a link button opens its URL; Discord sends no interaction"
        data = {"custom_id": button["custom_id"], "component_type": 2}
        channel = self.channels[int(message["channel_id"])]
        return await self._interact(3, data, channel, message=message, permissions=permissions)

    async def _interact(
        self,
        kind: int,
        data: Json,
        channel: Json,
        *,
        message: Json | None = None,
        expired: bool = False,
        permissions: int = MEMBER_PERMISSIONS,
    ) -> Interaction:
        ix = Interaction(
            self.new_id(), secrets.token_urlsafe(32), kind, int(channel["id"]), expired
        )
        payload = interaction_payload(ix.id, ix.token, kind, data, channel, permissions)
        if message is not None:
            payload["message"] = message
        self.interactions[ix.id] = ix
        ix.dispatched = time.perf_counter()
        await self.dispatch("INTERACTION_CREATE", payload)
        return ix

    # -- REST ---------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body = await request.json() if request.can_read_body else None
        self.arrived = time.perf_counter()  # before routing and validation: "received"
        wait = None
        if self.limit is not None:
            token = request.headers.get("Authorization", "")
            wait = self.limit.retry_after(token, path, time.monotonic())
        if wait is not None:
            status, answer, headers = GlobalLimit.answer(wait)
        else:
            status, answer, headers = await self._route(request.method, path, body, request.query)
        self.requests.append((request.method, path, body, status))
        async with self._changed:
            self._changed.notify_all()
        if answer is None:
            return web.Response(status=status, headers=headers)
        headers["Content-Type"] = "application/json"  # exactly; not "; charset=utf-8"
        return web.Response(status=status, body=json.dumps(answer).encode(), headers=headers)

    async def _route(
        self, method: str, path: str, body: Any, query: Any
    ) -> tuple[int, Any, dict[str, str]]:
        for fault in self._faults:
            if fault.times and fault.method == method and fault.path.fullmatch(path):
                fault.times -= 1
                return fault.status, dict(fault.body), dict(fault.headers)
        for verb, pattern, handler in ROUTES:
            match = pattern.fullmatch(path)
            if verb == method and match:
                try:
                    status, answer = await handler(self, body, query, **match.groupdict())
                except Rejected as err:
                    if err.code == 50035:
                        self.rejected.append((path, err.problems))
                    return err.status, err.body(), {}
                return status, answer, {}
        return 404, {"code": 0, "message": "404: Not Found"}, {}

    def check_message(self, body: Json, root: str, *, message: Json | bool | None = True) -> None:
        """Raise :class:`Rejected` (400 50035) unless Discord would accept *body*.

        *message* is the part holding content and embeds (*body* itself by default; a
        callback's ``data``), or ``None`` to check the schema only.
        """
        part = body if message is True else message
        part = part if isinstance(part, dict) else None
        problems = message_problems(body, root, part, no_mentions=self.require_no_mentions)
        if problems:
            raise Rejected(400, 50035, "Invalid Form Body", problems)
        if part is not None:
            self.sent.append(part)

    def message(
        self,
        channel_id: int,
        body: Json,
        *,
        keep: bool = True,
        interaction: Interaction | None = None,
    ) -> Json:
        """The message object Discord creates from *body* (stored when *keep*)."""
        kind = 20 if interaction is not None and interaction.kind == 2 else 0
        msg = message_object(self.new_id(), channel_id, body, kind=kind)
        if interaction is not None:
            msg["webhook_id"] = str(APP_ID)
        if keep:
            self.messages.setdefault(channel_id, []).append(msg)
        return msg


def _discords_clock() -> datetime:
    """Discord stamps ids with its own time: for a fake serving a real client, the wall."""
    return datetime.now(UTC)


async def drain_handlers(within: float = 5.0) -> None:
    """Wait until discord.py's interaction-handler tasks (named by discord.py) are done."""
    names = ("CommandTree-invoker", "discord-ui-", "discord.py: on_interaction")
    me = asyncio.current_task()
    while tasks := [
        t
        for t in asyncio.all_tasks()
        if t is not me and not t.done() and t.get_name().startswith(names)
    ]:
        await asyncio.wait(tasks, timeout=within)


@asynccontextmanager
async def connected(
    bot: PapersBot,
    *,
    guild_id: int | None = None,
    prepare: Callable[[PapersClient], None] | None = None,
    clock: Callable[[], datetime] | None = None,
    **options: Any,
) -> AsyncIterator[tuple[FakeDiscord, PapersClient]]:
    """A started fake and a :class:`PapersClient` logged in and READY on it.

    *prepare* sees the client before it logs in (and syncs); *clock* is the fake's (see
    :class:`FakeDiscord`). discord.py's URLs are process-global (see :func:`point_at`); they
    are restored on exit.
    """
    fake = FakeDiscord(clock=clock)
    await fake.start()
    saved = (discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    point_at(fake.api_url, fake.gateway_url)
    options.setdefault("guild_ready_timeout", 0)
    client = PapersClient(bot, guild_id=guild_id, **options)
    if prepare is not None:
        prepare(client)
    task: asyncio.Task[None] | None = None
    try:
        await client.login("test-token")
        task = asyncio.create_task(client.connect(reconnect=False))
        await asyncio.wait_for(client.wait_until_ready(), 5)
        yield fake, client
    finally:
        await client.close()
        if task is not None:
            await asyncio.wait_for(task, 5)
        await fake.close()
        discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved
