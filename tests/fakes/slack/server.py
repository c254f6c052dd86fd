"""A loopback fake of Slack that the real ``slack_bolt`` and ``slack_sdk`` talk to.

    async with FakeSlack() as slack:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)

Serves on 127.0.0.1:

* ``/api/{method}``: ``auth.test``, ``chat.postMessage``, ``conversations.open``,
  ``conversations.history``, ``users.info``, ``apps.connections.open``. Arguments come from
  the query string, a form body or a JSON body (slack_sdk uses all three). Every call needs
  ``Authorization: Bearer <token>`` with a bot token the fake issued (the app token for
  ``apps.connections.open``); otherwise ``not_authed`` / ``invalid_auth`` /
  ``token_revoked``.
* ``/commands/{id}``: a ``response_url`` sink. Records JSON bodies; allows 5 uses within
  30 minutes per URL and answers like Slack's incoming webhooks (plain-text error bodies:
  ``used_url``, ``expired_url``, ``invalid_blocks``, ``msg_too_long``, ``no_text``).
* ``/link/``: the Socket Mode websocket (``hello``, envelopes, acks).
* ``/oauth/v2/authorize`` and ``oauth.v2.access``: OAuth v2 installs into any number of
  workspaces, each with its own bot token, checked on every call against the channel or
  user it touches (:mod:`tests.fakes.slack.oauth`).

Every message is checked strictly (:func:`tests.fakes.slack.checks.message_errors`) and
rejected with Slack's real error codes. Knobs: :meth:`FakeSlack.fail` (an error code, a 429
with ``Retry-After``, a 5xx for the next calls of a method), :meth:`FakeSlack.fail_channel`
(the same for calls about one channel, DMs included), :meth:`FakeSlack.hold` (park a method's
calls until released), ``latency`` (seconds per call of a method), ``ts_epoch`` (where
message ``ts`` values start), ``auth_error`` (``invalid_auth`` / ``token_revoked`` for every
bot call), channels (member, outsider, archived) and users (time zone, workspace role, bot,
deactivated, another workspace). DM channels are ``D`` + the user id; ``conversations.open``
creates them and ``conversations.history`` reads them like any channel.

Waiting: :meth:`FakeSlack.wait_responses` (bodies posted to a response_url),
:meth:`FakeSlack.wait_for` (any condition, re-checked whenever a Web API call arrives or is
answered) and :meth:`FakeSlack.idle` (every connection closed and answered, e.g. after the
client process died). Tests wait on these instead of sleeping.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.slack.checks import message_errors
from tests.fakes.slack.oauth import OAuthFake, Workspace

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-1-fake-app-token"
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 30 * 60


@dataclass
class ApiCall:
    """One Web API call the fake received."""

    method: str
    args: dict[str, Any]
    content_type: str
    token: str | None


@dataclass
class Fault:
    error: str | None = None
    status: int = 200
    retry_after: int | None = None
    passes: bool = False  # let this call through (a fault that comes after N good calls)
    messages: tuple[str, ...] = ()  # response_metadata.messages, as Slack explains some errors


@dataclass
class Received:
    """One body posted to a response_url, and when it arrived (``time.perf_counter``)."""

    url_id: str
    body: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)
    peer: object = None  # the sender's (host, port): which connection it came over


class FakeSlack(OAuthFake):
    """The fake Slack server; see the module docstring."""

    def __init__(self, *, team_id: str = "T0FAKE", bot_user: str = "U0BOT") -> None:
        self.team_id, self.bot_user, self.bot_name = team_id, bot_user, "papersbot"
        self._init_workspaces(Workspace(team_id, "Fake", bot_user, "B0BOT"), BOT_TOKEN)
        self.calls: list[ApiCall] = []
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.responses: list[Received] = []
        self.channels: dict[str, str] = {}  # id -> member | outsider | archived
        self.users: dict[str, dict[str, Any]] = {}
        self.auth_error: str | None = None
        self.page_size = 100
        self.latency: dict[str, float] = {}  # seconds every call of a method takes
        self.ts_epoch = 1_786_000_000  # message ts: this + a counter (int(time.time()): now)
        # chat.postMessage's per-channel limit, off unless set: (burst, seconds): at most
        # `burst` posts to one channel in any `seconds`, else 429 with Retry-After: 1.
        # Slack documents about one message per second per channel, short bursts allowed.
        self.channel_limit: tuple[int, float] | None = None
        self.limited = 0  # 429s sent for the per-channel limit
        self._posted_at: dict[str, deque[float]] = defaultdict(deque)
        self.socket_connected = asyncio.Event()
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._channel_faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._holds: dict[str, asyncio.Event] = {}
        self._uses: dict[str, list[float]] = defaultdict(list)
        self._issued: dict[str, float] = {}
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._arrived = asyncio.Condition()
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/commands/{url_id}", self._response_url)
        app.router.add_get("/link/", self._socket)
        app.router.add_get("/oauth/v2/authorize", self._authorize)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in self._sockets:
            await ws.close()
        assert self._runner is not None
        await self._runner.cleanup()

    # -- knobs and inspection -----------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def authorize_url(self) -> str:
        """Slack's consent page (see :mod:`tests.fakes.slack.oauth`)."""
        return f"http://127.0.0.1:{self.port}/oauth/v2/authorize"

    def response_url(self, url_id: str) -> str:
        """A fresh response_url (valid 30 minutes, 5 uses)."""
        self._issued[url_id] = time.monotonic()
        return f"http://127.0.0.1:{self.port}/commands/{url_id}"

    def expire(self, url_id: str) -> None:
        """Age *url_id*'s response_url past Slack's 30 minutes."""
        self._issued[url_id] = time.monotonic() - RESPONSE_URL_TTL - 1

    def fail(
        self,
        method: str,
        error: str | None = None,
        *,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next *times* calls of *method* (or ``"response_url"``) fail."""
        if retry_after is not None:
            status = 429
        self._faults[method].extend(Fault(error, status, retry_after) for _ in range(times))

    def fail_channel(
        self,
        channel: str,
        error: str | None = None,
        *,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
        after: int = 0,
        messages: tuple[str, ...] = (),
    ) -> None:
        """Make *times* calls naming *channel* (any method) fail like :meth:`fail`, once
        *after* more calls have gone through normally; *messages* explain the error as
        Slack's ``response_metadata.messages`` do."""
        if retry_after is not None:
            status = 429
        queue = self._channel_faults[channel]
        queue.extend(Fault(passes=True) for _ in range(after))
        queue.extend(Fault(error, status, retry_after, messages=messages) for _ in range(times))

    def hold(self, method: str) -> asyncio.Event:
        """Park every call of *method* until the returned event is set."""
        return self._holds.setdefault(method, asyncio.Event())

    def add_channel(
        self, channel: str, *, member: bool = True, archived: bool = False, team: str | None = None
    ) -> None:
        """A channel of workspace *team* (default: the fake's own team)."""
        self.channels[channel] = "archived" if archived else "member" if member else "outsider"
        self.channel_teams[channel] = team or self.team_id

    def add_user(
        self,
        user: str,
        *,
        tz: str | None = "UTC",
        is_bot: bool = False,
        is_admin: bool = False,
        is_owner: bool = False,
        is_primary_owner: bool = False,
        deleted: bool = False,
        team_id: str | None = None,
    ) -> None:
        """A user as ``users.info`` shows them (only the fields papersbot may read)."""
        self.users[user] = {
            "id": user,
            "team_id": team_id or self.team_id,
            "name": user.lower(),
            "deleted": deleted,
            "real_name": user.title(),
            "tz": tz,
            "tz_label": tz or "",
            "tz_offset": 0,
            "is_admin": is_admin or is_owner,  # Slack marks owners as admins too
            "is_owner": is_owner or is_primary_owner,
            "is_primary_owner": is_primary_owner,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
        }

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def responses_to(self, url_id: str) -> list[dict[str, Any]]:
        return [r.body for r in self.responses if r.url_id == url_id]

    async def wait_responses(self, url_id: str, count: int = 1, within: float = 5) -> list[Any]:
        """Wait until *url_id* has received *count* bodies; return them."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.responses_to(url_id)) >= count), within
            )
        return self.responses_to(url_id)

    async def wait_for(self, predicate: Callable[[], bool], within: float = 5) -> None:
        """Wait until *predicate* holds; it is re-checked whenever a Web API call arrives and
        when it has been answered (``calls``, ``messages``)."""
        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(predicate)

    async def idle(self, within: float = 10) -> None:
        """Wait until no client holds a connection to the fake, so that every request sent
        to it has been answered (a killed client's last requests included)."""
        assert self._runner is not None
        server = self._runner.server
        assert server is not None
        async with asyncio.timeout(within):
            while True:
                for _ in range(10):  # turns of the loop: connections already queued are taken
                    await asyncio.sleep(0)
                if not server.connections:
                    return
                await asyncio.sleep(0.005)

    async def _changed(self) -> None:
        async with self._arrived:
            self._arrived.notify_all()

    # -- Web API ------------------------------------------------------------------------

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        elif request.can_read_body:
            args.update(dict(urllib.parse.parse_qsl(await request.text())))
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        self.calls.append(ApiCall(method, args, request.content_type, token))
        await self._changed()
        try:
            if method == "oauth.v2.access":  # client credentials, not a token
                if not self.client_ok(auth):
                    return _error("invalid_client_id")
                result = self._oauth_v2_access(args)
                return _error(result) if isinstance(result, str) else _ok(result)
            return await self._answer(method, args, token)
        finally:
            await self._changed()

    def _refused(self, method: str, token: str | None) -> str | None:
        """Why *token* may not call *method*: every workspace's bot token is its own."""
        if token is None:
            return "not_authed"
        if method == "apps.connections.open":
            return None if token == APP_TOKEN else "invalid_auth"
        owner = self.token_owner.get(token)
        if owner is None:
            return "invalid_auth"
        if token in owner.revoked:
            return "token_revoked"
        return self.auth_error

    async def _answer(self, method: str, args: dict[str, Any], token: str | None) -> web.Response:
        if refused := self._refused(method, token):
            return _error(refused)
        if delay := self.latency.get(method):
            await asyncio.sleep(delay)
        if method in self._holds:
            await self._holds[method].wait()
        if method == "chat.postMessage" and self._over_channel_limit(str(args.get("channel"))):
            self.limited += 1
            return _error("ratelimited", status=429, headers={"Retry-After": "1"})
        faults = self._faults[method] or self._channel_faults[str(args.get("channel", ""))]
        if faults and not (fault := faults.popleft()).passes:
            return _fault(fault)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None or method == "oauth.v2.access":
            return _error("unknown_method")
        result: dict[str, Any] | str = handler(args, token)
        return _error(result) if isinstance(result, str) else _ok(result)

    def _over_channel_limit(self, channel: str) -> bool:
        """Whether a post to *channel* now breaks :attr:`channel_limit` (else it counts)."""
        if self.channel_limit is None:
            return False
        burst, seconds = self.channel_limit
        now = time.monotonic()
        times = self._posted_at[channel]
        while times and times[0] <= now - seconds:
            times.popleft()
        if len(times) >= burst:
            return True
        times.append(now)
        return False

    def _auth_test(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        answer = self.auth_test_for(token)
        if self.owner(token) is self.workspaces[self.team_id]:
            answer.update(user=self.bot_name, user_id=self.bot_user, url="https://fake.slack.com/")
        return answer

    def _apps_connections_open(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self.port}/link/?ticket=t{next(self._ts)}"}

    def _channel_error(
        self, channel: str, *, writing: bool, token: str | None = None, method: str = ""
    ) -> str | None:
        state = self.channels.get(channel)
        if state is None or self.crosses(method, token, self.team_of_channel(channel), channel):
            return "channel_not_found"
        if state == "archived" and writing:
            return "is_archived"
        return "not_in_channel" if state == "outsider" else None

    def _chat_postMessage(self, args: dict[str, Any], token: str | None) -> dict[str, Any] | str:
        channel = str(args.get("channel", ""))
        if error := self._channel_error(
            channel, writing=True, token=token, method="chat.postMessage"
        ):
            return error
        if problem := message_errors(args):
            return problem[0]
        ts = f"{self.ts_epoch + next(self._ts)}.000100"
        metadata = args.get("metadata")
        me = self.owner(token) or self.workspaces[self.team_id]
        user = self.bot_user if me.team_id == self.team_id else me.bot_user
        bot_id = "B0BOT" if me.team_id == self.team_id else me.bot_id
        message = {"type": "message", "ts": ts, "user": user, "bot_id": bot_id}
        message.update(text=args.get("text", ""), blocks=args.get("blocks", []))
        if metadata:
            message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
        self.messages[channel].append(message)
        return {"channel": channel, "ts": ts, "message": message}

    def _conversations_open(self, args: dict[str, Any], token: str | None) -> dict[str, Any] | str:
        user = self.users.get(str(args.get("users", "")))
        if user is None or self.crosses("conversations.open", token, user["team_id"], user["id"]):
            return "user_not_found"
        if user["is_bot"]:
            return "cannot_dm_bot"
        if user["deleted"]:
            return "user_disabled"
        channel = "D" + user["id"]
        self.channels.setdefault(channel, "member")
        self.channel_teams.setdefault(channel, user["team_id"])
        return {"channel": {"id": channel}}

    def _conversations_history(
        self, args: dict[str, Any], token: str | None
    ) -> dict[str, Any] | str:
        channel = str(args.get("channel", ""))
        if error := self._channel_error(
            channel, writing=False, token=token, method="conversations.history"
        ):
            return error
        oldest = float(args.get("oldest") or 0)
        with_meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [m for m in reversed(self.messages[channel]) if float(m["ts"]) > oldest]
        start = int(args.get("cursor") or 0)
        limit = min(int(args.get("limit") or 100), self.page_size)
        page = [
            {k: v for k, v in m.items() if with_meta or k != "metadata"}
            for m in found[start : start + limit]
        ]
        more = start + limit < len(found)
        cursor = str(start + limit) if more else ""
        return {"messages": page, "has_more": more, "response_metadata": {"next_cursor": cursor}}

    def _users_info(self, args: dict[str, Any], token: str | None) -> dict[str, Any] | str:
        user = self.users.get(str(args.get("user", "")))
        return {"user": user} if user else "user_not_found"

    # -- response_url and Socket Mode --------------------------------------------------

    async def _response_url(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        url_id = request.match_info["url_id"]
        body = await request.json()
        now = time.monotonic()
        issued = self._issued.get(url_id, now)
        uses = self._uses[url_id]
        if now - issued > RESPONSE_URL_TTL:
            return web.Response(status=404, text="expired_url")
        if len(uses) >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        uses.append(now)
        if self._faults["response_url"]:
            fault = self._faults["response_url"].popleft()
            return web.Response(
                status=fault.status if fault.status != 200 else 400, text=fault.error
            )
        if problem := message_errors(body):
            return web.Response(status=400, text=problem[0])
        if body.get("response_type") not in (None, "ephemeral", "in_channel"):
            return web.Response(status=400, text="invalid_payload")
        async with self._arrived:
            peer = request.transport.get_extra_info("peername") if request.transport else None
            self.responses.append(Received(url_id, body, arrived, peer))
            self._arrived.notify_all()
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0FAKE"}}
        await ws.send_json(hello)
        self.socket_connected.set()
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(msg.data)
                future = self._acks.pop(str(data.get("envelope_id")), None)
                if future is not None and not future.done():
                    future.set_result(data.get("payload") or {})
        return ws

    async def send_envelope(self, kind: str, payload: dict[str, Any], within: float = 3) -> Any:
        """Push a Socket Mode envelope (``slash_commands``, ``interactive``); return the
        ack's payload. Times out like Slack if the app does not ack within *within* seconds."""
        await asyncio.wait_for(self.socket_connected.wait(), within)
        envelope_id = f"env-{next(self._ts)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload}
        envelope.update(accepts_response_payload=True, retry_attempt=0, retry_reason="")
        await self._sockets[-1].send_json(envelope)
        return await asyncio.wait_for(future, within)


def _fault(fault: Fault) -> web.Response:
    """Slack's answer to an injected failure: 429 with ``Retry-After``, a 5xx, or an error."""
    if fault.status == 200 and fault.messages:
        body = {
            "ok": False,
            "error": fault.error,
            "response_metadata": {"messages": fault.messages},
        }
        return web.json_response(body)
    if fault.status == 200:
        return _error(fault.error or "internal_error")
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    code = fault.error or ("ratelimited" if fault.status == 429 else "internal_error")
    return _error(code, status=fault.status, headers=headers)


def _ok(data: dict[str, Any]) -> web.Response:
    return web.json_response({"ok": True, **data})


def _error(code: str, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"ok": False, "error": code}, status=status, headers=headers)
