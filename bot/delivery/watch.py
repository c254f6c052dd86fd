"""What the sender tells people and the observer about each delivery it finishes.

One log line per final state (sent, silent, failed, missed) and per retry, carrying the
delivery key, the target and the platform as fields (``extra``), which the JSON log format
(``PAPERSBOT_LOG_FORMAT=json``) writes as keys of their own; and one count for the
:class:`~bot.observe.Observer` (the Prometheus metrics of ``/metrics``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.model.delivery import Delivery, Target
from bot.observe import Observer

log = logging.getLogger(__name__)


def log_fields(claimed: Delivery, target: Target) -> dict[str, object]:
    """What a delivery's log lines carry as fields."""
    return {
        "delivery": str(claimed.key),
        "target": f"{target.kind}:{target.address}",
        "platform": target.platform,
    }


def kind_label(claimed: Delivery) -> str:
    """``digest`` or ``dm``: the delivery kinds the metrics count."""
    return "digest" if claimed.key.subscription is None else "dm"


class DeliveryWatch:
    """Logs and counts each delivery outcome for one sender."""

    def __init__(self, observer: Observer) -> None:
        self._observer = observer

    def done(self, claimed: Delivery, target: Target, state: str, detail: str) -> None:
        """*claimed* reached its final *state* (``sent``, ``silent``, ``failed``, ``missed``)."""
        self._observer.delivery(target.platform, kind_label(claimed), state)
        level = logging.INFO if state in ("sent", "silent") else logging.WARNING
        log.log(
            level,
            "delivery %s to %s %s on %s: %s (%s)",
            claimed.key,
            target.kind,
            target.address,
            target.platform,
            state,
            detail,
            extra=log_fields(claimed, target),
        )

    def retrying(
        self, claimed: Delivery, target: Target, at: datetime, error: str, asked: float | None
    ) -> None:
        """*claimed* failed for now and goes again at *at*; *asked*: the wait the platform
        asked for (a rate limit), when it said."""
        if asked is not None:
            self._observer.rate_limited(target.platform, asked)
        self._observer.delivery_retry(target.platform, kind_label(claimed))
        log.info(
            "delivery %s to %s %s: retry at %s (%s)",
            claimed.key,
            target.kind,
            target.address,
            at.isoformat(timespec="seconds"),
            error,
            extra=log_fields(claimed, target),
        )

    def disabled(self, claimed: Delivery, target: Target, detail: str) -> None:
        """The platform refused *target* for good: it is stopped until its owner acts."""
        log.warning(
            "disabled %s %s: %s",
            target.kind,
            target.address,
            detail,
            extra=log_fields(claimed, target),
        )
