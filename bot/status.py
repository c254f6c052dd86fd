"""``/papers status``: what the bot knows and how fresh it is.

A source is *stale* when its last successful fetch is older than :data:`STALE_AFTER`, or
it has never succeeded; the reply then says so rather than implying a quiet day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.replies import Reply
from bot.store import Store

STALE_AFTER = timedelta(hours=36)
SOURCE_NAMES = {"hf": "Hugging Face", "arxiv": "arXiv", "snapshot": "Recorded snapshot"}


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


async def status_reply(store: Store, *, now: datetime) -> Reply:
    """Store size, latest day, and per source its last fetch and freshness."""
    count = await store.count_papers()
    day = await store.latest_day()
    notes = [f"Papers stored: {count:,}; latest Daily Papers day: {day or 'none'}"]
    runs = await store.last_runs()
    if not runs:
        notes.append("No source has been fetched yet.")
    for source, (last, last_ok) in sorted(runs.items()):
        name = SOURCE_NAMES.get(source, source)
        if last_ok is None:
            line = f"{name}: never fetched successfully"
        else:
            line = f"{name}: last success {ago(last_ok.finished_at, now)} ({last_ok.papers} papers)"
            if now - last_ok.finished_at > STALE_AFTER and source != "snapshot":
                line += ", stale"
        if last is not None and not last.ok:
            line += f"; last attempt {ago(last.finished_at, now)} failed: {last.error}"
        notes.append(line)
    return Reply(text="papersbot status", notes=tuple(notes))
