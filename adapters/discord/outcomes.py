"""What happened to one scheduled post: an :class:`Outcome` and a :class:`Delivery`.

Every outcome is a value, never an exception, so the ledger can record it:

    SENT            every part went out; ``message_ids`` holds their ids, first one first
    UNDELIVERABLE   the user blocks DMs or shares no server with the bot (50007), or does
                    not exist (50033): do not retry
    FORBIDDEN       the bot lacks View Channel / Send Messages / Embed Links there (403)
    GONE            the channel (or user) does not exist any more (404)
    FAILED          anything else (5xx after discord.py's retries, network, a rate limit that
                    outlasted every retry); retry later, after ``retry_after`` when known

:func:`classify` maps a Discord HTTP error to one, :func:`retry_after` reads how long a rate
limit asks to wait.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import aiohttp
import discord

from adapters.discord.permissions import missing_permissions_text

CANNOT_DM = 50007  # the user blocks DMs from the bot, or shares no server with it
INVALID_RECIPIENT = 50033  # no such user to open a DM with

# What a request can raise that is the platform's doing, not ours.
ERRORS = (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, TimeoutError)


class Outcome(enum.StrEnum):
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"
    FORBIDDEN = "forbidden"
    GONE = "gone"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one reply sent to one target."""

    outcome: Outcome
    message_ids: tuple[int, ...] = ()
    detail: str = ""
    retry_after: float | None = None  # seconds Discord asked us to wait, when it did

    @property
    def message_id(self) -> int | None:
        """The first message's id (what a ledger records), if any part went out."""
        return self.message_ids[0] if self.message_ids else None

    @property
    def retryable(self) -> bool:
        return self.outcome is Outcome.FAILED


def classify(
    exc: discord.HTTPException, missing_names: list[str] | None = None
) -> tuple[Outcome, str]:
    """Map a Discord HTTP error to an outcome and a sentence for the operator.

    *missing_names*: the permissions the bot lacks in the channel, when the cache knows
    (a 403 does not say which); otherwise the sentence lists every permission it needs."""
    if exc.code == CANNOT_DM:
        return Outcome.UNDELIVERABLE, "the user does not accept DMs from the bot"
    if exc.code == INVALID_RECIPIENT:
        return Outcome.UNDELIVERABLE, "Discord knows no such user to DM"
    if isinstance(exc, discord.Forbidden):
        return Outcome.FORBIDDEN, missing_permissions_text(missing_names)
    if isinstance(exc, discord.NotFound):
        return Outcome.GONE, f"Discord does not know that channel or user (code {exc.code})"
    return Outcome.FAILED, f"Discord answered {exc.status} (code {exc.code}): {exc.text[:200]}"


def retry_after(exc: BaseException) -> float | None:
    """Seconds a rate-limit error asks to wait, if it is one."""
    if isinstance(exc, discord.RateLimited):
        return exc.retry_after
    if isinstance(exc, discord.HTTPException) and exc.status == 429:
        try:
            return float(exc.response.headers.get("Retry-After", 1.0))
        except ValueError:
            return 1.0
    return None
