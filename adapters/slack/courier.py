"""The Slack :class:`bot.delivery.courier.Courier`: scheduled posts to channels and DMs.

Built on :class:`SlackDelivery`, so every post is paced per channel, retried by the Web API
client on 429 (honouring ``Retry-After``) and 5xx, and tagged with message metadata carrying
the delivery key. ``find_sent`` reads that metadata back from ``conversations.history``.

A failed send is classified by its :class:`Outcome` (:func:`send_status`):

* the conversation is gone or closed to the bot (not in channel, not found, archived, a user
  who cannot get DMs): ``PERMANENT``, so the dispatcher disables the target;
* Slack busy or unreachable: ``RETRY``, with Slack's ``Retry-After`` when it sent one;
* a revoked token: ``RETRY``. An operator must fix ``SLACK_BOT_TOKEN``; disabling every
  target in the meantime would lose them all;
* a payload Slack rejects (our bug): ``RETRY``, logged at ERROR. It is not the target's
  fault, and the dispatcher's grace window bounds how long it is retried.

In OAuth mode (:meth:`SlackCourier.per_workspace`) each post goes out with the token of the
target's workspace. A workspace that uninstalled the bot, or whose token Slack refuses, is
stopped (:meth:`Tenancy.suspend`: every target there is recorded as stopped, with the
reason) and the send is ``PERMANENT``; a reinstall resumes them.

A reply too big for one message goes out in parts. When a later part fails, the courier
remembers (in memory) the parts that went out, and the retry of that key posts only the
rest, so nobody sees part 1 twice. After a restart ``find_sent`` finds part 1 instead.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import assert_never

from adapters.slack.delivery import SlackDelivery
from adapters.slack.errors import DeliveryError, Outcome
from adapters.slack.parts import Resume
from adapters.slack.tenancy import NOT_INSTALLED, Tenancy
from bot import UNINSTALLED, DeliveryKey, LookupFailed, Reply, SendResult, SendStatus, Target

log = logging.getLogger(__name__)

PLATFORM = "slack"


def send_status(outcome: Outcome) -> SendStatus:
    """What the dispatcher should do after a send failed with *outcome*."""
    match outcome:
        case (
            Outcome.NOT_IN_CHANNEL
            | Outcome.CHANNEL_NOT_FOUND
            | Outcome.ARCHIVED
            | Outcome.UNDELIVERABLE
        ):
            return SendStatus.PERMANENT
        case Outcome.AUTH | Outcome.BUG | Outcome.UNAVAILABLE:
            return SendStatus.RETRY
        case _:
            assert_never(outcome)


_DETAILS: dict[Outcome, str] = {
    Outcome.NOT_IN_CHANNEL: "the bot is no longer in this channel; invite it back",
    Outcome.CHANNEL_NOT_FOUND: "Slack can't find this conversation, or it is private",
    Outcome.ARCHIVED: "the channel is archived",
    Outcome.UNDELIVERABLE: "Slack won't deliver direct messages to this user",
    Outcome.AUTH: "the Slack bot token stopped working; an operator must check SLACK_BOT_TOKEN",
    Outcome.BUG: "Slack rejected the message (a papersbot bug, logged)",
    Outcome.UNAVAILABLE: "Slack is busy or unreachable; retrying later",
}


def failure(error: DeliveryError) -> SendResult:
    """The :class:`SendResult` for a failed send."""
    detail = f"{_DETAILS[error.outcome]} (slack: {error.code[:40]})"
    return SendResult(send_status(error.outcome), detail=detail, retry_after=error.retry_after)


class SlackCourier:
    """Delivers replies to Slack channels and users' DMs (see the module docstring).

    *delivery* must have run :meth:`SlackDelivery.check_auth`, so that ``find_sent`` only
    counts the bot's own messages.
    """

    platform = PLATFORM

    def __init__(self, delivery: SlackDelivery, *, tenancy: Tenancy | None = None) -> None:
        self.delivery = delivery
        self._tenancy = tenancy
        self._partial: dict[tuple[int, str], Resume] = {}  # parts already out

    @property
    def tenancy(self) -> Tenancy | None:
        """OAuth mode's per-workspace tokens (``None`` with one token)."""
        return self._tenancy

    @classmethod
    def per_workspace(cls, delivery: SlackDelivery, tenancy: Tenancy) -> SlackCourier:
        """OAuth mode: each target is served with its own workspace's token (*delivery* is
        only a template; it is never used to post)."""
        return cls(delivery, tenancy=tenancy)

    async def _delivery(self, target: Target) -> SlackDelivery | None:
        if self._tenancy is None:
            return self.delivery
        return await self._tenancy.for_workspace(target.workspace)

    async def _stopped(self, target: Target, code: str) -> SendResult:
        """OAuth mode: the workspace has no working token; stop all of its deliveries."""
        assert self._tenancy is not None
        await self._tenancy.suspend(target.workspace, UNINSTALLED)
        log.warning("slack workspace %s has no working token (%s)", target.workspace, code)
        return SendResult(SendStatus.PERMANENT, detail=f"{UNINSTALLED} (slack: {code[:40]})")

    async def send(self, target: Target, reply: Reply, key: DeliveryKey) -> SendResult:
        """Post *reply* to *target*, every message tagged with *key*; the first ``ts`` is
        the message id."""
        _check(target)
        name = str(key)
        already = self._partial.pop((target.id, name), Resume())
        try:
            delivery = await self._delivery(target)
            if delivery is None:
                return await self._stopped(target, "not_installed")
            if target.kind == "channel":
                ts = await delivery.post_to_channel(
                    target.address, reply, digest_key=name, already=already
                )
            else:
                ts = await delivery.send_dm(target.address, reply, digest_key=name, already=already)
        except DeliveryError as exc:
            if self._tenancy is not None and exc.outcome is Outcome.AUTH:
                return await self._stopped(target, exc.code)
            result = failure(exc)
            if exc.posted and result.status is SendStatus.RETRY:
                self._partial[(target.id, name)] = Resume(exc.posted, exc.posted_papers)
            level = logging.ERROR if exc.outcome in (Outcome.BUG, Outcome.AUTH) else logging.WARNING
            log.log(
                level,
                "slack delivery %s to target %s failed: %s (%s)",
                key,
                target.id,
                exc.code,
                result.status,
            )
            return result
        return SendResult(SendStatus.SENT, message_id=ts or None)

    async def find_sent(self, target: Target, key: DeliveryKey, since: datetime) -> str | None:
        """The ``ts`` of part 1 of the post tagged *key* in *target* since *since*, when
        every part of it is there. When only its first parts are (an attempt failed half-way
        and the process died), ``None``, and the next :meth:`send` of *key* posts only the
        missing parts. Raises :class:`~bot.delivery.courier.LookupFailed` when Slack cannot
        be asked."""
        _check(target)
        try:
            delivery = await self._delivery(target)
            if delivery is None:
                await self._stopped(target, "not_installed")  # its rows end as stopped
                raise LookupFailed(NOT_INSTALLED)
            channel = target.address
            if target.kind == "user":
                channel = await delivery.open_dm(target.address)
            found = await delivery.find_parts(channel, str(key), since.timestamp())
        except DeliveryError as exc:
            log.warning("slack look-up of %s in target %s failed: %s", key, target.id, exc.code)
            raise LookupFailed(
                f"Slack could not list the channel's messages ({exc.code})"
            ) from None
        if found.complete:
            return found.first
        if found.prefix:
            log.info(
                "slack delivery %s to target %s: parts 1-%d of %d are out; resuming the rest",
                key,
                target.id,
                len(found.prefix),
                found.total,
            )
            self._partial[(target.id, str(key))] = found.resume
        return None


def _check(target: Target) -> None:
    if target.platform != PLATFORM:
        raise ValueError(f"target {target.id} is on {target.platform!r}, not slack")
