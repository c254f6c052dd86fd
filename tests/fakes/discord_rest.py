"""The REST half of the fake Discord (see :mod:`tests.fakes.discord`): one handler per route.

Each handler takes the fake, the JSON body, the query and the path's named groups, and
returns ``(status, body)``; it raises :class:`Rejected` for an error answer, with Discord's
status, code and message.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
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
    ("POST", r"/users/@me/channels", create_dm),
]
ROUTES = [(method, re.compile(pattern), handler) for method, pattern, handler in _TABLE]
