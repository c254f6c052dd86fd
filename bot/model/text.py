"""Times and durations for people: ``3 h ago``, ``Mon 24 Aug 08:00 Europe/Berlin (in 17 h)``."""

from __future__ import annotations

from datetime import datetime
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
