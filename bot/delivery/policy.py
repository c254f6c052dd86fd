"""The numbers of scheduled delivery (grace, leases, backoff, retention) and the report
of one dispatcher pass: shared by the planner, the sender and the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

DEFAULT_GRACE = timedelta(hours=4)  # a post later than this after its fire is never sent
# A claim holds its row this long: longer than any one send takes (HTTP timeouts, pacing),
# short enough that a crashed sender's rows are retaken well inside the grace window.
DEFAULT_LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(minutes=30)
RETENTION = timedelta(days=90)  # finished ledger rows kept (> HISTORY_LOOKBACK + RECENT_PAPER)
MISSED_RECORDED = timedelta(days=8)  # how far back an outage's missed fires are recorded


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... up to :data:`MAX_BACKOFF`."""
    return min(MAX_BACKOFF, timedelta(seconds=30 * 2 ** max(0, min(attempts - 1, 10))))


@dataclass(slots=True)
class TickReport:
    """What one pass did, by outcome."""

    planned: int = 0
    missed: int = 0
    sent: int = 0
    silent: int = 0
    retrying: int = 0
    failed: int = 0
    found_already_sent: int = 0
