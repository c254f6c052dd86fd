"""Render the core's neutral :class:`Reply` as Discord messages: content, embeds and buttons.

Convert-out only: no I/O, no event loop. One reply becomes one or more :class:`DiscordMessage`
values, each inside every Discord limit: content 2000, embed title 256, description 4096,
footer 2048 (ours are one short line; cards use no fields, so 25 × 256/1024 holds trivially),
10 embeds and 6000 embed characters per message, 5 rows of 5 buttons, 80-char labels,
100-char custom ids, 512-char link URLs. A long reply is split into several messages (a card
is never split); text is cut only at word boundaries.

Safety: paper and user text (and the reply's heading line, which can echo either) goes
through :func:`escape` (:func:`escape_markdown`, which says why it is not discord.py's, then
``discord.utils.escape_mentions`` with ``<@``/``<#`` defused too); the core's help and status
notes through :func:`escape_core` (the same, but their ``code spans`` survive, mentions still
defused), and every send uses ``AllowedMentions.none()`` besides. The only mention this
module writes is the *heading* an adapter passes in (``Shared by <@id>``), which pings
nobody under ``AllowedMentions.none()``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import discord

from bot import Action, Card, Link, Reply, shorten

MAX_CONTENT = 2000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FOOTER_USED = 300  # of Discord's 2048: a card's footer is why it ranks, and its id
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_BUTTONS = 25
PER_ROW = 5
MAX_LABEL = 80
MAX_CUSTOM_ID = 100
MAX_LINK_URL = 512
MAX_EMBED_URL = 2048

CUSTOM_ID_PREFIX = "pb:"
COLOUR = discord.Colour(0xFFD21E)  # Hugging Face yellow

_SHORT_LABELS = {"show": "Show", "share": "Share", "subscribe": "Subscribe"}
_URL = re.compile(r"https?://[^\s<>\"]+")
_CODE_SPAN = re.compile(r"(`[^`\n]+`)")
_MENTION_SYNTAX = re.compile(r"<([@#])")
_URL_TOKEN = re.compile(r"(https?://[^\s<>*`~|]+)")  # markdown marks end a URL here
_SPECIAL = re.compile(r"([\\*_`~|\[\]])")
_LINE_MARK = re.compile(r"^(\s*)([>#-])", re.MULTILINE)
_LINE_NUMBER = re.compile(r"^(\s*\d+)\.(?=\s)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Button:
    """A button: either ours (``custom_id`` starts with ``pb:``) or a link (``url``)."""

    label: str
    custom_id: str | None = None
    url: str | None = None
    row: int = 0


@dataclass(frozen=True, slots=True)
class DiscordMessage:
    """One message as sent: ``content`` (may be ``None``), embeds and buttons."""

    content: str | None = None
    embeds: tuple[discord.Embed, ...] = ()
    buttons: tuple[Button, ...] = field(default=())


def escape_markdown(text: str) -> str:
    """Backslash-escape Discord markdown in *text*, leaving bare URLs intact.

    Not ``discord.utils.escape_markdown``: its masked-link pattern ``\\[.+\\]\\(.+\\)`` is
    greedy, so a line with two ``[x](y)`` links keeps everything between the first ``[`` and
    the last ``)`` unescaped (found by the hostile-paper test). Here every markdown character
    outside a URL is escaped on its own, and line starts (quote, heading, list) too.
    """
    parts = _URL_TOKEN.split(text)
    out = "".join(part if i % 2 else _SPECIAL.sub(r"\\\1", part) for i, part in enumerate(parts))
    out = _LINE_MARK.sub(r"\1\\\2", out)
    return _LINE_NUMBER.sub(r"\1\\.", out)


def defuse_mentions(text: str) -> str:
    """``@everyone``/``@here``/raw ids (``discord.utils.escape_mentions``) and ``<@…>``/``<#…>``."""
    return _MENTION_SYNTAX.sub("<\u200b\\1", discord.utils.escape_mentions(text))


def escape(text: str) -> str:
    """Paper or user text made inert: no markdown, no mention can render or ping."""
    return defuse_mentions(escape_markdown(text))


def escape_core(text: str) -> str:
    """The core's notes: like :func:`escape`, but `code spans` stay code (mentions defused)."""
    parts = _CODE_SPAN.split(text)
    out = [part if i % 2 else escape_markdown(part) for i, part in enumerate(parts)]
    return defuse_mentions("".join(out))


def fit(text: str, limit: int, escaper: Callable[[str], str] = escape) -> str:
    """*text* escaped and cut at a word boundary so that the escaped form has ≤ *limit* chars."""
    cut = text
    while True:
        escaped = escaper(cut)
        if len(escaped) <= limit:
            return escaped
        cut = shorten(cut, max(1, len(cut) - (len(escaped) - limit)))


def safe_url(url: str | None, limit: int = MAX_EMBED_URL) -> str | None:
    """*url* if it is a plain http(s) URL within *limit* characters, else ``None``."""
    if url and len(url) <= limit and _URL.fullmatch(url):
        return url
    return None


def custom_id(value: str) -> str | None:
    """The persistent ``custom_id`` for an action value, or ``None`` if it would not fit."""
    cid = CUSTOM_ID_PREFIX + value
    return cid if len(cid) <= MAX_CUSTOM_ID else None


def _masked(link: Link) -> str | None:
    url = safe_url(link.url, MAX_LINK_URL)
    if url is None:
        return None
    # Parentheses and spaces would end the markdown link early; percent-encode them.
    url = url.replace("(", "%28").replace(")", "%29")
    return f"[{escape(link.label)}]({url})"


def links_line(links: Iterable[Link]) -> str:
    """``[arXiv](…) · [PDF](…) · …`` for the links that are safe to show."""
    return " · ".join(m for m in (_masked(link) for link in links) if m)


def card_embed(
    card: Card, *, number: int | None = None, inline_links: bool = True
) -> discord.Embed:
    """One card as an embed; *number* prefixes the title (lists), *inline_links* adds the links.

    Worst case by construction: title 256 + description 4096 + footer 300 < 6000.
    """
    prefix = f"{number}. " if number is not None else ""
    title = prefix + fit(card.title, MAX_TITLE - len(prefix))
    byline = f"*{fit(card.authors, 400)}*"
    if card.organization:
        byline += f" · {fit(card.organization, 150)}"
    tail = links_line(card.links) if inline_links else ""  # ≤ 4 × ~530
    parts = [byline]
    if not (card.abstract and card.abstract.startswith(card.summary.rstrip("…"))):
        parts.append(fit(card.summary, 1000))  # a full card skips a summary that opens its abstract
    if card.abstract:
        room = MAX_DESCRIPTION - sum(len(p) + 2 for p in parts) - len(tail) - 16
        if room >= 100:
            parts.append("**Abstract**\n" + fit(card.abstract, room))
    if tail:
        parts.append(tail)
    embed = discord.Embed(
        title=title, url=safe_url(card.url), description="\n\n".join(parts), colour=COLOUR
    )
    # Footers render no markdown and no mentions, so they are not escaped.
    embed.set_footer(text=shorten(f"{card.why} · {card.paper_id}", MAX_FOOTER_USED))
    return embed


def _content(reply: Reply, heading: str | None) -> list[str]:
    """The content chunks: heading (or the reply's text), then notes; each ≤ 2000 chars."""
    # The reply's text can echo a paper title or the user's query: escape it all. Notes are
    # the core's own help and status lines, whose `code spans` are meant as code.
    head = heading if heading is not None else escape(reply.text)
    if reply.is_error:
        head = f"⚠️ {head}"
    elif reply.cards and heading is None:
        head = f"**{head}**"
    lines = [head, *(f"• {escape_core(note)}" for note in reply.notes)]
    chunks: list[str] = []
    current = ""
    for line in lines:
        for piece in _split_line(line):
            if current and len(current) + 1 + len(piece) > MAX_CONTENT:
                chunks.append(current)
                current = piece
            else:
                current = f"{current}\n{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


def _split_line(line: str) -> list[str]:
    """A line cut into pieces of ≤ 2000 chars at spaces (a word longer than that is split)."""
    pieces: list[str] = []
    while len(line) > MAX_CONTENT:
        cut = line.rfind(" ", MAX_CONTENT // 2, MAX_CONTENT)
        cut = cut if cut > 0 else MAX_CONTENT
        pieces.append(line[:cut])
        line = line[cut:].lstrip(" ")
    return [*pieces, line]


def _action_buttons(actions: Iterable[Action], number: int | None) -> list[Button]:
    buttons = []
    for action in actions:
        cid = custom_id(action.value)
        if cid is None:
            continue
        label = action.label
        if number is not None:  # "Share to channel #7" is long; a list row needs short labels
            label = f"{_SHORT_LABELS.get(action.kind, action.label)} #{number}"
        buttons.append(Button(label=label[:MAX_LABEL], custom_id=cid))
    return buttons


def _link_buttons(links: Iterable[Link]) -> list[Button]:
    """Link buttons (no interaction; Discord opens the URL)."""
    found = ((link.label, safe_url(link.url, MAX_LINK_URL)) for link in links)
    return [Button(label=label[:MAX_LABEL], url=url) for label, url in found if url]


def _rows(buttons: list[Button]) -> tuple[Button, ...]:
    return tuple(
        Button(b.label, b.custom_id, b.url, row=i // PER_ROW) for i, b in enumerate(buttons)
    )


def render_reply(reply: Reply, *, heading: str | None = None) -> list[DiscordMessage]:
    """*reply* as one or more messages, in reading order.

    Cards are packed greedily (≤ 10 embeds, ≤ 6000 embed characters, ≤ 25 buttons per
    message); the reply's own buttons (More, Subscribe) go on the last message. A single
    card gets link buttons and its thumbnail; in a list, links are inline and buttons are
    numbered.
    *heading* replaces the reply's text and must already be safe Discord markup (the
    adapter's own attribution line, e.g. ``Shared by <@123>``).
    """
    tail = _action_buttons(reply.actions, None)
    single = len(reply.cards) == 1
    groups: list[tuple[list[discord.Embed], list[Button]]] = [([], [])]
    total = 0
    for index, card in enumerate(reply.cards, start=reply.start):  # 6 on page 2
        number = None if single else index
        embed = card_embed(card, number=number, inline_links=not single)
        buttons = _action_buttons(card.actions, number)
        if single:
            buttons = _link_buttons(card.links) + buttons
            if thumb := safe_url(card.thumbnail):
                embed.set_thumbnail(url=thumb)
        embeds, current = groups[-1]
        if embeds and (
            len(embeds) >= MAX_EMBEDS
            or total + len(embed) > MAX_EMBED_TOTAL
            or len(current) + len(buttons) + len(tail) > MAX_BUTTONS
        ):
            groups.append(([], []))
            total = 0
        groups[-1][0].append(embed)
        groups[-1][1].extend(buttons)
        total += len(embed)
    groups[-1][1].extend(tail)
    chunks = _content(reply, heading) or ["…"]
    messages = [DiscordMessage(content=chunk) for chunk in chunks[:-1]]
    for i, (embeds, buttons) in enumerate(groups):
        messages.append(
            DiscordMessage(
                content=chunks[-1] if i == 0 else None,
                embeds=tuple(embeds),
                buttons=_rows(buttons),
            )
        )
    return messages
