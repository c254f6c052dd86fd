"""Who runs the clock when several processes share one PostgreSQL database.

Exactly one process at a time holds a session-level advisory lock
(``pg_try_advisory_lock``) on a connection of its own: that process leads (it plans what
fell due, refreshes Daily Papers and keeps house); every process, leader or not, sends.
PostgreSQL drops the lock with the session, so when a leader dies (even by SIGKILL) its
socket closes, the lock goes, and the next follower to try (every :data:`LEAD_RETRY`)
takes over. A leader checks its session at the same pace and stops leading the moment the
session is gone, so two leaders never overlap by more than one check; even then nothing
doubles, since planning is idempotent and sending goes through leased claims.

The same connection listens for work: a trigger on ``deliveries`` notifies
``papersbot_due`` when rows are planned (followers wake and claim their share), and
triggers on the schedules notify ``papersbot_schedules`` (the leader re-arms its alarm for a
schedule a command changed in another process).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable

import asyncpg

from bot.store.pg.section import DB_ERRORS

log = logging.getLogger(__name__)

# The server must notice a leader whose host died or was cut off (no FIN on the socket):
# keepalives after 5 s of silence, every 5 s, 3 misses, and unacknowledged data for 20 s end
# the session, and with it the lock, within about 20 s (plus a follower's retry).
SESSION_KEEPALIVE = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "20000",
}
CLOCK = "clock"  # the role of the leader proper
LEADER_LOCK = 0x7061706572736274  # "papersbt": the advisory lock key of the clock
LEAD_RETRY = 5.0  # seconds between a follower's attempts, and a leader's session checks
CHECK_TIMEOUT = 5.0
DUE = "papersbot_due"
SCHEDULES = "papersbot_schedules"


def lock_key(role: str) -> int:
    """The advisory lock key of *role*: :data:`LEADER_LOCK` for the clock, else a stable
    64-bit hash of the name (``adapter:discord``: who holds Discord's one gateway session)."""
    if role == CLOCK:
        return LEADER_LOCK
    digest = hashlib.blake2b(f"papersbot:{role}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PgLeadership:
    """A leader lock (the clock's, or another role's) and, for the clock, the work
    notifications, on one dedicated connection."""

    retry = LEAD_RETRY

    def __init__(self, dsn: str, role: str = CLOCK) -> None:
        self._dsn = dsn
        self._key = lock_key(role)
        self._listens = role == CLOCK
        self._conn: asyncpg.Connection | None = None
        self._work = asyncio.Event()
        self._on_schedules: Callable[[], None] | None = None
        self._leading = False

    @property
    def leading(self) -> bool:
        return self._leading

    def on_schedule_change(self, callback: Callable[[], None] | None) -> None:
        """Call *callback* when any process changes a schedule (the leader re-arms)."""
        self._on_schedules = callback

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._leading = False
            conn = await asyncpg.connect(
                self._dsn, timeout=CHECK_TIMEOUT, server_settings=SESSION_KEEPALIVE
            )
            if self._listens:
                await conn.add_listener(DUE, self._notified)
                await conn.add_listener(SCHEDULES, self._notified)
            self._conn = conn
        return self._conn

    def _notified(self, _conn: object, _pid: int, channel: str, _payload: object) -> None:
        if channel == SCHEDULES:
            if self._leading and self._on_schedules is not None:
                self._on_schedules()
            return
        self._work.set()

    async def try_lead(self) -> bool:
        """Take the lead if no other process holds it; ``True`` while this one does."""
        try:
            conn = await self._connection()
            if not self._leading:
                got = await conn.fetchval(
                    "SELECT pg_try_advisory_lock($1)", self._key, timeout=CHECK_TIMEOUT
                )
                self._leading = bool(got)
            return self._leading
        except (TimeoutError, *DB_ERRORS) as exc:
            log.warning("cannot reach the database to take the lead: %s", exc)
            await self._drop()
            return False

    async def holding(self) -> bool:
        """Whether this process still leads: its session answers (the lock lives with it)."""
        if not self._leading or self._conn is None or self._conn.is_closed():
            self._leading = False
            return False
        try:
            await self._conn.fetchval("SELECT 1", timeout=CHECK_TIMEOUT)
        except (TimeoutError, *DB_ERRORS) as exc:
            log.error("lost the database session that held the lead: %s", exc)
            await self._drop()
            return False
        return True

    async def wait_for_work(self, seconds: float) -> None:
        """Until rows are planned by any process, or *seconds* pass."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._work.wait(), seconds)
        self._work.clear()

    async def _drop(self) -> None:
        self._leading = False
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()  # never wait on a session that stopped answering

    async def close(self) -> None:
        """Leave: the lock goes with the session, so a follower takes over at once."""
        self._leading = False
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), CHECK_TIMEOUT)
            except (TimeoutError, *DB_ERRORS):
                conn.terminate()
