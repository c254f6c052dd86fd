"""Real signed requests to the app under test, as Slack sends them: ``v0`` HMAC-SHA256
over ``v0:{timestamp}:{body}`` in ``X-Slack-Signature``, with ``X-Slack-Request-Timestamp``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from typing import Any

import aiohttp

SIGNING_SECRET = "fake-signing-secret"


def command_form(
    text: str,
    *,
    response_url: str,
    user: str = "U0ANN",
    channel: str = "C0LAB",
    team: str = "T0FAKE",
) -> dict[str, str]:
    """A slash-command body as Slack sends it (form fields)."""
    return {
        "token": "legacy-verification-token",
        "command": "/papers",
        "text": text,
        "team_id": team,
        "user_id": user,
        "user_name": user.lower(),
        "channel_id": channel,
        "response_url": response_url,
        "trigger_id": "1.2.3",
        "api_app_id": "A0FAKE",
    }


def action_payload(
    action_id: str,
    value: str,
    *,
    response_url: str,
    user: str = "U0ANN",
    channel: str = "C0LAB",
    team: str = "T0FAKE",
) -> dict[str, Any]:
    """A ``block_actions`` payload: a button pressed in an ephemeral message."""
    return {
        "type": "block_actions",
        "team": {"id": team},
        "user": {"id": user, "username": user.lower(), "team_id": team},
        "api_app_id": "A0FAKE",
        "container": {"type": "message", "is_ephemeral": True, "channel_id": channel},
        "channel": {"id": channel},
        "trigger_id": "1.2.4",
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value}],
    }


def action_form(action_id: str, value: str, **kwargs: Any) -> dict[str, str]:
    """The form body of a ``block_actions`` request: ``payload=<json>``."""
    return {"payload": json.dumps(action_payload(action_id, value, **kwargs))}


def sign(body: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    """Slack's ``v0`` request signature."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


async def signed_post(
    session: aiohttp.ClientSession,
    url: str,
    form: dict[str, str],
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> tuple[int, str, float]:
    """POST *form* signed like Slack; return ``(status, body, seconds until the answer)``."""
    body = urllib.parse.urlencode(form).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    headers.update(
        {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sign(body, ts, secret)}
    )
    start = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.text(), time.perf_counter() - start


def event_body(
    event: dict[str, Any], *, team: str, enterprise: str | None = None, org_wide: bool = False
) -> dict[str, Any]:
    """An Events API ``event_callback`` envelope for workspace *team*."""
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "enterprise_id": enterprise,
        "api_app_id": "A0FAKE",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{int(time.time() * 1000)}",
        "event_time": int(time.time()),
        "is_enterprise_install": org_wide,
        "authorizations": [
            {
                "enterprise_id": enterprise,
                "team_id": None if org_wide else team,
                "user_id": f"UBOT{team}",
                "is_bot": True,
                "is_enterprise_install": org_wide,
            }
        ],
    }


async def signed_json(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], *, secret: str = SIGNING_SECRET
) -> tuple[int, str]:
    """POST a JSON body (an Events API request) signed like Slack; ``(status, body)``."""
    raw = json.dumps(body).encode()
    ts = int(time.time())
    headers = {"Content-Type": "application/json"}
    headers.update(
        {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sign(raw, ts, secret)}
    )
    async with session.post(url, data=raw, headers=headers) as resp:
        return resp.status, await resp.text()
