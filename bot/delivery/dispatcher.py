"""Scheduled delivery: plan what fell due, then claim → send → mark, exactly once.

The delivery ledger (:mod:`bot.store.ledger`) is the only truth; this module only moves
rows through it. One :meth:`Dispatcher.tick`:

1. **Plan.** Every digest and subscription whose ``next_fire`` has passed gets one ledger
   row per fire instant since (:func:`bot.model.schedule.fires_between`, DST-correct), keyed by
   the local date (``digest:2026-08-19``, ``sub:7:2026-08-19``), then its ``next_fire``
   moves on. Planning is idempotent (one row per target and key), so a crash between the
   two steps, or an alarm that rings twice, plans nothing twice. A fire older than the
   grace window is recorded ``missed``, never sent late.
2. **Deliver.** Every due row is claimed (atomically, with a token), its content composed
   once and stored on the row (:mod:`bot.delivery.compose`), sent through the platform's
   :class:`~bot.delivery.courier.Courier`, and marked. Rows of one target go one after another
   (so two subscriptions of one user never send the same paper); targets run concurrently,
   bounded, each courier pacing itself to its platform's limits.

Crash safety: a row whose earlier attempt may have reached the platform (a stale claim, or
a retry) is first looked up there (:meth:`Courier.find_sent`) and marked sent if found; if
the platform cannot say, the row waits and retries rather than risk a second post.
The start-up :meth:`Dispatcher.catch_up` treats every claim as stale: one process owns a
database. Transient failures back off and retry until the grace window closes (then the
row is ``failed``, shown by ``status``); permanent ones disable the target, and its owner
is told on their next command.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache, partial
from zoneinfo import ZoneInfo

from bot.delivery.compose import (
    Content,
    compose_digest,
    compose_dm,
    render_digest,
    render_dm,
)
from bot.delivery.courier import Courier, LookupFailed, SendResult, SendStatus
from bot.grammar.query import parse_query
from bot.model.papers import StoredPaper
from bot.model.replies import Reply
from bot.model.schedule import Schedule, fires_between, next_fire
from bot.search.matcher import Matcher, token_frequencies
from bot.store import Store
from bot.store.ledger import Delivery, Target
from bot.store.schedules import ChannelDigest, Subscription

log = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(hours=4)
DEFAULT_STALE = timedelta(minutes=10)
DM_LOOKBACK = timedelta(days=7)  # how far back a subscription's first DM looks, at most
FIRST_DM_LOOKBACK = timedelta(days=1)  # a new subscription's first DM: the last day's papers
HISTORY_LOOKBACK = timedelta(days=35)  # a weekly DM's last delivery is found within this
RECENT_PAPER = timedelta(days=14)  # older papers are never "new" (a `show` or backfill)
MAX_BACKOFF = timedelta(minutes=30)
PLAN_BATCH = 2000  # schedules planned per transaction
RETENTION = timedelta(days=90)  # finished ledger rows kept (> HISTORY_LOOKBACK + RECENT_PAPER)
MISSED_RECORDED = timedelta(days=8)  # how far back an outage's missed fires are recorded


def digest_key(schedule: Schedule, fire: datetime) -> str:
    return f"digest:{fire.astimezone(ZoneInfo(schedule.tz)).date().isoformat()}"


def sub_key(sub_id: int, schedule: Schedule, fire: datetime) -> str:
    return f"sub:{sub_id}:{fire.astimezone(ZoneInfo(schedule.tz)).date().isoformat()}"


def _recent(stored: StoredPaper, now: datetime) -> bool:
    """Whether a paper is recent enough to be "new" in a DM: featured on Daily Papers, else
    published, within :data:`RECENT_PAPER`; a paper stored by `show` or a backfill of old
    days is new to the store, not to the field."""
    paper = stored.paper
    when = paper.daily_day or (paper.published.date() if paper.published else None)
    return when is None or when >= (now - RECENT_PAPER).date()


# Subscribers share schedules (08:00 in a zone, weekdays): a planning pass computes each
# distinct (schedule, instant) once.
@lru_cache(maxsize=4096)
def _fires_between(schedule: Schedule, first: datetime, now: datetime) -> tuple[datetime, ...]:
    return tuple(fires_between(schedule, first - timedelta(microseconds=1), now))


@lru_cache(maxsize=4096)
def _next_fire(schedule: Schedule, now: datetime) -> datetime:
    return next_fire(schedule, now)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... up to :data:`MAX_BACKOFF`."""
    return min(MAX_BACKOFF, timedelta(seconds=30 * 2 ** max(0, min(attempts - 1, 10))))


@dataclass(slots=True)
class TickReport:
    planned: int = 0
    missed: int = 0
    sent: int = 0
    silent: int = 0
    retrying: int = 0
    failed: int = 0
    found_already_sent: int = 0


class Dispatcher:
    """Plans and delivers scheduled posts through the given couriers (by platform)."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        couriers: Mapping[str, Courier],
        *,
        grace: timedelta = DEFAULT_GRACE,
        stale_after: timedelta = DEFAULT_STALE,
        concurrency: int = 32,
    ) -> None:
        self._store = store
        self._clock = clock
        self._couriers = dict(couriers)
        self._grace = grace
        self._stale_after = stale_after
        self._concurrency = concurrency
        self._running = asyncio.Lock()
        self._courier_added = asyncio.Event()
        self._matcher: Matcher | None = None
        self._indexed: dict[int, str] = {}  # subscription id -> the query in the matcher

    def add_courier(self, courier: Courier) -> None:
        self._couriers[courier.platform] = courier
        self._courier_added.set()

    async def wait_for(self, platforms: set[str]) -> None:
        """Return once it can deliver to every one of *platforms* (bound it with
        ``asyncio.timeout``)."""
        while not platforms <= self.platforms:
            self._courier_added.clear()
            await self._courier_added.wait()

    @property
    def platforms(self) -> frozenset[str]:
        """The platforms it can deliver to now."""
        return frozenset(self._couriers)

    async def catch_up(self) -> TickReport:
        """At start-up: plan what fell due while down, retry every claim left behind."""
        return await self.tick(reclaim=True)

    async def tick(self, *, reclaim: bool = False) -> TickReport:
        """Plan whatever fell due, then deliver every row due now. Never runs twice at once."""
        async with self._running:
            report = TickReport()
            await self._plan(report)
            await self._deliver(report, reclaim=reclaim)
            return report

    # -- planning ---------------------------------------------------------------------------

    async def _plan(self, report: TickReport) -> None:
        now = self._clock()
        ledger, schedules = self._store.ledger, self._store.schedules
        disabled = await ledger.disabled_targets()
        reason = "fell due while the bot was down, past the grace window"
        while digests := await schedules.due_digests(now, limit=PLAN_BATCH):
            rows: list[tuple[int, str, datetime, bool]] = []
            for digest in digests:
                if digest.target_id not in disabled:
                    key_for = partial(digest_key, digest.schedule)
                    rows += self._fires(
                        digest.target_id, digest.schedule, digest.next_fire, now, key_for
                    )
            await ledger.plan_many(rows, missed_reason=reason)
            await schedules.advance_many(
                "digest",
                [(d.target_id, d.next_fire, _next_fire(d.schedule, now)) for d in digests],
            )
            self._count(report, rows)
        while subs := await schedules.due_subscriptions(now, limit=PLAN_BATCH):
            rows = []
            for sub in subs:
                if sub.target_id not in disabled:
                    key_for = partial(sub_key, sub.id, sub.schedule)
                    rows += self._fires(sub.target_id, sub.schedule, sub.next_fire, now, key_for)
            await ledger.plan_many(rows, missed_reason=reason)
            await schedules.advance_many(
                "sub", [(s.id, s.next_fire, _next_fire(s.schedule, now)) for s in subs]
            )
            self._count(report, rows)

    def _fires(
        self,
        target_id: int,
        schedule: Schedule,
        first: datetime,
        now: datetime,
        key_for: Callable[[datetime], str],
    ) -> list[tuple[int, str, datetime, bool]]:
        """Ledger rows (target, key, due, missed?) for every fire from *first* up to now;
        after a long outage, only the last :data:`MISSED_RECORDED` of fires are recorded."""
        fires = _fires_between(schedule, max(first, now - self._grace - MISSED_RECORDED), now)
        return [(target_id, key_for(fire), fire, now - fire > self._grace) for fire in fires]

    @staticmethod
    def _count(report: TickReport, rows: list[tuple[int, str, datetime, bool]]) -> None:
        late = sum(row[3] for row in rows)
        report.planned += len(rows) - late
        report.missed += late

    # -- delivering -------------------------------------------------------------------------

    async def _deliver(self, report: TickReport, *, reclaim: bool) -> None:
        now = self._clock()
        stale = timedelta(0) if reclaim else self._stale_after
        due = await self._store.ledger.open_deliveries(now=now, stale_after=stale)
        if not due:
            return
        by_target: dict[int, list[Delivery]] = defaultdict(list)
        for delivery in due:
            by_target[delivery.target_id].append(delivery)
        matches = await self._match_subscriptions(due, now)
        gate = asyncio.Semaphore(self._concurrency)

        async def run(rows: list[Delivery]) -> None:
            async with gate:
                for row in rows:
                    await self._one(row, report, stale=stale, matches=matches)

        async with asyncio.TaskGroup() as group:
            for rows in by_target.values():
                group.create_task(run(rows))

    async def _match_subscriptions(
        self, due: Sequence[Delivery], now: datetime
    ) -> dict[int, list[StoredPaper]]:
        """For the due DM rows not yet composed: subscription id → papers it matches that
        were first stored since its last delivery. One matcher pass for all of them."""
        sub_ids = {
            int(d.digest_key.split(":")[1])
            for d in due
            if d.digest_key.startswith("sub:") and d.content is None
        }
        if not sub_ids:
            return {}
        subs = await self._store.schedules.subscriptions_by_id(sorted(sub_ids))
        if not subs:
            return {}
        # "New" means first stored since this subscription's last DM (any cadence: a weekly
        # one looks back a week or more), or, before its first, since a day before it was
        # made; never further back than HISTORY_LOOKBACK.
        last = await self._store.ledger.last_sent_subs(
            [sub.target_id for sub in subs], since=now - HISTORY_LOOKBACK
        )
        watermarks = {
            sub.id: last.get(sub.id) or max(sub.created_at - FIRST_DM_LOOKBACK, now - DM_LOOKBACK)
            for sub in subs
        }
        papers = await self._store.papers_seen_since(min(watermarks.values()), limit=5000)
        papers = [sp for sp in papers if _recent(sp, now)]
        matcher = self._index(subs, papers, now)
        by_id = {sp.paper.id: sp for sp in papers}
        found: dict[int, list[StoredPaper]] = {sub_id: [] for sub_id in watermarks}
        for sub_id, paper_ids in matcher.match([sp.paper for sp in papers]).items():
            if (mark := watermarks.get(sub_id)) is not None:  # due now (others are indexed too)
                found[sub_id] = [by_id[p] for p in paper_ids if by_id[p].first_seen > mark]
        return found

    def _index(
        self, subs: Sequence[Subscription], papers: Sequence[StoredPaper], now: datetime
    ) -> Matcher:
        """The matcher, kept across ticks: each subscription's query is compiled once (a
        morning of 100,000 due subscriptions then costs one matching pass, not a rebuild).
        Token rarity comes from the first batch of papers it saw."""
        if self._matcher is None:
            self._matcher = Matcher(token_frequencies(sp.paper for sp in papers))
        for sub in subs:
            if self._indexed.get(sub.id) == sub.query:
                continue
            try:
                self._matcher.add(sub.id, parse_query(sub.query, now=now))
            except ValueError:  # a stored query that no longer parses: match nothing
                log.warning("subscription %d has an unparsable query", sub.id)
                self._matcher.remove(sub.id)
            self._indexed[sub.id] = sub.query  # ids can be reused: a new query re-adds
        return self._matcher

    async def _one(
        self,
        row: Delivery,
        report: TickReport,
        *,
        stale: timedelta,
        matches: Mapping[int, list[StoredPaper]],
    ) -> None:
        ledger = self._store.ledger
        now = self._clock()
        claimed = await ledger.claim(row.id, now=now, stale_after=stale)
        if claimed is None:
            return
        if now - claimed.due_at > self._grace:
            await self._too_late(claimed, report)
            return
        target = await ledger.target_by_id(claimed.target_id)
        assert target is not None  # rows cascade with their target
        try:
            await self._claimed(claimed, target, report, matches)
        except Exception as exc:  # a bug must not stall the queue: retry, bounded by grace
            log.exception("delivery %d (%s) failed unexpectedly", claimed.id, claimed.digest_key)
            await self._retry(claimed, report, f"internal error: {exc!r}", None)

    async def _too_late(self, claimed: Delivery, report: TickReport) -> None:
        """Past the grace window: never sent late. But an earlier attempt may have gone out
        before a crash, so ask the platform first; the ledger must say what happened."""
        ledger = self._store.ledger
        target = await ledger.target_by_id(claimed.target_id)
        courier = self._couriers.get(target.platform) if target is not None else None
        reason = claimed.last_error or "the bot was down"
        if claimed.attempts > 1 and target is not None and courier is not None:
            since = claimed.due_at - timedelta(minutes=5)
            try:
                found = await courier.find_sent(target, claimed.digest_key, since)
            except LookupFailed as exc:
                found, reason = None, f"could not check whether it went out: {exc}"
            if found is not None:
                papers = Content.from_json(claimed.content).papers if claimed.content else ()
                await ledger.mark_sent(
                    claimed, now=self._clock(), message_id=found, paper_ids=papers
                )
                report.found_already_sent += 1
                return
        await ledger.mark_missed(
            claimed.id, reason=f"not delivered within the grace window ({reason})"
        )
        report.missed += 1

    async def _claimed(
        self,
        claimed: Delivery,
        target: Target,
        report: TickReport,
        matches: Mapping[int, list[StoredPaper]],
    ) -> None:
        ledger = self._store.ledger
        if target.disabled_at is not None:
            await ledger.mark_failed(
                claimed,
                now=self._clock(),
                error=f"stopped: {target.disabled_reason}",
                retry_at=None,
            )
            report.failed += 1
            return
        courier = self._couriers.get(target.platform)
        if courier is None:
            await self._retry(claimed, report, f"{target.platform} is not connected", None)
            return
        built = await self._build(claimed, matches)
        if built is None:  # its subscription or digest was removed
            await ledger.mark_missed(claimed.id, reason="cancelled before it was sent")
            return
        content, reply = built
        if claimed.content is None:
            await ledger.set_content(claimed, content.to_json())
        if not content.speaks:
            await ledger.mark_sent(claimed, now=self._clock(), message_id=None)
            report.silent += 1
            return
        if claimed.attempts > 1:
            since = claimed.due_at - timedelta(minutes=5)
            try:
                found = await courier.find_sent(target, claimed.digest_key, since)
            except LookupFailed as exc:  # never risk a second post: try again later
                await self._retry(
                    claimed, report, f"could not check whether it went out: {exc}", None
                )
                return
            if found is not None:
                log.info("delivery %s was already posted (%s)", claimed.digest_key, found)
                await ledger.mark_sent(
                    claimed, now=self._clock(), message_id=found, paper_ids=content.papers
                )
                report.found_already_sent += 1
                return
        result = await courier.send(target, reply, claimed.digest_key)
        await self._record(claimed, target, content, result, report)

    async def _build(
        self, claimed: Delivery, matches: Mapping[int, list[StoredPaper]]
    ) -> tuple[Content, Reply] | None:
        now = self._clock()
        stored = Content.from_json(claimed.content) if claimed.content else None
        if claimed.digest_key.startswith("digest:"):
            digest = await self._store.schedules.digest(claimed.target_id)
            if digest is None:
                return None
            content = stored or await self._compose_digest(digest, now)
            return content, await render_digest(self._store, digest, content, now=now)
        sub = await self._store.schedules.subscription(int(claimed.digest_key.split(":")[1]))
        if sub is None:
            return None
        content = stored or await compose_dm(
            self._store, claimed.id, claimed.target_id, matches.get(sub.id, []), now=now
        )
        return content, await render_dm(self._store, sub, content, now=now)

    async def _compose_digest(self, digest: ChannelDigest, now: datetime) -> Content:
        last = await self._store.ledger.last_sent(digest.target_id, "digest:")
        last_day = None
        if last is not None and last.content:
            last_day = Content.from_json(last.content).day
        return await compose_digest(self._store, digest, now=now, last_day=last_day)

    async def _record(
        self,
        claimed: Delivery,
        target: Target,
        content: Content,
        result: SendResult,
        report: TickReport,
    ) -> None:
        ledger = self._store.ledger
        now = self._clock()
        if result.status is SendStatus.SENT:
            await ledger.mark_sent(
                claimed, now=now, message_id=result.message_id, paper_ids=content.papers
            )
            report.sent += 1
        elif result.status is SendStatus.PERMANENT:
            await ledger.mark_failed(claimed, now=now, error=result.detail, retry_at=None)
            await ledger.disable(target.id, now=now, reason=result.detail or "delivery refused")
            log.warning("disabled %s %s: %s", target.kind, target.address, result.detail)
            report.failed += 1
        else:
            await self._retry(claimed, report, result.detail, result.retry_after)

    async def _retry(
        self, claimed: Delivery, report: TickReport, error: str, retry_after: float | None
    ) -> None:
        now = self._clock()
        wait = backoff(claimed.attempts)
        if retry_after is not None:
            wait = max(wait, timedelta(seconds=retry_after))
        retry_at = now + wait
        if retry_at - claimed.due_at > self._grace:
            await self._store.ledger.mark_failed(
                claimed,
                now=now,
                error=f"gave up after {claimed.attempts} attempts: {error}",
                retry_at=None,
            )
            report.failed += 1
            return
        await self._store.ledger.mark_failed(claimed, now=now, error=error, retry_at=retry_at)
        report.retrying += 1

    async def housekeeping(self) -> tuple[int, int]:
        """Daily: drop ledger rows older than :data:`RETENTION` (they, and the papers they
        recorded, can no longer matter: "new" never reaches back that far) and forget
        removed subscriptions in the matcher. Returns (rows pruned, queries forgotten)."""
        pruned = await self._store.ledger.prune(before=self._clock() - RETENTION)
        live = await self._store.schedules.subscription_ids()
        gone = [sub_id for sub_id in self._indexed if sub_id not in live]
        for sub_id in gone:
            del self._indexed[sub_id]
            if self._matcher is not None:
                self._matcher.remove(sub_id)
        return pruned, len(gone)

    async def next_retry(self) -> datetime | None:
        """When the earliest backed-off delivery may go again (for the alarm)."""
        return await self._store.ledger.next_retry()
