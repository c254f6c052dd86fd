"""Reading back what was posted: the parts of a multi-message post (from their message
metadata), Slack's explanation of a refusal, and a message's blocks without its images (to
post again when Slack cannot fetch a thumbnail)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from adapters.slack.payloads import obj
from adapters.slack.render import Block, SlackMessage, render_reply
from bot import Reply


def strings(value: object) -> list[str]:
    """The strings of a JSON list (Slack's ``response_metadata.messages``)."""
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def has_images(blocks: Sequence[Block]) -> bool:
    return any(
        block.get("type") == "image" or obj(block.get("accessory")).get("type") == "image"
        for block in blocks
    )


def without_images(blocks: Sequence[Block]) -> list[Block]:
    """*blocks* without image blocks and image accessories (thumbnails)."""
    kept: list[Block] = []
    for block in blocks:
        if block.get("type") == "image":
            continue
        if obj(block.get("accessory")).get("type") == "image":
            block = {key: value for key, value in block.items() if key != "accessory"}
        kept.append(block)
    return kept


def part_number(value: object) -> int:
    """A part number from message metadata (``0`` when missing or not a small integer)."""
    return value if isinstance(value, int) and 0 < value <= 1000 else 0


def paper_ids(value: object) -> tuple[str, ...] | None:
    """The paper ids a part's metadata lists (``None``: a part posted by an older release,
    which did not list them)."""
    return tuple(value.split()) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Resume:
    """What earlier attempts posted of one multi-part post: the ``ts`` of parts 1..k, in
    order, and the papers those parts showed. A resumed send posts the *other* papers, so a
    card whose text changed meanwhile (a new upvote count) cannot move across the seam and
    be posted twice or never. ``legacy``: some part did not list its papers (an older
    release posted it); then the rest is skipped by count, as that release did."""

    ts: tuple[str, ...] = ()
    papers: frozenset[str] = frozenset()
    legacy: bool = False


@dataclass(frozen=True, slots=True)
class PostedParts:
    """The parts of one tagged post found in a channel: part number → message ``ts`` and
    the paper ids it listed."""

    parts: dict[int, str]
    total: int  # parts in all, as the highest-numbered part found says; 0 if none was found
    papers: dict[int, tuple[str, ...] | None] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.total > 0 and all(n in self.parts for n in range(1, self.total + 1))

    @property
    def first(self) -> str | None:
        return self.parts.get(1)

    @property
    def prefix(self) -> tuple[str, ...]:
        """The ``ts`` of parts 1, 2, ... up to the first missing one (what a resumed send
        skips: parts go out in order)."""
        out: list[str] = []
        while (ts := self.parts.get(len(out) + 1)) is not None:
            out.append(ts)
        return tuple(out)

    @property
    def resume(self) -> Resume:
        """The :class:`Resume` of the prefix."""
        prefix = self.prefix
        listed = [self.papers.get(n) for n in range(1, len(prefix) + 1)]
        papers = frozenset(paper for ids in listed if ids is not None for paper in ids)
        return Resume(prefix, papers, legacy=any(ids is None for ids in listed))


def remaining(reply: Reply, shared_by: str | None, already: Resume) -> list[SlackMessage]:
    """The messages still to post of *reply*, given what *already* went out."""
    if not already.ts:
        return render_reply(reply, shared_by=shared_by)
    if already.legacy:  # parts from an older release: skip them by count
        return render_reply(reply, shared_by=shared_by)[len(already.ts) :]
    rest = tuple(card for card in reply.cards if card.paper_id not in already.papers)
    if not rest:
        return []
    more = dataclasses.replace(reply, text=f"{reply.text} (continued)", cards=rest, notes=())
    return render_reply(more, shared_by=shared_by)
