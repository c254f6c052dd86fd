"""What reaches Bolt over HTTP: malformed requests are refused with 400, not a 500 and a
traceback, and what Bolt logs about a rejected request is cut short.

Bolt turns a non-numeric ``X-Slack-Request-Timestamp`` or a ``payload`` form field that is
not JSON into an unhandled exception (HTTP 500), and logs the whole body of every request
whose signature fails at INFO (1 MB bodies filled the log). :func:`guard` checks the shape
of a request before Bolt sees it (the signature is still Bolt's to check), and
:class:`ShortLog` keeps every Bolt log line under :data:`MAX_LOG_CHARS`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from aiohttp import web
from aiohttp.typedefs import Middleware

MAX_LOG_CHARS = 500
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _malformed(why: str) -> web.Response:
    return web.json_response({"ok": False, "error": why}, status=400)


def _problem(content_type: str, body: str) -> str | None:
    """Why this body cannot be a Slack request, or ``None``."""
    if content_type == "application/json":
        try:
            if not isinstance(json.loads(body), dict):
                return "the body is not a JSON object"
        except ValueError:
            return "the body is not JSON"
        return None
    try:
        form = parse_qs(body, strict_parsing=False, errors="strict")
    except (ValueError, UnicodeDecodeError):
        return "the form is not readable"
    if "command" in form:  # a slash command: Slack always says who, where and how to answer
        for field in ("response_url", "user_id", "team_id", "channel_id"):
            if not form.get(field, [""])[0].strip():
                return f"the command has no {field}"
    for payload in form.get("payload", []):
        try:
            found = json.loads(payload)
        except ValueError:
            return "payload is not JSON"
        if (why := _payload_problem(found)) is not None:
            return why
    return None


def _payload_problem(payload: object) -> str | None:
    """What Slack always sends in an interaction payload and Bolt's middleware indexes into
    without looking (an empty ``actions`` list was a 500 with a traceback)."""
    if not isinstance(payload, dict):
        return "payload is not a JSON object"
    if not isinstance(payload.get("type"), str):
        return "payload has no type"
    for key in ("user", "team", "enterprise", "channel", "container", "view", "message"):
        if payload.get(key) is not None and not isinstance(payload[key], dict):
            return f"payload {key} is not an object"
    for key in ("user", "team", "channel"):
        if isinstance(payload.get(key), dict) and not isinstance(payload[key].get("id"), str):
            return f"payload {key} has no id"
    if payload["type"] == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            return "payload has no actions"
        if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            return "payload has an action without an action_id"
        if not isinstance(payload.get("response_url"), str) or not payload["response_url"]:
            return "payload has no response_url"  # our buttons live only in messages
    return None


def guard(path: str) -> Middleware:
    """An aiohttp middleware checking the shape of requests to *path* (the events URL)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST" or request.path != path:
            return await handler(request)
        stamp = request.headers.get("X-Slack-Request-Timestamp")
        if stamp is not None and not (stamp.isascii() and stamp.isdigit() and len(stamp) < 20):
            return _malformed("X-Slack-Request-Timestamp is not a number")
        try:
            body = await request.text()
        except UnicodeDecodeError:
            return _malformed("the body is not UTF-8")
        if (why := _problem(request.content_type, body)) is not None:
            return _malformed(why)
        return await handler(request)

    return middleware


class ShortLog(logging.Filter):
    """Cuts every record's message to :data:`MAX_LOG_CHARS` (Bolt puts whole request bodies
    into its rejection lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if len(message) > MAX_LOG_CHARS:
            record.msg = f"{message[:MAX_LOG_CHARS]}… ({len(message)} characters)"
            record.args = None
        return True


def bolt_logger() -> logging.Logger:
    """The logger Bolt is given, with :class:`ShortLog` attached once."""
    logger = logging.getLogger("adapters.slack.bolt")
    if not any(isinstance(f, ShortLog) for f in logger.filters):
        logger.addFilter(ShortLog())
    return logger
