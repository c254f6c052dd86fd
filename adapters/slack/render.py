"""Render the core's neutral :class:`Reply` as Slack Block Kit messages.

Convert-out only: no I/O, no business logic. One reply becomes one or more
:class:`SlackMessage` values, each inside every Slack limit (:data:`MAX_BLOCKS` blocks,
3000-char sections, 2000-char fields, 150-char headers, 75-char button text, 3000-char URLs,
40,000-char top-level text) plus our own per-message character budget (Slack answers
``msg_blocks_too_long`` for large messages well under the per-block limits). A card is never
split across messages unless it alone breaks a limit.

Safety: every piece of paper or user text goes through :func:`escape` (``&``, ``<``, ``>``
and an invisible word joiner after a leading ``@``), and every ``mrkdwn`` object is sent with
``verbatim: true`` so Slack does not auto-link channel names or parse mentions. The only
mention this module ever writes is ``<@U…>`` for the user who shared a card, built from a
validated Slack user id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypedDict

from bot import Action, ActionKind, Card, Link, Reply, shorten

Block = dict[str, object]  # one Block Kit element, as Slack's JSON

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_HEADER = 150
MAX_BUTTON_TEXT = 75
MAX_URL = 3000
MAX_VALUE = 2000
MAX_ALT_TEXT = 2000
MAX_TEXT = 40_000
MESSAGE_BUDGET = 12_000  # characters of block text per message; see module docstring
FALLBACK_BUDGET = 3_000  # the top-level text is a notification line, not the message

ACTION_IDS: dict[ActionKind, str] = {
    "more": "papers_more",
    "show": "papers_show",
    "share": "papers_share",
    "subscribe": "papers_subscribe",
}
LINK_ACTION_PREFIX = "papers_link_"

_AT = re.compile(r"(?<!\w)@(?=\w)")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_TOKENS = re.compile(r"\S+|\s+")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
_URL = re.compile(r"https?://[^\s<>|\"]+")


class MessagePayload(TypedDict):
    """A message's arguments for ``chat.postMessage`` or ``respond()``."""

    text: str
    blocks: list[Block]


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One Slack message: the top-level ``text`` fallback and its ``blocks``."""

    text: str
    blocks: tuple[Block, ...]
    papers: tuple[str, ...] = ()  # ids of the cards it shows (for resuming a post)

    def payload(self) -> MessagePayload:
        """Keyword arguments for ``chat.postMessage`` or ``respond()``."""
        return {"text": self.text, "blocks": list(self.blocks)}


def escape(text: str) -> str:
    """Escape *text* for Slack: ``&``, ``<``, ``>``, and defuse ``@here``-style words."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _AT.sub("@\u2060", text)


def fit(text: str, limit: int) -> str:
    """*text* escaped and cut at a word boundary so that the escaped form has ≤ *limit* chars."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    best, low, high = "…", 1, len(text) - 1  # binary search: the longest cut that fits
    while low <= high:
        middle = (low + high) // 2
        candidate = escape(shorten(text, middle))
        if len(candidate) <= limit:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def safe_url(url: str | None) -> str | None:
    """*url* if it is a plain http(s) URL within Slack's length limit, else ``None``."""
    if url and len(url) <= MAX_URL and _URL.fullmatch(url):
        return url
    return None


def user_mention(user_id: str | None) -> str | None:
    """``<@U123>`` for a well-formed Slack user id, else ``None`` (never from free text)."""
    return f"<@{user_id}>" if user_id and _USER_ID.fullmatch(user_id) else None


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _plain(text: str) -> Block:
    return {"type": "plain_text", "text": text, "emoji": False}


def _section(text: str, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": _mrkdwn(text)}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _html(char: str) -> str:
    return _HTML.get(char, char)


def _chunks(text: str, limit: int) -> list[str]:
    """Escaped *text* in pieces of ≤ *limit* chars, cut between words where possible.

    One pass over the text (linear time, whatever the text is): a word longer than a whole
    piece is cut between characters, after its ``@`` words are defused as a whole, so no
    cut can reassemble a mention."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal current, size
        piece = "".join(current).strip()
        if piece:
            pieces.append(piece)
        current, size = [], 0

    for token in _TOKENS.findall(text.strip()):
        escaped = escape(token)
        if size + len(escaped) <= limit:
            current.append(escaped)
            size += len(escaped)
        elif len(escaped) <= limit:
            flush()
            if not token.isspace():
                current, size = [escaped], len(escaped)
        else:
            for char in _AT.sub("@\u2060", token):
                piece = _html(char)
                if size + len(piece) > limit:
                    flush()
                current.append(piece)
                size += len(piece)
    flush()
    return pieces


def button(action: Action) -> Block | None:
    """A Show / Share / More / Subscribe button carrying the core's opaque value."""
    if not action.value or len(action.value) > MAX_VALUE:
        return None
    block: Block = {
        "type": "button",
        "action_id": ACTION_IDS[action.kind],
        "text": _plain(fit(action.label, MAX_BUTTON_TEXT)),
        "value": action.value,
    }
    if action.kind == "more":
        block["style"] = "primary"
    return block


def link_button(link: Link, index: int) -> Block | None:
    """A URL button (arXiv, PDF, Code, Project page); ``None`` for an unusable URL."""
    url = safe_url(link.url)
    if url is None:
        return None
    return {
        "type": "button",
        "action_id": f"{LINK_ACTION_PREFIX}{index}",
        "text": _plain(fit(link.label, MAX_BUTTON_TEXT)),
        "url": url,
    }


def card_blocks(card: Card) -> list[Block]:
    """One card: title linked to the paper page, authors, summary, abstract (``show``),
    why it ranks, then link and action buttons."""
    url = safe_url(card.url)
    title = fit(card.title.strip() or card.paper_id, 600)
    head = f"*<{url.replace('&', '&amp;')}|{title}>*" if url else f"*{title}*"
    byline = fit(card.authors, 500)
    if card.organization:
        byline += " · " + fit(card.organization, 100)
    text = f"{head}\n{byline}"
    if not (card.abstract and card.abstract.startswith(card.summary.rstrip("…"))):
        text += "\n" + fit(card.summary, MAX_SECTION - len(text) - 1)
    thumb = safe_url(card.thumbnail)
    accessory: Block | None = None
    if thumb and card.abstract is None:  # a picture helps a list; `show` is about the text
        accessory = {"type": "image", "image_url": thumb, "alt_text": fit(card.title, 200)}
    blocks = [_section(text, accessory)]
    if card.abstract:
        blocks += [_section(piece) for piece in _chunks(card.abstract, MAX_SECTION)]
    blocks.append(_context(f"{fit(card.why, 1000)} · `{fit(card.paper_id, 40)}`"))
    buttons = [b for i, link in enumerate(card.links) if (b := link_button(link, i))]
    buttons += [b for a in card.actions if (b := button(a))]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons[:25]})
    return blocks


def _heading(reply: Reply, shared_by: str | None) -> list[Block]:
    mention = user_mention(shared_by)
    if mention is not None:
        return [_context(f"Shared by {mention}")]
    if reply.is_error:
        return [_section(":warning: " + fit(reply.text or "Sorry.", MAX_SECTION - 12))]
    header = fit(reply.text or "papersbot", MAX_HEADER)
    blocks: list[Block] = [{"type": "header", "text": _plain(header)}]
    if len(header) < len(escape(reply.text)):  # cut short: keep the whole line below it
        blocks.append(_section(fit(reply.text, MAX_SECTION)))
    return blocks


def _size(node: object) -> int:
    """Characters of text a block carries (what Slack's size limits count)."""
    if isinstance(node, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else _size(v) for k, v in node.items()
        )
    if isinstance(node, list):
        return sum(_size(b) for b in node)
    return 0


@dataclass(slots=True)
class _Unit:
    """Blocks that belong together on one message (a card), and the card they show."""

    blocks: list[Block]
    card: Card | None = None


def _pack(units: list[_Unit]) -> list[list[_Unit]]:
    """Group units into messages of ≤ :data:`MAX_BLOCKS` blocks and ≤ the char budget."""
    pages: list[list[_Unit]] = [[]]
    count = size = 0  # blocks and characters on the last page so far
    for unit in units:
        parts = [(unit, _size(unit.blocks))]
        if len(unit.blocks) > MAX_BLOCKS or parts[0][1] > MESSAGE_BUDGET:
            # too big to keep together
            parts = [(_Unit([b], unit.card), _size(b)) for b in unit.blocks]
        for part, part_size in parts:
            if pages[-1] and (
                count + len(part.blocks) > MAX_BLOCKS or size + part_size > MESSAGE_BUDGET
            ):
                pages.append([])
                count = size = 0
            pages[-1].append(part)
            count, size = count + len(part.blocks), size + part_size
    return pages


def _fallback(head: str, cards: list[Card], limit: int = FALLBACK_BUDGET) -> str:
    """The top-level ``text``: the heading and one line per card, within *limit*."""
    lines = [head] + ["• " + fit(c.title, 300) for c in cards if fit(c.title, 500) != head]
    text = "\n".join(lines)
    while len(text) > limit and len(lines) > 1:
        lines.pop()
        text = "\n".join(lines) + "\n…"
    return text[:limit]


def render_reply(reply: Reply, *, shared_by: str | None = None) -> list[SlackMessage]:
    """*reply* as one or more Slack messages, in order (usually exactly one).

    *shared_by* is the Slack user id of whoever shared a card publicly: the heading then
    reads ``Shared by <@U…>``. Reply-level buttons (More) end the last message.
    """
    units = [_Unit(_heading(reply, shared_by))]
    if reply.notes:
        lines = "\n".join("• " + n for n in reply.notes)
        units.append(_Unit([_section(piece) for piece in _chunks(lines, MAX_SECTION)]))
    units += [_Unit(card_blocks(card), card) for card in reply.cards]
    buttons = [b for a in reply.actions if (b := button(a))]
    if buttons:
        units.append(_Unit([{"type": "actions", "elements": buttons[:25]}]))
    mention = user_mention(shared_by)
    head = f"Shared by {mention}" if mention else fit(reply.text, 500)
    pages = _pack(units)
    messages = []
    for number, page in enumerate(pages, start=1):
        cards = list(dict.fromkeys(u.card for u in page if u.card is not None))
        text = _fallback(head, cards)
        if len(pages) > 1:
            text = f"({number}/{len(pages)}) {text}"
        blocks = tuple(b for u in page for b in u.blocks)
        messages.append(SlackMessage(text, blocks, tuple(c.paper_id for c in cards)))
    return messages
