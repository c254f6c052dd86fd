"""Strict Block Kit checks, as Slack applies them: slack_sdk's models plus the limits
slack_sdk does not check (50 blocks, 2000-char fields, 40,000-char text, ...), answered with
Slack's real error codes."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

LIMITS = {"blocks": 50, "section": 3000, "field": 2000, "header": 150, "button": 75}
MAX_URL, MAX_TEXT = 3000, 40_000


def _text_errors(where: str, obj: Any, limit: int) -> list[str]:
    text = obj.get("text", "") if isinstance(obj, dict) else ""
    if not isinstance(text, str) or not 1 <= len(text) <= limit:
        return [f"{where}: text must be 1..{limit} chars (got {len(str(text))})"]
    return []


def block_errors(block: dict[str, Any]) -> list[str]:
    """Everything wrong with one block: slack_sdk's validation plus our own limit checks."""
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"unknown block type {block.get('type')!r}"]
        parsed.validate_json()
    except (SlackObjectFormationError, KeyError, TypeError, ValueError) as exc:
        return [f"{block.get('type')}: {exc}"]
    kind, errors = block["type"], []
    if kind == "section":
        if "text" in block:
            errors += _text_errors("section", block["text"], LIMITS["section"])
        for item in block.get("fields", []):
            errors += _text_errors("section field", item, LIMITS["field"])
    elif kind == "header":
        errors += _text_errors("header", block["text"], LIMITS["header"])
    elif kind in ("context", "actions"):
        for element in block.get("elements", []):
            if element.get("type") == "button":
                errors += _text_errors("button", element["text"], LIMITS["button"])
            if len(element.get("url", "")) > MAX_URL:
                errors.append("button: url longer than 3000")
            if element.get("type") == "mrkdwn":
                errors += _text_errors("context", element, LIMITS["section"])
    image = block.get("accessory") or {}
    if len(image.get("image_url", "")) > MAX_URL:
        errors.append("image: url longer than 3000")
    return errors


def message_errors(message: dict[str, Any]) -> tuple[str, list[str]] | None:
    """``(slack error code, details)`` if Slack would reject *message*, else ``None``."""
    blocks = message.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    text = message.get("text") or ""
    if len(text) > MAX_TEXT:
        return "msg_too_long", [f"text is {len(text)} chars"]
    if not text and not blocks:
        return "no_text", []
    if len(blocks) > LIMITS["blocks"]:
        return "invalid_blocks", [f"{len(blocks)} blocks; at most {LIMITS['blocks']}"]
    errors = [e for b in blocks for e in block_errors(b)]
    return ("invalid_blocks", errors) if errors else None
