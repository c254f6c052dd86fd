"""What the core asks of a platform to deliver scheduled posts: :class:`Courier`.

Each adapter implements it over its own delivery primitives (Slack ``chat.postMessage``
with message metadata, Discord messages with ``nonce`` + ``enforce_nonce``, the console's
printer). The dispatcher (:mod:`bot.delivery.sender`) owns claim → send → mark; a courier only
sends, classifies what happened, and answers "did this key already go out?" after a crash.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.errors import PapersbotError
from bot.model.delivery import DeliveryKey, Target
from bot.model.replies import Reply


class SendStatus(enum.StrEnum):
    SENT = "sent"  # delivered; message_id names the (first) message
    RETRY = "retry"  # transient (rate limit, 5xx, network): try again later
    PERMANENT = "permanent"  # channel gone, bot removed, DMs blocked: disable the target


@dataclass(frozen=True, slots=True)
class SendResult:
    status: SendStatus
    message_id: str | None = None
    detail: str = ""  # one sentence for the owner / status, never a secret
    retry_after: float | None = None  # seconds, when the platform said


class LookupFailed(PapersbotError):
    """The platform could not say whether a delivery already went out (rate limited, no
    history access, network). The dispatcher then retries later instead of risking a
    second post; when the grace window closes the row is ``missed``, with this reason."""


class Courier(Protocol):
    """Delivers replies to one platform's targets."""

    platform: str

    async def send(self, target: Target, reply: Reply, key: DeliveryKey) -> SendResult:
        """Send *reply* to *target* (a channel, or a user's DMs) as delivery *key*.

        *key* is stable across retries (``str(key)`` is its text form): a courier makes a
        repeated send of one key idempotent where the platform allows (Discord's nonce) and
        tags the message with it where it can be found again (Slack message metadata).
        """
        ...

    async def find_sent(self, target: Target, key: DeliveryKey, since: datetime) -> str | None:
        """The id of a message for *key* already posted to *target* since *since*, if any.

        Called before re-sending a delivery whose earlier attempt may have gone out (the
        process died between send and mark, or a response was lost). ``None`` when it is
        not there; raises :class:`LookupFailed` when the platform cannot tell.
        """
        ...
