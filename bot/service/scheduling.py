"""The commands that set up scheduled deliveries: ``subscribe``, ``digest on`` and friends.

Every check happens before anything is written, so a bad command changes nothing:

- a subscription's query must parse and hold words (``since:`` makes no sense for papers
  that are new anyway); at most :data:`MAX_SUBSCRIPTIONS` per user, no exact duplicates;
- ``digest on/off`` need a channel and a caller the adapter vouched for (``can_manage``:
  Discord Manage Channels; Slack admins, owners or the allow-list);
- time zones default to the caller's platform zone (Slack ``users.info``), else the
  ``PAPERSBOT_TIMEZONE`` setting.

Setting a schedule up again also re-enables a target that a permanent failure disabled.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import assert_never

from bot.errors import UserInputError, shown
from bot.grammar.commands import (
    DigestOff,
    DigestOn,
    DigestStatus,
    ScheduleCommand,
    Subscribe,
    Subscriptions,
    Unsubscribe,
)
from bot.grammar.options import When
from bot.grammar.query import parse_query
from bot.model.caller import Caller
from bot.model.delivery import DeliveryKey, Target
from bot.model.replies import Reply
from bot.model.schedule import Schedule, describe, next_fire
from bot.model.text import when_text
from bot.service.status import delivery_line
from bot.store.contract import Database
from bot.store.records import ChannelDigest, Subscription

MAX_SUBSCRIPTIONS = 20
DEFAULT_SUB_TIME = time(8, 0)
DEFAULT_DIGEST_TIME = time(9, 0)
CONSOLE_USER = "console"


def _schedule(when: When, *, at: time, tz: str) -> Schedule:
    return Schedule(when.at or at, when.tz or tz, when.cadence or "weekdays", when.weekday)


class ScheduleCommands:
    """Answers the scheduling commands; :class:`~bot.service.papersbot.PapersBot` delegates here."""

    def __init__(
        self,
        store: Database,
        clock: Callable[[], datetime],
        *,
        default_tz: str = "UTC",
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._default_tz = default_tz
        self._on_change = on_change or (lambda: None)

    # -- subscriptions ---------------------------------------------------------------------

    async def run(self, command: ScheduleCommand, caller: Caller) -> Reply:
        """Answer one scheduling command (``UserInputError`` for anything the caller can fix)."""
        match command:
            case Subscribe():
                return await self.subscribe(command, caller)
            case Subscriptions():
                return await self.subscriptions(caller)
            case Unsubscribe():
                return await self.unsubscribe(command, caller)
            case DigestOn():
                return await self.digest_on(command, caller)
            case DigestOff():
                return await self.digest_off(caller)
            case DigestStatus():
                return await self.digest_status(caller)
            case _:
                assert_never(command)

    async def _user_target(self, caller: Caller) -> Target:
        if not caller.user_id:
            raise UserInputError("Subscriptions need a user; this client did not say who you are.")
        workspace = caller.dm_workspace or ""
        return await self._store.targets.ensure(caller.platform, workspace, "user", caller.user_id)

    async def subscribe(self, command: Subscribe, caller: Caller) -> Reply:
        now = self._clock()
        query = parse_query(command.query, now=now)
        if query.since is not None:
            raise UserInputError(
                "Subscriptions only ever send papers that are new, so drop the `since:` filter."
            )
        if not query.has_text:
            raise UserInputError(
                "That query has no words to match; try `subscribe sparse autoencoders`."
            )
        tz = caller.timezone or self._default_tz
        schedule = _schedule(command.when, at=DEFAULT_SUB_TIME, tz=tz)
        target = await self._user_target(caller)
        # Asking for DMs again is how a user resumes them after a permanent failure
        # (blocked DMs), even when this very subscription exists already.
        resumed = target.disabled_at is not None
        if resumed:
            await self._store.targets.enable(target.id, owner=caller.user_id)
            self._on_change()
        text = " ".join(command.query.split())
        for sub in await self._store.schedules.subscriptions_of(target.id):
            if sub.query.lower() == text.lower() and sub.schedule == schedule:
                if resumed:
                    return Reply(text=f"Your DMs are back on (you already had #{sub.id}).")
                raise UserInputError(f"You already have that subscription (#{sub.id}).")
        first = next_fire(schedule, now)
        added = await self._store.schedules.add_subscription(
            target.id, text, schedule, now=now, next_fire=first, limit=MAX_SUBSCRIPTIONS
        )
        if added is None:
            full = (
                f"You have {MAX_SUBSCRIPTIONS} subscriptions, the most allowed; "
                "remove one with `unsubscribe <number>`."
            )
            if resumed:
                return Reply(text="Your DMs are back on.", notes=(full,))
            raise UserInputError(full)
        self._on_change()
        return Reply(
            text=f"Subscribed (#{added.id}) to “{shown(text, 100)}”",
            notes=(
                f"I'll DM you new matching papers {describe(schedule)}; "
                f"first check {when_text(first, schedule.tz, now)}.",
                "Each paper reaches you once, whichever subscription matches it. "
                f"Stop with `unsubscribe {added.id}`.",
            ),
        )

    async def subscriptions(self, caller: Caller) -> Reply:
        target = await self._user_target(caller)
        subs = await self._store.schedules.subscriptions_of(target.id)
        if not subs:
            return Reply(text="You have no subscriptions. Try `subscribe diffusion at 8am`.")
        now = self._clock()
        notes = [self._sub_line(sub, now) for sub in subs]
        if target.disabled_at is not None:
            notes.insert(
                0,
                f"Paused: {target.disabled_reason or 'DMs failed'}. "
                "Fix that, then run any `subscribe` command (even one you have) to resume.",
            )
        count = f"{len(subs)} subscription{'s' if len(subs) != 1 else ''}"
        return Reply(text=f"Your {count} (of {MAX_SUBSCRIPTIONS})", notes=tuple(notes))

    @staticmethod
    def _sub_line(sub: Subscription, now: datetime) -> str:
        return (
            f"#{sub.id} “{shown(sub.query, 80)}”: {describe(sub.schedule)}; next "
            f"{when_text(max(sub.next_fire, now), sub.schedule.tz, now)}"
        )

    async def unsubscribe(self, command: Unsubscribe, caller: Caller) -> Reply:
        target = await self._user_target(caller)
        removed = await self._store.schedules.remove_subscriptions(target.id, command.sub_id)
        self._on_change()
        if command.sub_id is None:
            if not removed:
                return Reply(text="You have no subscriptions to remove.")
            return Reply(text=f"Removed all {len(removed)} of your subscriptions.")
        if not removed:
            raise UserInputError(
                f"You have no subscription #{command.sub_id}; `subscriptions` lists yours."
            )
        return Reply(text=f"Unsubscribed from #{command.sub_id}.")

    # -- channel digests -------------------------------------------------------------------

    async def _channel_target(self, caller: Caller) -> Target:
        if not caller.channel_id:
            raise UserInputError("Digests belong to a channel; run this in the channel.")
        workspace = caller.workspace_id or ""
        return await self._store.targets.ensure(
            caller.platform, workspace, "channel", caller.channel_id
        )

    @staticmethod
    def _require_manager(caller: Caller) -> None:
        can_manage = caller.can_manage
        if not can_manage and caller.workspace_id is None and caller.platform != "console":
            raise UserInputError(
                "Digests are for channels in a server or workspace; run this in one."
            )
        if not can_manage:
            raise UserInputError(
                "Only people who can manage this channel can change its digest "
                "(Discord: Manage Channels; Slack: workspace admins, owners or the "
                "configured allow-list)."
            )

    async def digest_on(self, command: DigestOn, caller: Caller) -> Reply:
        self._require_manager(caller)
        now = self._clock()
        options = command.options
        if options.filter:
            query = parse_query(options.filter, now=now)
            if query.since is not None:
                raise UserInputError("A digest filter can't use `since:`; each day is new anyway.")
        tz = caller.timezone or self._default_tz
        schedule = _schedule(options.when, at=DEFAULT_DIGEST_TIME, tz=tz)
        target = await self._channel_target(caller)
        old = await self._store.schedules.digest(target.id)
        first = next_fire(schedule, now)
        if await self._store.ledger.has_delivery(target.id, DeliveryKey.fired(schedule.tz, first)):
            first = next_fire(schedule, first)  # today's post went out (or is on its way)
        digest = await self._store.schedules.set_digest(
            ChannelDigest(
                target_id=target.id,
                schedule=schedule,
                top_n=options.top_n,
                filter=options.filter,
                min_upvotes=options.min_upvotes,
                empty_days=options.empty_days,
                owner=caller.user_id,
                created_at=old.created_at if old else now,
                next_fire=first,
            )
        )
        await self._store.targets.enable(target.id, owner=caller.user_id)
        self._on_change()
        verb = "updated" if old else "on"
        return Reply(
            text=f"Digest {verb} for this channel",
            notes=(*self._digest_lines(digest, now), "Stop it with `digest off`."),
            ephemeral=False,
        )

    @staticmethod
    def _digest_lines(digest: ChannelDigest, now: datetime) -> list[str]:
        what = f"Top {digest.top_n} papers of the latest Daily Papers day"
        if digest.filter:
            what += f" matching “{shown(digest.filter, 80)}”"
        if digest.min_upvotes:
            what += f" with at least {digest.min_upvotes} upvotes"
        quiet = "a short note" if digest.empty_days == "note" else "silence (status records it)"
        return [
            f"{what}, {describe(digest.schedule)}.",
            f"Next post: {when_text(max(digest.next_fire, now), digest.schedule.tz, now)}.",
            f"Days with nothing new: {quiet}.",
        ]

    async def digest_off(self, caller: Caller) -> Reply:
        self._require_manager(caller)
        target = await self._channel_target(caller)
        if not await self._store.schedules.remove_digest(target.id):
            return Reply(text="This channel has no digest; `digest on` starts one.")
        self._on_change()
        return Reply(text="Digest off for this channel.", ephemeral=False)

    async def digest_status(self, caller: Caller) -> Reply:
        target = await self._channel_target(caller)
        digest = await self._store.schedules.digest(target.id)
        if digest is None:
            return Reply(text="This channel has no digest; `digest on` starts one.")
        now = self._clock()
        notes = self._digest_lines(digest, now)
        if target.disabled_at is not None:
            notes.insert(0, f"Stopped: {target.disabled_reason}. Run `digest on` to resume.")
        recent = await self._store.ledger.recent([target.id], since=now - timedelta(days=7))
        notes.extend(f"Recent: {delivery_line(d, now)}" for d in recent[:5])
        return Reply(text="This channel's digest", notes=tuple(notes))
