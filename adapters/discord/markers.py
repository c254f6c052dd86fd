"""How a scheduled post is made idempotent and found again: nonces and markers.

Each part of a reply is sent with a nonce derived from the caller's key and the part's index
(:func:`part_nonce`), and discord.py 2.7 sends ``enforce_nonce: true`` with every nonce, so
a retry of the same key within Discord's nonce window (minutes) returns the message already
posted instead of posting it twice. Past that window only a marker can find it: a keyed send
ends each part with :func:`marker` (``d:<8 hex of sha256(key)>``, plus ``i/n`` when a reply
takes several messages) in the last embed's footer, or as a subtext line when the message
has no embed with room (:func:`tagged`); :func:`marks` reads them back from a message.
"""

from __future__ import annotations

import hashlib
import logging
import re

import discord

from adapters.discord.render import MAX_CONTENT, MAX_EMBED_TOTAL
from adapters.discord.views import SendKwargs

log = logging.getLogger(__name__)

NONCE_CHARS = 25  # Discord's limit for a string nonce
MAX_FOOTER = 2048
_MARK = re.compile(r"\b(d:[0-9a-f]{8})(?: (\d+)/(\d+))?")


class PostKwargs(SendKwargs, total=False):
    """Keyword arguments of ``Messageable.send`` for one part of a scheduled post."""

    nonce: str


def part_nonce(key: str, index: int) -> str:
    """A stable 25-character nonce for part *index* of the delivery identified by *key*."""
    return hashlib.sha256(f"{key}\x00{index}".encode()).hexdigest()[:NONCE_CHARS]


def marker(key: str) -> str:
    """The short, findable tag of delivery *key*: ``d:`` and 8 hex digits of its SHA-256."""
    return "d:" + hashlib.sha256(key.encode()).hexdigest()[:8]


def tagged(kwargs: PostKwargs, tag: str) -> PostKwargs:
    """*kwargs* of one message with *tag* appended to its last embed's footer, or else (no
    embed, or no room under the 6000-character embed total) as a subtext line of content."""
    embeds = kwargs.get("embeds") or []
    if embeds:
        last = embeds[-1]
        old = last.footer.text or ""
        text = f"{old} · {tag}" if old else tag
        if len(text) <= MAX_FOOTER and sum(map(len, embeds)) + len(text) - len(old) <= (
            MAX_EMBED_TOTAL
        ):
            copy = last.copy()  # render's embed objects stay untouched
            copy.set_footer(text=text, icon_url=last.footer.icon_url)
            return {**kwargs, "embeds": [*embeds[:-1], copy]}
    content = kwargs.get("content") or ""
    text = f"{content}\n-# {tag}" if content else f"-# {tag}"
    if len(text) <= MAX_CONTENT:
        return {**kwargs, "content": text}
    log.warning("no room for marker %s; this message cannot be found again", tag)
    return kwargs


def marks(message: discord.Message) -> list[tuple[str, int, int]]:
    """The delivery markers on *message*: ``(marker, part, parts)``, parts counted from 1."""
    texts = [message.content, *(embed.footer.text or "" for embed in message.embeds)]
    return [(m[1], int(m[2] or 1), int(m[3] or 1)) for text in texts for m in _MARK.finditer(text)]
