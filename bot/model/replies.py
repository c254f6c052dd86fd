"""Neutral replies: what the core says, before any adapter renders it for a platform.

Text here is plain (no markup); adapters escape it for their target and must make sure
nothing in it can mention anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ActionKind = Literal["more", "show", "share", "subscribe"]


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Action:
    """A button. ``value`` is an opaque id (at most 100 chars) that comes back when pressed."""

    kind: ActionKind
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Card:
    """One paper as every platform shows it."""

    paper_id: str
    title: str
    url: str
    authors: str
    summary: str
    why: str
    links: tuple[Link, ...] = ()
    thumbnail: str | None = None
    organization: str | None = None
    abstract: str | None = None  # only for `show`
    actions: tuple[Action, ...] = ()
    all_authors: tuple[str, ...] = ()  # only for `show`: every author, where `authors` stops


@dataclass(frozen=True, slots=True)
class Reply:
    """A whole answer: a heading line, cards, buttons and who may see it."""

    text: str
    cards: tuple[Card, ...] = ()
    actions: tuple[Action, ...] = ()
    notes: tuple[str, ...] = ()
    ephemeral: bool = True
    is_error: bool = False
    start: int = 1  # the number of the first card in a numbered list (6 on a second page)
