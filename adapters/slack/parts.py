"""Reading back what was posted: the parts of a multi-message post (from their message
metadata), Slack's explanation of a refusal, and a message's blocks without its images (to
post again when Slack cannot fetch a thumbnail)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from adapters.slack.payloads import obj
from adapters.slack.render import Block


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


@dataclass(frozen=True, slots=True)
class PostedParts:
    """The parts of one tagged post found in a channel: part number → message ``ts``."""

    parts: dict[int, str]
    total: int  # how many parts the post has (from its metadata), 0 if none was found

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
