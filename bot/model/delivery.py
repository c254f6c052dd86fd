"""The values of scheduled delivery: where a post goes (:class:`Target`), which post it is
(:class:`DeliveryKey`), what it carries (:class:`Content`) and its ledger row
(:class:`Delivery`).

A delivery key names one post of one schedule on one local day; it is stable across
retries, so couriers use it for idempotency (Discord's nonce) and to find a post again
(Slack message metadata). Its text form is ``digest:2026-08-19`` for a channel digest and
``sub:7:2026-08-19`` for subscription 7's DM; :meth:`DeliveryKey.parse` is its only parser
and ``str()`` its only formatter.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

Kind = Literal["channel", "user"]
State = Literal["pending", "claimed", "sent", "failed", "missed"]
KeyKind = Literal["digest", "sub"]
ContentKind = Literal["papers", "empty", "silent", "unavailable"]

STATES: tuple[State, ...] = ("pending", "claimed", "sent", "failed", "missed")
CONTENT_KINDS: tuple[ContentKind, ...] = ("papers", "empty", "silent", "unavailable")


_KEY = re.compile(r"(?:digest|sub:(0|[1-9][0-9]{0,18})):([0-9]{4}-[0-9]{2}-[0-9]{2})", re.ASCII)


@dataclass(frozen=True, slots=True)
class DeliveryKey:
    """One post of a schedule: a channel's digest of *day*, or subscription
    *subscription*'s DM of *day* (the local date of the fire instant)."""

    day: date
    subscription: int | None = None

    @classmethod
    def digest(cls, day: date) -> DeliveryKey:
        return cls(day)

    @classmethod
    def dm(cls, subscription: int, day: date) -> DeliveryKey:
        return cls(day, subscription)

    @classmethod
    def fired(cls, tz: str, fire: datetime, subscription: int | None = None) -> DeliveryKey:
        """The key of the fire instant *fire* of a schedule in zone *tz*."""
        return cls(fire.astimezone(ZoneInfo(tz)).date(), subscription)

    @property
    def kind(self) -> KeyKind:
        return "digest" if self.subscription is None else "sub"

    def __str__(self) -> str:
        if self.subscription is None:
            return f"digest:{self.day.isoformat()}"
        return f"sub:{self.subscription}:{self.day.isoformat()}"

    @classmethod
    def parse(cls, text: str) -> DeliveryKey:
        """The key written as *text* (only its canonical form, so ``str(parse(t)) == t``);
        ``ValueError`` if it is not one."""
        found = _KEY.fullmatch(text)
        if found is None:
            raise ValueError(f"not a delivery key: {text[:40]!r}")
        sub, day = found.groups()
        return cls(date.fromisoformat(day), int(sub) if sub else None)

    @staticmethod
    def text_range(kind: KeyKind) -> tuple[str, str]:
        """``(low, high)``: every key of *kind*, as text, sorts in ``[low, high)`` (a range
        scan on the ledger's (target, key) index)."""
        return (f"{kind}:", f"{kind};")  # ';' sorts right after ':'


@dataclass(frozen=True, slots=True)
class Content:
    """What a delivery carries, decided once (see :mod:`bot.delivery.compose`)."""

    kind: ContentKind
    papers: tuple[str, ...] = ()
    day: str | None = None  # the Daily Papers day a digest covered
    more: int = 0  # matching papers left out of a DM
    detail: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "kind": self.kind,
                "papers": list(self.papers),
                "day": self.day,
                "more": self.more,
                "detail": self.detail,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Content:
        """The content stored as *text*; ``ValueError`` if it is not one."""
        data = json.loads(text)
        kind = data.get("kind") if isinstance(data, dict) else None
        if kind not in CONTENT_KINDS:
            raise ValueError(f"not a delivery content: {text[:80]!r}")
        day = data.get("day")
        return cls(
            kind=kind,
            papers=tuple(str(p) for p in data.get("papers") or ()),
            day=str(day) if day is not None else None,
            more=int(data.get("more") or 0),
            detail=str(data.get("detail") or ""),
        )

    @property
    def speaks(self) -> bool:
        """Whether anything is posted (``silent`` is recorded, never sent)."""
        return self.kind != "silent"


@dataclass(frozen=True, slots=True)
class Target:
    """Where deliveries go: a channel, or a user's DM, on one platform and workspace."""

    id: int
    platform: str
    workspace: str
    kind: Kind
    address: str
    disabled_at: datetime | None = None
    disabled_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One ledger row."""

    id: int
    target_id: int
    key: DeliveryKey
    due_at: datetime
    state: State
    attempts: int
    claimed_at: datetime | None
    lease_until: datetime | None  # a claim holds the row until then
    claim_token: str | None  # the fencing token of the current claim
    next_try_at: datetime | None
    sent_at: datetime | None
    message_id: str | None
    last_error: str | None
    content: Content | None = None  # once composed
