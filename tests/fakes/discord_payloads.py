"""Discord's objects and rules for the fake Discord (see :mod:`tests.fakes.discord`).

Pure functions only: the ids the fake uses, user/channel/message objects as Discord sends
them, Discord's own JSON schemas (``shared/data/discord_openapi``), the message limits the
schemas cannot express, and the checks Discord makes on synced commands and option values.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from datetime import UTC, datetime
from typing import Any

import jsonschema

from tests.shared_data import SHARED_DATA

SCHEMAS = SHARED_DATA / "discord_openapi"
APP_ID, BOT_ID, GUILD_ID = 1100000000000000001, 1100000000000000002, 1100000000000000003
CHANNEL_ID, USER_ID = 1100000000000000004, 1100000000000000005
MEMBER_PERMISSIONS = 0x66C40  # View Channel, Send Messages, Embed Links, History, Commands
Json = dict[str, Any]
EPHEMERAL, LOADING = 64, 128
DISCORD_EPOCH_MS = 1_420_070_400_000  # 2015-01-01, where snowflake time starts
_NAME = re.compile(r"[-_\w]{1,32}")


@functools.cache
def validator(root: str) -> jsonschema.Draft202012Validator:
    """A validator for one component schema of Discord's OpenAPI spec (built once)."""
    spec = json.loads((SCHEMAS / "message_schemas.json").read_text("utf-8"))
    schema = {"$ref": f"#/components/schemas/{root}", "components": spec["components"]}
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    return jsonschema.Draft202012Validator(schema, format_checker=checker)


def user(uid: int, name: str = "ada", *, bot: bool = False) -> Json:
    """A user object as Discord sends it."""
    return {
        "id": str(uid),
        "username": name,
        "discriminator": "0",
        "global_name": name.title(),
        "avatar": None,
        "bot": bot,
    }


def guild_channel(channel_id: int) -> Json:
    """A text channel of the fake guild."""
    return {
        "id": str(channel_id),
        "type": 0,
        "guild_id": str(GUILD_ID),
        "name": f"papers-{channel_id % 1000}",
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
    }


def interaction_payload(
    interaction_id: int, token: str, kind: int, data: Json, channel: Json, permissions: int
) -> Json:
    """``INTERACTION_CREATE`` data from :data:`USER_ID` in *channel* (a DM or the guild's)."""
    dm = channel["type"] == 1
    payload: Json = {
        "id": str(interaction_id),
        "application_id": str(APP_ID),
        "type": kind,
        "token": token,
        "version": 1,
        "data": data,
        "channel_id": channel["id"],
        "channel": channel,
        "locale": "en-US",
        "app_permissions": str(MEMBER_PERMISSIONS),
        "entitlements": [],
        "attachment_size_limit": 26214400,  # discord.py raises KeyError without it
        "context": 1 if dm else 0,
        "authorizing_integration_owners": {"0": str(GUILD_ID)},
    }
    if dm:
        payload["user"] = user(USER_ID)
        return payload
    payload["guild_id"] = str(GUILD_ID)
    payload["guild_locale"] = "en-US"
    payload["member"] = {
        "user": user(USER_ID),
        "roles": [],
        "joined_at": "2026-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "permissions": str(permissions),  # what Discord resolved for this member here
        "flags": 0,
    }
    return payload


def message_problems(
    body: Json, root: str, message: Json | None, *, no_mentions: bool
) -> list[str]:
    """Why Discord would refuse *body* (schema *root*), with *message* the part holding
    content and embeds (``None``: schema only); no problems means accepted."""
    problems = [
        f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
        for e in validator(root).iter_errors(body)
    ]
    if message is None:
        return problems
    content, embeds = message.get("content") or "", message.get("embeds") or []
    if len(content) > 2000:
        problems.append(f"content: {len(content)} characters; bots may send 2000")
    if sum(embed_chars(e) for e in embeds) > 6000:
        problems.append("embeds: more than 6000 characters in one message")
    if not (content or embeds or message.get("components")):
        problems.append("Cannot send an empty message")
    if no_mentions and (message.get("allowed_mentions") or {}).get("parse") != []:
        problems.append('policy: allowed_mentions must be {"parse": []}')
    return problems


def snowflake_time(snowflake: int) -> datetime:
    """When a snowflake id was made (its top 42 bits: milliseconds since Discord's epoch)."""
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, UTC)


def message_object(message_id: int, channel_id: int, body: Json, *, kind: int = 0) -> Json:
    """The message object Discord creates from a request *body* (components get ids)."""
    ids = itertools.count(1)
    rows = [
        dict(row, id=next(ids), components=[dict(c, id=next(ids)) for c in row["components"]])
        for row in body.get("components") or []
    ]
    return {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "type": kind,
        "content": body.get("content") or "",
        "embeds": [dict(e, type="rich") for e in body.get("embeds") or []],
        "components": rows,
        "author": user(BOT_ID, "papersbot", bot=True),
        "timestamp": snowflake_time(message_id).isoformat(),
        "edited_timestamp": None,
        "flags": body.get("flags") or 0,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "pinned": False,
        "tts": False,
        "mention_everyone": False,
        "nonce": body.get("nonce"),
        "application_id": str(APP_ID),
    }


class Rejected(Exception):
    """An error answer: HTTP *status*, Discord *code* and *message* (+ form *problems*)."""

    def __init__(self, status: int, code: int, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.problems = problems or []

    def body(self) -> Json:
        body: Json = {"code": self.code, "message": self.message}
        if self.problems:
            body["errors"] = {"_errors": [{"code": "INVALID", "message": p} for p in self.problems]}
        return body


def embed_chars(embed: Json) -> int:
    """Characters that count toward Discord's 6000 per message (as ``len(discord.Embed)``)."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields") or [])


def check_command(spec: Json, name: str, value: Any) -> Json:
    """The option as Discord would send it, after the checks Discord's own client makes."""
    option = next((o for o in spec.get("options", []) if o["name"] == name), None)
    assert option is not None, f"/{spec['name']} has no option {name!r}"
    kind = option["type"]
    if kind == 4:
        assert isinstance(value, int), f"{name} must be an integer"
        assert option.get("min_value", value) <= value <= option.get("max_value", value)
    if kind == 3:
        assert isinstance(value, str), f"{name} must be a string"
        assert option.get("min_length", 0) <= len(value) <= option.get("max_length", 6000)
    if option.get("choices"):
        assert value in [c["value"] for c in option["choices"]], f"{value!r} is not a choice"
    return {"name": name, "type": kind, "value": value}


def check_commands(commands: list[Json]) -> None:
    problems = []
    for command in commands:
        for item in [command, *_walk(command.get("options", []))]:
            if not _NAME.fullmatch(item["name"]) or item["name"] != item["name"].lower():
                problems.append(f"{item['name']}: invalid name")
            if not 1 <= len(item.get("description", "")) <= 100:
                problems.append(f"{item['name']}: description must be 1-100 characters")
            if len(item.get("options") or []) > 25 or len(item.get("choices") or []) > 25:
                problems.append(f"{item['name']}: at most 25 options or choices")
    if problems:
        raise Rejected(400, 50035, "Invalid Form Body", problems)


def _walk(options: list[Json]) -> list[Json]:
    found = []
    for option in options:
        found.append(option)
        found.extend(_walk(option.get("options", [])))
    return found
