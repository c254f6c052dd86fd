"""Sending: claim → compose once → send → mark, for every ledger row due now.

Every due row is claimed (atomically, with a token, a batch of targets at a time, so
processes sharing a database split them), its content composed once and stored
on the row (:mod:`bot.delivery.compose`), sent through the platform's
:class:`~bot.delivery.courier.Courier`, and marked. Rows of one target go one after another
(so two subscriptions of one user never send the same paper); targets run concurrently,
bounded, each courier pacing itself to its platform's limits.

Crash safety: a row whose earlier attempt may have reached the platform (a lease that
expired, or a retry) is first looked up there (:meth:`Courier.find_sent`) and marked sent
if found; if the platform cannot say, the row waits and retries rather than risk a second
post.
Transient failures back off and retry until the grace window closes (then the row is
``failed``, shown by ``status``); permanent ones disable the target, and its owner is told
on their next command.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.delivery.compose import compose_digest, compose_dm, render_digest, render_dm
from bot.delivery.courier import Courier, LookupFailed, SendResult, SendStatus
from bot.delivery.matches import SubscriptionMatches
from bot.delivery.policy import TickReport, backoff
from bot.delivery.watch import DeliveryWatch
from bot.errors import StoreError
from bot.model.delivery import Content, Delivery, Target
from bot.model.papers import StoredPaper
from bot.model.replies import Reply
from bot.observe import NULL_OBSERVER, Observer
from bot.store.contract import Database

log = logging.getLogger(__name__)

LOOKUP_MARGIN = timedelta(minutes=5)  # a found post may predate its due time by this much
Matches = Mapping[int, list[StoredPaper]]


class Sender:
    """Delivers the due ledger rows through the couriers it is given (by platform)."""

    def __init__(
        self,
        store: Database,
        clock: Callable[[], datetime],
        couriers: Mapping[str, Courier],
        *,
        grace: timedelta,
        lease: timedelta,
        concurrency: int,
        observer: Observer = NULL_OBSERVER,
    ) -> None:
        self._store = store
        self._watch = DeliveryWatch(observer)
        self._clock = clock
        self._couriers = couriers  # the dispatcher's live table: couriers join as they connect
        self._grace = grace
        self._lease = lease
        self._concurrency = concurrency
        self._held: dict[int, Delivery] = {}  # claimed by this pass, not yet finished
        self.matches = SubscriptionMatches(store)

    async def deliver(self, report: TickReport) -> None:
        """Send every row due now (and every claimed one whose lease expired).

        Rows are claimed a batch of targets at a time (:meth:`LedgerStore.claim_due`), as
        many as there are free slots, so several processes split the due rows between them
        and no claim waits in a queue while its lease runs. Only platforms with a courier
        are claimed: another process may be connected to the others."""
        running: set[asyncio.Task[None]] = set()
        renewing = asyncio.create_task(self._renew_leases())
        try:
            async with asyncio.TaskGroup() as group:
                while True:
                    while len(running) >= self._concurrency:
                        done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                        running -= done
                    try:
                        batch = await self._claim(self._concurrency - len(running))
                    except StoreError as exc:
                        # Not raised inside the task group: that would cancel the sends in
                        # flight. They finish; what is left waits for the next pass.
                        log.error("claiming due deliveries failed: %s", exc)
                        return
                    if not batch:
                        return
                    self._held.update((row.id, row) for row in batch)
                    matches = await self.matches.for_due(batch, self._clock())
                    by_target: dict[int, list[Delivery]] = defaultdict(list)
                    for delivery in batch:
                        by_target[delivery.target_id].append(delivery)
                    for rows in by_target.values():
                        running.add(group.create_task(self._target(rows, report, matches)))
        finally:
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)
            self._held.clear()

    async def _renew_leases(self) -> None:
        """While a pass runs, renew the leases of the rows it holds every third of a lease:
        a slow send (rate limits, a busy machine) must not let another process take over a
        row this one is about to post, so only a dead sender's claims ever expire."""
        every = max(self._lease.total_seconds() / 3, 0.1)
        while True:
            await asyncio.sleep(every)
            held = list(self._held.values())
            if not held:
                continue
            try:
                await self._store.ledger.renew(held, now=self._clock(), lease=self._lease)
            except StoreError as exc:  # the fenced writes still protect every row
                log.warning("renewing the leases of %d deliveries failed: %s", len(held), exc)

    async def _claim(self, targets: int) -> list[Delivery]:
        """Claim the due rows of up to *targets* targets on the connected platforms."""
        platforms = sorted(self._couriers)
        if not platforms:
            return []
        return await self._store.ledger.claim_due(
            now=self._clock(), lease=self._lease, limit=targets, platforms=platforms
        )

    async def _target(self, rows: list[Delivery], report: TickReport, matches: Matches) -> None:
        """One target's claimed rows, one after another (they may share papers). A store
        error stops this target only: its rows keep their claims until the leases run out,
        and the other targets' sends go on."""
        for row in rows:
            try:
                await self._one(row, report, matches=matches)
            except StoreError as exc:
                log.error("delivery %d (%s) could not be recorded: %s", row.id, row.key, exc)
                return

    async def _one(self, claimed: Delivery, report: TickReport, *, matches: Matches) -> None:
        try:
            await self._attempt(claimed, report, matches=matches)
        finally:
            self._held.pop(claimed.id, None)

    async def _attempt(self, claimed: Delivery, report: TickReport, *, matches: Matches) -> None:
        target = await self._store.targets.by_id(claimed.target_id)
        assert target is not None  # rows cascade with their target
        assert claimed.claimed_at is not None  # claim_due returns claimed rows
        if claimed.claimed_at - claimed.due_at > self._grace:
            await self._too_late(claimed, target, report)
            return
        try:
            await self._claimed(claimed, target, report, matches)
        except Exception as exc:  # a bug must not stall the queue: retry, bounded by grace
            log.exception("delivery %d (%s) failed unexpectedly", claimed.id, claimed.key)
            await self._retry(claimed, target, report, f"internal error: {exc!r}", None)

    async def _too_late(self, claimed: Delivery, target: Target, report: TickReport) -> None:
        """Past the grace window: never sent late. But an earlier attempt may have gone out
        before a crash, so ask the platform first; the ledger must say what happened."""
        courier = self._couriers.get(target.platform)
        reason = claimed.last_error or "the bot was down"
        if claimed.attempts > 1 and courier is not None:
            try:
                found = await courier.find_sent(target, claimed.key, claimed.due_at - LOOKUP_MARGIN)
            except LookupFailed as exc:
                found, reason = None, f"could not check whether it went out: {exc}"
            if found is not None:
                papers = claimed.content.papers if claimed.content else ()
                await self._store.ledger.mark_sent(
                    claimed, now=self._clock(), message_id=found, paper_ids=papers
                )
                report.found_already_sent += 1
                self._watch.done(claimed, target, "sent", f"found already posted ({found})")
                return
        if not await self._store.ledger.mark_missed(
            claimed.id,
            reason=f"not delivered within the grace window ({reason})",
            claim_token=claimed.claim_token,
        ):
            return  # taken over meanwhile: the new holder says what happened
        report.missed += 1
        self._watch.done(claimed, target, "missed", reason)

    async def _claimed(
        self, claimed: Delivery, target: Target, report: TickReport, matches: Matches
    ) -> None:
        ledger = self._store.ledger
        if target.disabled_at is not None:
            error = f"stopped: {target.disabled_reason}"
            await ledger.mark_failed(claimed, now=self._clock(), error=error, retry_at=None)
            report.failed += 1
            self._watch.done(claimed, target, "failed", error)
            return
        courier = self._couriers.get(target.platform)
        if courier is None:
            error = f"{target.platform} is not connected"
            await self._retry(claimed, target, report, error, None)
            return
        built = await self._build(claimed, matches)
        if built is None:  # its subscription or digest was removed
            await ledger.mark_missed(
                claimed.id, reason="cancelled before it was sent", claim_token=claimed.claim_token
            )
            self._watch.done(claimed, target, "missed", "cancelled before it was sent")
            return
        content, reply = built
        if claimed.content is None:
            await ledger.set_content(claimed, content)
        if not content.speaks:
            await ledger.mark_sent(claimed, now=self._clock(), message_id=None)
            report.silent += 1
            self._watch.done(claimed, target, "silent", "nothing to post")
            return
        if claimed.attempts > 1 and await self._already_posted(
            claimed, target, courier, content, report
        ):
            return
        if not await ledger.renew([claimed], now=self._clock(), lease=self._lease):
            # Taken over (this sender stalled past its lease): the new holder posts it.
            log.warning(
                "delivery %d (%s) was taken over before it was sent", claimed.id, claimed.key
            )
            return
        result = await courier.send(target, reply, claimed.key)
        await self._record(claimed, target, content, result, report)

    async def _already_posted(
        self,
        claimed: Delivery,
        target: Target,
        courier: Courier,
        content: Content,
        report: TickReport,
    ) -> bool:
        """Before a retry: whether an earlier attempt did go out (then it is marked sent).
        When the platform cannot tell, the row waits (``True``): never risk a second post."""
        try:
            found = await courier.find_sent(target, claimed.key, claimed.due_at - LOOKUP_MARGIN)
        except LookupFailed as exc:
            error = f"could not check whether it went out: {exc}"
            await self._retry(claimed, target, report, error, None)
            return True
        if found is None:
            return False
        await self._store.ledger.mark_sent(
            claimed, now=self._clock(), message_id=found, paper_ids=content.papers
        )
        report.found_already_sent += 1
        self._watch.done(claimed, target, "sent", f"found already posted ({found})")
        return True

    async def _build(self, claimed: Delivery, matches: Matches) -> tuple[Content, Reply] | None:
        """The delivery's content (composed now, or as stored) and its reply; ``None`` when
        its digest or subscription is gone."""
        now = self._clock()
        store = self._store
        sub_id = claimed.key.subscription
        if sub_id is None:
            digest = await store.schedules.digest(claimed.target_id)
            if digest is None:
                return None
            content = claimed.content
            if content is None:
                last = await store.ledger.last_sent(digest.target_id, "digest")
                last_day = last.content.day if last is not None and last.content else None
                content = await compose_digest(store, digest, now=now, last_day=last_day)
            return content, await render_digest(store, digest, content, now=now)
        sub = await store.schedules.subscription(sub_id)
        if sub is None:
            return None
        content = claimed.content or await compose_dm(
            store, claimed.id, claimed.target_id, matches.get(sub.id, []), now=now
        )
        return content, await render_dm(store, sub, content, now=now)

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
            self._watch.done(claimed, target, "sent", f"message {result.message_id}")
        elif result.status is SendStatus.PERMANENT:
            await ledger.mark_failed(claimed, now=now, error=result.detail, retry_at=None)
            await self._store.targets.disable(
                target.id, now=now, reason=result.detail or "delivery refused"
            )
            self._watch.disabled(claimed, target, result.detail)
            report.failed += 1
            self._watch.done(claimed, target, "failed", result.detail)
        else:
            await self._retry(claimed, target, report, result.detail, result.retry_after)

    async def _retry(
        self,
        claimed: Delivery,
        target: Target,
        report: TickReport,
        error: str,
        retry_after: float | None,
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
            self._watch.done(
                claimed, target, "failed", f"gave up after {claimed.attempts} attempts"
            )
            return
        await self._store.ledger.mark_failed(claimed, now=now, error=error, retry_at=retry_at)
        report.retrying += 1
        self._watch.retrying(claimed, target, retry_at, error, retry_after)
