"""What the core reports as it works, for whoever watches: the :class:`Observer` port.

The core calls an observer where work already passes (the service facade for commands, the
sender for deliveries, the fetcher and ingest for sources) and never knows what listens.
The composition root passes the Prometheus metrics (:mod:`bot.ops.metrics`); everything
else gets :data:`NULL_OBSERVER`, so tests and the demo need no metrics at all.

Label values are few and fixed (platforms, verbs, outcomes, states), never user text, so
a metric's series stay bounded however people use the bot.
"""

from __future__ import annotations

from typing import Protocol


class Observer(Protocol):
    """Receives one call per event; every method is cheap and never raises."""

    def command(self, platform: str, verb: str, outcome: str, seconds: float) -> None:
        """A command or button was answered: *outcome* is ``ok``, ``user_error``,
        ``not_found``, ``source_error``, ``throttled`` or ``error``."""

    def delivery(self, platform: str, kind: str, state: str) -> None:
        """A scheduled delivery reached a final state: ``sent``, ``silent`` (nothing to say,
        recorded), ``failed`` or ``missed``. *kind* is ``digest`` or ``dm``."""

    def delivery_retry(self, platform: str, kind: str) -> None:
        """A delivery attempt failed for now and will be retried."""

    def fetch(self, source: str, outcome: str) -> None:
        """A request to a paper source ended: ``ok``, ``unavailable`` (retries ran out, or
        the source asked for too long a wait) or ``error`` (an answer we cannot use)."""

    def rate_limited(self, by: str, seconds: float) -> None:
        """*by* (a source or a platform) asked us to wait *seconds* before trying again."""


class NullObserver:
    """Watches nothing: the default wherever no observer is passed."""

    def command(self, platform: str, verb: str, outcome: str, seconds: float) -> None:
        return None

    def delivery(self, platform: str, kind: str, state: str) -> None:
        return None

    def delivery_retry(self, platform: str, kind: str) -> None:
        return None

    def fetch(self, source: str, outcome: str) -> None:
        return None

    def rate_limited(self, by: str, seconds: float) -> None:
        return None


NULL_OBSERVER: Observer = NullObserver()
