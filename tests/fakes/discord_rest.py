"""The REST half of the fake Discord (see :mod:`tests.fakes.discord`): one handler per route.

Each handler takes the fake, the JSON body, the query and the path's named groups, and
returns ``(status, body)``; it raises :class:`Rejected` for an error answer, with Discord's
status, code and message. :class:`GlobalLimit` is Discord's per-bot global request limit.
"""

from __future__ import annotations

import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.discord_payloads import (
    APP_ID,
    BOT_ID,
    EPHEMERAL,
    LOADING,
    Json,
    Rejected,
    check_commands,
    user,
)

if TYPE_CHECKING:
    from tests.fakes.discord import FakeDiscord

Result = tuple[int, Json | list[Any] | None]
Handler = Callable[..., Awaitable[Result]]

APP_INFO_OWNER = 1100000000000000006
MAX_HISTORY = 100  # messages per GET /channels/{id}/messages
UNLIMITED = ("/interactions/", "/webhooks/")  # not bound to the global limit (Discord's docs)


@dataclass
class GlobalLimit:
    """Discord's global limit: at most *per_second* requests per bot token in any one-second
    span (a sliding window, so stricter than a fixed one). Requests it refuses do not count
    toward the window; :attr:`refused` counts them. Interaction callbacks and webhooks are
    exempt, as on Discord."""

    per_second: int = 50
    window: float = 1.0
    refused: int = 0
    _seen: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after(self, token: str, path: str, now: float) -> float | None:
        """``None`` when the request may pass (and is counted), else seconds to wait."""
        if path.startswith(UNLIMITED):
            return None
        seen = self._seen.setdefault(token, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) < self.per_second:
            seen.append(now)
            return None
        self.refused += 1
        return math.ceil((seen[0] + self.window - now) * 1000) / 1000

    @staticmethod
    def answer(retry_after: float) -> tuple[int, Json, dict[str, str]]:
        """The 429 Discord sends for the global limit; ``Via`` makes discord.py trust it."""
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Global": "true",
            "X-RateLimit-Scope": "global",
        }
        body = {"message": "You are being rate limited.", "retry_after": retry_after}
        return 429, body | {"global": True}, headers


async def me(fake: FakeDiscord, body: Any, query: Any) -> Result:
    return 200, user(BOT_ID, "papersbot", bot=True)


async def application(fake: FakeDiscord, body: Any, query: Any) -> Result:
    return 200, {
        "id": str(APP_ID), "name": "papersbot", "description": "", "icon": None,
        "bot_public": True, "bot_require_code_grant": False, "verify_key": "0" * 64,
        "owner": user(APP_INFO_OWNER, "owner"), "flags": 0,
    }  # fmt: skip


async def sync(
    fake: FakeDiscord, body: Any, query: Any, app: str, guild: str | None = None
) -> Result:
    if guild is not None and int(guild) not in fake.guilds:
        raise Rejected(403, 50001, "Missing Access")
    check_commands(body)
    stored = []
    for command in body:
        perms = command.get("default_member_permissions")  # discord.py sends an int
        stored.append(
            dict(command, id=str(fake.new_id()), application_id=str(APP_ID))
            | {"version": str(fake.new_id()), "default_member_permissions": perms and str(perms)}
            | ({"guild_id": guild} if guild else {})
        )
    fake.commands[int(guild) if guild else None] = stored
    return 200, stored


async def callback(fake: FakeDiscord, body: Any, query: Any, iid: str, token: str) -> Result:
    ix = fake.interactions.get(int(iid))
    if ix is None or ix.token != token:
        raise Rejected(404, 10062, "Unknown interaction")
    ix.attempts += 1
    if ix.expired or time.perf_counter() - ix.dispatched > fake.deadline:
        raise Rejected(404, 10062, "Unknown interaction")
    if ix.callback is not None:
        raise Rejected(400, 40060, "Interaction has already been acknowledged.")
    kind, data = body.get("type"), body.get("data") or {}
    if kind in (4, 5):
        message = data if kind == 4 else None  # a defer carries only flags
        fake.check_message(body, "CreateMessageInteractionCallbackRequest", message=message)
    elif kind == 7:
        fake.check_message(data, "IncomingWebhookUpdateForInteractionCallbackRequestPartial")
    elif not (kind == 6 and ix.kind == 3):
        raise Rejected(400, 50035, "Invalid Form Body", [f"type: {kind} is not valid here"])
    ix.callback, ix.callback_at = body, fake.arrived
    answer: Json = {"interaction": {"id": iid, "type": ix.kind}}
    if kind in (4, 5):
        flags = (data.get("flags") or 0) | (LOADING if kind == 5 else 0)
        msg = fake.message(ix.channel_id, dict(data, flags=flags), interaction=ix)
        ix.messages.append(msg)
        answer["interaction"] |= {
            "response_message_id": msg["id"],
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(flags & EPHEMERAL),
        }
        answer["resource"] = {"type": kind, "message": msg}
    return 200, answer


async def followup(fake: FakeDiscord, body: Any, query: Any, app: str, token: str) -> Result:
    ix = fake.by_token(token)
    fake.check_message(body, "IncomingWebhookInteractionRequest")
    first = ix.messages[0] if ix.messages else None
    if first is not None and first["flags"] & LOADING:  # replaces the "thinking" message
        flags = first["flags"] & ~LOADING  # and keeps its visibility, whatever body says
        first.update(fake.message(ix.channel_id, body, keep=False), id=first["id"], flags=flags)
        msg = first
    else:
        msg = fake.message(ix.channel_id, body, interaction=ix)
        ix.messages.append(msg)
    return (200, msg) if query.get("wait") in ("1", "true") else (204, None)


async def edit(fake: FakeDiscord, body: Any, query: Any, app: str, token: str, mid: str) -> Result:
    ix = fake.by_token(token)
    fake.check_message(body, "IncomingWebhookUpdateForInteractionCallbackRequestPartial")
    target = next((m for m in ix.messages if mid in ("@original", m["id"])), None)
    if target is None:
        raise Rejected(404, 10008, "Unknown Message")
    target.update({k: v for k, v in fake.message(ix.channel_id, body, keep=False).items()
                   if k in body})  # fmt: skip
    return 200, target


async def channel_message(fake: FakeDiscord, body: Any, query: Any, cid: str) -> Result:
    channel = fake.channels.get(int(cid))
    if channel is None:
        raise Rejected(404, 10003, "Unknown Channel")
    if int(cid) in fake.forbidden:
        raise Rejected(403, 50013, "Missing Permissions")
    if channel["type"] == 1 and int(channel["recipients"][0]["id"]) in fake.blocked_dms:
        raise Rejected(403, 50007, "Cannot send messages to this user")
    fake.check_message(body, "MessageCreateRequest")
    nonce = body.get("nonce")
    if body.get("enforce_nonce") and nonce is not None and nonce in fake.nonces:
        return 200, fake.nonces[nonce]  # Discord returns the message it already created
    msg = fake.message(int(cid), body)
    if nonce is not None:
        fake.nonces[nonce] = msg
    return 200, msg


async def history(fake: FakeDiscord, body: Any, query: Any, cid: str) -> Result:
    """``GET /channels/{id}/messages``: newest first, as Discord answers every variant. With
    ``after``, the *limit* messages just after it; otherwise the newest ones (before
    ``before``). Ephemeral messages are never in a channel's history, and Discord only
    echoes a ``nonce`` when the message is created, so history has none."""
    channel = fake.channels.get(int(cid))
    if channel is None:
        raise Rejected(404, 10003, "Unknown Channel")
    if int(cid) in fake.forbidden:
        raise Rejected(403, 50001, "Missing Access")
    if "around" in query:
        raise Rejected(400, 50035, "Invalid Form Body", ["around: not modelled by the fake"])
    limit = int(query.get("limit", 50))
    if not 1 <= limit <= MAX_HISTORY:
        raise Rejected(400, 50035, "Invalid Form Body", [f"limit: {limit} is not 1-100"])
    found = [m for m in fake.messages.get(int(cid), []) if not m["flags"] & EPHEMERAL]
    if "before" in query:
        found = [m for m in found if int(m["id"]) < int(query["before"])]
    if "after" in query:
        found = [m for m in found if int(m["id"]) > int(query["after"])][:limit]
    else:
        found = found[-limit:]
    found.sort(key=lambda m: int(m["id"]), reverse=True)
    return 200, [{k: v for k, v in m.items() if k != "nonce"} for m in found]  # never returned


async def create_dm(fake: FakeDiscord, body: Any, query: Any) -> Result:
    recipient = int(body["recipient_id"])  # discord.py sends an int; Discord accepts both
    if recipient in fake.unknown_users:
        raise Rejected(400, 50033, "Invalid Recipient(s)")
    return 200, fake.dm_channel(recipient)


_TABLE: list[tuple[str, str, Handler]] = [
    ("GET", r"/users/@me", me),
    ("GET", r"/oauth2/applications/@me", application),
    ("PUT", r"/applications/(?P<app>\d+)/commands", sync),
    ("PUT", r"/applications/(?P<app>\d+)/guilds/(?P<guild>\d+)/commands", sync),
    ("POST", r"/interactions/(?P<iid>\d+)/(?P<token>[^/]+)/callback", callback),
    ("POST", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)", followup),
    ("PATCH", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>[^/]+)", edit),
    ("POST", r"/channels/(?P<cid>\d+)/messages", channel_message),
    ("GET", r"/channels/(?P<cid>\d+)/messages", history),
    ("POST", r"/users/@me/channels", create_dm),
]
ROUTES = [(method, re.compile(pattern), handler) for method, pattern, handler in _TABLE]
