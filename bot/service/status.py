"""``/papers status``: what the bot knows, how fresh it is, and what is scheduled here.

A source is *stale* when its last successful fetch is older than :data:`STALE_AFTER`, or
it has never succeeded; the reply then says so rather than implying a quiet day.
:func:`feed_problem` is the same judgement for scheduled digests, which then say
"source unavailable" instead of pretending the day was quiet.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.errors import shown
from bot.model.caller import Caller
from bot.model.replies import Reply
from bot.store import Store

STALE_AFTER = timedelta(hours=36)
# Daily Papers publishes every weekday; more weekdays than this without a new day is an
# outage (or an empty source), not a quiet spell.
MAX_WEEKDAYS_BEHIND = 2
SOURCE_NAMES = {"hf": "Hugging Face", "arxiv": "arXiv", "snapshot": "Recorded snapshot"}
FEED_SOURCES = ("hf", "snapshot")  # what fills Daily Papers days


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


def weekdays_between(older: date, newer: date) -> int:
    """How many weekdays lie in ``(older, newer]``."""
    count, day = 0, older
    while day < newer and count < 60:
        day += timedelta(days=1)
        count += day.weekday() < 5
    return count


async def feed_problem(store: Store, *, now: datetime) -> str | None:
    """Why the Daily Papers feed cannot be trusted right now, or ``None`` if it can.

    Problems: no feed source has ever succeeded, or none succeeded within
    :data:`STALE_AFTER`, or the newest stored day is more than
    :data:`MAX_WEEKDAYS_BEHIND` weekdays behind today (UTC).
    """
    runs = await store.last_runs()
    oks = [ok for source in FEED_SOURCES if (ok := runs.get(source, (None, None))[1])]
    if not oks:
        return "no paper source has been fetched successfully yet"
    newest = max(run.finished_at for run in oks)
    if now - newest > STALE_AFTER:
        failed = runs.get("hf", (None, None))[0]
        why = f": {failed.error}" if failed is not None and not failed.ok and failed.error else ""
        return f"Hugging Face has not answered since {ago(newest, now)}{why}"
    day = await store.latest_day()
    if day is None:
        return "no Daily Papers day has been fetched yet"
    behind = weekdays_between(day, now.date())
    if behind > MAX_WEEKDAYS_BEHIND:
        return f"Daily Papers has had nothing new since {day} ({behind} weekdays)"
    return None


async def _source_lines(store: Store, now: datetime) -> list[str]:
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
    if runs and (problem := await feed_problem(store, now=now)):
        notes.append(f"Digests will say the source is unavailable: {problem}.")
    return notes


async def _schedule_lines(store: Store, now: datetime, caller: Caller) -> list[str]:
    # Imported here: bot.service.scheduling formats with helpers from this module.
    from bot.service.scheduling import delivery_line, when_text

    notes: list[str] = []
    targets = []
    platform, user_id = caller.platform, caller.user_id
    if caller.channel_id:
        workspace = caller.workspace_id or ""
        target = await store.ledger.find_target(platform, workspace, "channel", caller.channel_id)
        targets += [target] if target is not None else []
        digest = await store.schedules.digest(target.id) if target is not None else None
        if digest is not None:
            fire = max(digest.next_fire, now)
            notes.append(f"This channel's next digest: {when_text(fire, digest.schedule.tz, now)}")
    if user_id:
        target = await store.ledger.find_target(platform, "", "user", user_id)
        targets += [target] if target is not None else []
        subs = await store.schedules.subscriptions_of(target.id) if target is not None else []
        if subs:
            sub = min(subs, key=lambda s: s.next_fire)
            fire = max(sub.next_fire, now)
            notes.append(
                f"Your next subscription check: #{sub.id} “{shown(sub.query, 60)}” "
                f"{when_text(fire, sub.schedule.tz, now)} ({len(subs)} subscriptions)"
            )
    for target in targets:
        if target.disabled_at is not None:
            notes.append(f"Stopped ({target.kind}): {target.disabled_reason}")
    recent = await store.ledger.recent([t.id for t in targets], since=now - timedelta(days=7))
    troubles = [d for d in recent if d.state in ("failed", "missed") or d.last_error]
    notes.extend(f"Delivery problem: {delivery_line(d, now)}" for d in troubles[:5])
    return notes


async def status_reply(store: Store, *, now: datetime, caller: Caller | None = None) -> Reply:
    """Store size, latest day, per source its last fetch and freshness; then what is
    scheduled for this channel and this user, and recent delivery failures."""
    notes = await _source_lines(store, now)
    notes += await _schedule_lines(store, now, caller or Caller())
    return Reply(text="papersbot status", notes=tuple(notes))
