"""``/papers status``: what the bot knows, how fresh it is, and what is scheduled here.

A source is *stale* when its last successful fetch is older than
:data:`~bot.delivery.freshness.STALE_AFTER`, or it has never succeeded; the reply then says so
rather than implying a quiet day (:func:`~bot.delivery.freshness.feed_problem`, the same
judgement scheduled digests make). :func:`delivery_line` tells people what became of one
ledger row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.delivery.freshness import STALE_AFTER, feed_problem
from bot.errors import shown
from bot.model.caller import Caller
from bot.model.delivery import Delivery
from bot.model.replies import Reply
from bot.model.text import ago, when_text
from bot.sources.backfill import BackfillProgress
from bot.store.contract import Database

QUIET_WORDS = {
    "empty": " (quiet day note)",
    "silent": " (quiet day, stayed silent)",
    "unavailable": " (source unavailable note)",
}
STATE_WORDS = {
    "pending": "due",
    "claimed": "sending",
    "sent": "sent",
    "failed": "failed",
    "missed": "missed",
}
SOURCE_NAMES = {"hf": "Hugging Face", "arxiv": "arXiv", "snapshot": "Recorded snapshot"}


def delivery_line(delivery: Delivery, now: datetime) -> str:
    """One ledger row for people: ``2026-08-19 digest: sent 3 h ago``."""
    day = delivery.key.day.isoformat()
    word = STATE_WORDS[delivery.state]
    line = f"{day}: {word}"
    if delivery.state == "sent" and delivery.sent_at is not None:
        line += f" {ago(delivery.sent_at, now)}"
        if delivery.content:
            line += QUIET_WORDS.get(delivery.content.kind, "")
    if delivery.last_error and delivery.state != "sent":
        line += f": {shown(delivery.last_error, 120)}"
    return line


async def _source_lines(store: Database, now: datetime) -> list[str]:
    count = await store.papers.count()
    day = await store.papers.latest_day()
    notes = [f"Papers stored: {count:,}; latest Daily Papers day: {day or 'none'}"]
    runs = await store.runs.last()
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


async def _schedule_lines(store: Database, now: datetime, caller: Caller) -> list[str]:
    notes: list[str] = []
    targets = []
    platform, user_id = caller.platform, caller.user_id
    if caller.channel_id:
        workspace = caller.workspace_id or ""
        target = await store.targets.find(platform, workspace, "channel", caller.channel_id)
        targets += [target] if target is not None else []
        digest = await store.schedules.digest(target.id) if target is not None else None
        if digest is not None:
            fire = max(digest.next_fire, now)
            notes.append(f"This channel's next digest: {when_text(fire, digest.schedule.tz, now)}")
    if user_id:
        target = await store.targets.find(platform, caller.dm_workspace or "", "user", user_id)
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


async def status_reply(
    store: Database,
    *,
    now: datetime,
    caller: Caller | None = None,
    backfill: BackfillProgress | None = None,
) -> Reply:
    """Store size, latest day, per source its last fetch and freshness, the first-day
    backfill's progress; then what is scheduled for this channel and this user, and recent
    delivery failures."""
    notes = await _source_lines(store, now)
    if backfill is not None and (line := backfill.line(now)):
        notes.insert(1, line)
    notes += await _schedule_lines(store, now, caller or Caller())
    return Reply(text="papersbot status", notes=tuple(notes))
