"""What a failed Slack call means: :class:`DeliveryError` and its :class:`Outcome`.

    PapersbotError
    └── DeliveryError            a Slack Web API call (or response_url post) failed
            .code                Slack's error code ("not_in_channel"), or "network"
            .outcome             NOT_IN_CHANNEL | CHANNEL_NOT_FOUND | ARCHIVED |
                                 UNDELIVERABLE | AUTH | BUG | UNAVAILABLE
            .user_message        one sentence for the person who asked
            .retry_after         seconds Slack asked us to wait (a 429), if it said
            .posted              ts of the parts of a multi-part post that did go out

:func:`classify` maps a Slack error code (and HTTP status) to it; unknown codes are
``UNAVAILABLE`` with a message naming the code.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from enum import StrEnum

from bot import PapersbotError

AUTH_ERRORS = frozenset(
    {"invalid_auth", "token_revoked", "not_authed", "account_inactive", "token_expired"}
)


class Outcome(StrEnum):
    """What a failed delivery means for the caller."""

    NOT_IN_CHANNEL = "not_in_channel"  # invite the bot, then retry
    CHANNEL_NOT_FOUND = "channel_not_found"  # gone, private without the bot, or a user DM
    ARCHIVED = "archived"  # stop posting there
    UNDELIVERABLE = "undeliverable"  # the user cannot receive DMs from the bot
    AUTH = "auth"  # the bot token stopped working: an operator must act
    BUG = "bug"  # we sent something Slack rejects (too long, bad blocks)
    UNAVAILABLE = "unavailable"  # Slack is down or kept rate-limiting: retry later


_OUTCOMES: dict[str, tuple[Outcome, str]] = {
    "not_in_channel": (
        Outcome.NOT_IN_CHANNEL,
        "I'm not in this channel yet: type `/invite @{bot}` here, then try again.",
    ),
    "channel_not_found": (
        Outcome.CHANNEL_NOT_FOUND,
        "I can't post in this conversation. In a private channel, type `/invite @{bot}` "
        "first; in a DM between people I can only answer you privately.",
    ),
    "is_archived": (Outcome.ARCHIVED, "This channel is archived, so I can't post in it."),
    "cannot_dm_bot": (Outcome.UNDELIVERABLE, "I can't send direct messages to a bot."),
    "user_not_found": (Outcome.UNDELIVERABLE, "I couldn't find that Slack user."),
    "user_disabled": (Outcome.UNDELIVERABLE, "That Slack account is deactivated."),
    "msg_too_long": (Outcome.BUG, "Sorry, that message was too long for Slack (error {id})."),
    "msg_blocks_too_long": (Outcome.BUG, "Sorry, that message was too big for Slack (error {id})."),
    "invalid_blocks": (Outcome.BUG, "Sorry, Slack could not show that message (error {id})."),
    "no_text": (Outcome.BUG, "Sorry, Slack could not show that message (error {id})."),
    "ratelimited": (Outcome.UNAVAILABLE, "Slack is busy right now; try again in a minute."),
}
BUSY_MESSAGE = _OUTCOMES["ratelimited"][1]
_AUTH_MESSAGE = "My Slack token stopped working; an operator must check SLACK_BOT_TOKEN."
_UNKNOWN = "Sorry, Slack refused that ({code}); try again later."


class DeliveryError(PapersbotError):
    """A Slack call failed; ``outcome`` says what it means, ``user_message`` what to say,
    ``retry_after`` how many seconds Slack asked us to wait (a 429), if it said, and
    ``posted`` which parts of a multi-part post went out before it failed."""

    def __init__(
        self, code: str, outcome: Outcome, user_message: str, *, retry_after: float | None = None
    ) -> None:
        self.code = code
        self.outcome = outcome
        self.user_message = user_message
        self.retry_after = retry_after
        self.posted: tuple[str, ...] = ()
        self.posted_papers: frozenset[str] = frozenset()  # the papers those parts showed
        self.details: tuple[str, ...] = ()  # Slack's response_metadata.messages, if any
        super().__init__(f"slack: {code} ({outcome})")


def classify(
    code: str, *, bot_name: str = "papersbot", status: int = 200, retry_after: float | None = None
) -> DeliveryError:
    """The :class:`DeliveryError` for a Slack error *code* (or an HTTP *status* ≥ 500)."""
    error_id = secrets.token_hex(4)
    if code in AUTH_ERRORS:
        return DeliveryError(code, Outcome.AUTH, _AUTH_MESSAGE)
    if code in _OUTCOMES:
        outcome, text = _OUTCOMES[code]
        message = text.format(bot=bot_name, id=error_id)
        return DeliveryError(code, outcome, message, retry_after=retry_after)
    if status >= 500 or status == 429:
        return DeliveryError(code, Outcome.UNAVAILABLE, BUSY_MESSAGE, retry_after=retry_after)
    return DeliveryError(code, Outcome.UNAVAILABLE, _UNKNOWN.format(code=code[:40]))


def parse_retry_after(headers: Mapping[str, object] | None) -> float | None:
    """Seconds from a ``Retry-After`` header (any spelling), or ``None`` if absent or odd."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            if not isinstance(raw, str | bytes | int | float):
                return None
            try:
                seconds = float(raw)
            except ValueError:
                return None
            return seconds if seconds >= 0 else None
    return None


def payload_size(payload: Mapping[str, object]) -> int:
    """Bytes of *payload* as JSON: what to log when Slack calls a message too big."""
    return len(json.dumps(payload, ensure_ascii=False).encode())
