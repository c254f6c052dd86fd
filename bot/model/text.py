"""Text for people and text from people: ``3 h ago``, ``Mon 24 Aug 08:00 Europe/Berlin (in
17 h)``, and :func:`valid_text`, which every edge applies to text it lets in."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo


def ago(then: datetime, now: datetime) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, ``2 days ago``."""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def when_text(instant: datetime, tz: str, now: datetime) -> str:
    """``Mon 24 Aug 08:00 Europe/Berlin (in 17 h)``."""
    local = instant.astimezone(ZoneInfo(tz))
    seconds = int((instant - now).total_seconds())
    if seconds < 3600:
        soon = f"in {max(1, seconds // 60)} min"
    elif seconds < 2 * 86400:
        soon = f"in {seconds // 3600} h"
    else:
        soon = f"in {seconds // 86400} days"
    return f"{local:%a %d %b %H:%M} {tz} ({soon})"


_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_T = TypeVar("_T")


def valid_text(text: str) -> str:
    """*text* as every layer can take it: a lone surrogate (which SQLite, JSON encoders and
    the platforms refuse) becomes U+FFFD, and NUL and the other C0 controls except tab,
    newline and carriage return are dropped. Applied where text enters (sources, commands)."""
    if text.isascii() and text.isprintable():
        return text
    return _CONTROL.sub("", _SURROGATE.sub("\ufffd", text))


def valid_fields(value: _T) -> _T:
    """A frozen dataclass (a command, its options) with :func:`valid_text` applied to every
    string in it, nested dataclasses and tuples of strings included."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    changes: dict[str, object] = {}
    for field in dataclasses.fields(value):
        old = getattr(value, field.name)
        new: object = old
        if isinstance(old, str):
            new = valid_text(old)
        elif isinstance(old, tuple):
            new = tuple(valid_text(x) if isinstance(x, str) else valid_fields(x) for x in old)
        elif dataclasses.is_dataclass(old):
            new = valid_fields(old)
        if new != old:
            changes[field.name] = new
    return dataclasses.replace(value, **changes) if changes else value
