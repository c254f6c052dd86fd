"""Button values: compact, self-describing ids that survive a restart and fit every platform.

    more:<token>:<offset>   next page of a saved search (token from Store.save_search)
    show:<paper id>         one paper in full
    share:<paper id>        post a card publicly
    subscribe:<token>       subscribe to a saved search (token from Store.save_search)

Discord limits a ``custom_id`` to 100 characters and Slack a button ``value`` to 2000; the
longest value here is well under 100. Values come back from the platform untrusted: a stale
or forged one is rejected with a polite :class:`UserInputError`, never a crash.
"""

from __future__ import annotations

import re

from bot.errors import UserInputError
from bot.grammar.commands import Command, More, Share, Show, SubscribeSaved
from bot.model.ids import canonical_id
from bot.model.replies import ActionKind

MAX_OFFSET = 1000
_TOKEN = re.compile(r"[0-9a-f]{16}")
_OFFSET = re.compile(r"[0-9]{1,4}")
STALE = "That button has expired or is not valid any more; run the command again."


def encode_action(kind: ActionKind, *parts: str | int) -> str:
    value = ":".join([kind, *(str(p) for p in parts)])
    if len(value) > 100:
        raise ValueError(f"action value too long: {len(value)} chars")
    return value


def decode_action(value: str) -> Command:
    """The command a button value stands for; :class:`UserInputError` if it is not valid."""
    kind, _, rest = value.partition(":")
    if kind in ("show", "share"):
        pid = canonical_id(rest) if len(rest) <= 40 else None
        if pid is None:
            raise UserInputError(STALE)
        return Show(pid) if kind == "show" else Share(pid)
    if kind == "more":
        token, _, offset = rest.partition(":")
        if _TOKEN.fullmatch(token) and _OFFSET.fullmatch(offset) and int(offset) <= MAX_OFFSET:
            return More(token, int(offset))
    if kind == "subscribe" and _TOKEN.fullmatch(rest):
        return SubscribeSaved(rest)
    raise UserInputError(STALE)
