"""The delivery ledger: the only truth of what was sent, to whom, and what is still owed.

One row per (target, digest key) moves ``pending → claimed → sent | failed`` (or ``missed``
when it fell due too long ago to be sent late). A sender claims a row, sends, then marks it
with the platform message id; the claim carries a random token so a sender whose claim went
stale (it crashed, or hung) can no longer mark the row. ``sent_papers`` records every paper
a target has received, so a paper reaches a target at most once across days, digests and DMs.

:mod:`bot.delivery.dispatcher` drives it: planning fires, the catch-up pass, claim → send → mark.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.store.rows import ts
from bot.store.section import Section

Kind = Literal["channel", "user"]
State = Literal["pending", "claimed", "sent", "failed", "missed"]

_DELIVERY_COLUMNS = (
    "id, target_id, digest_key, due_at, state, attempts, claimed_at, claim_token, next_try_at, "
    "sent_at, message_id, last_error, content"
)


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class Target:
    """Where deliveries go: a channel, or a user's DM, on one platform and workspace."""

    id: int
    platform: str
    workspace: str
    kind: Kind
    address: str
    disabled_at: datetime | None = None
    disabled_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One ledger row."""

    id: int
    target_id: int
    digest_key: str
    due_at: datetime
    state: State
    attempts: int
    claimed_at: datetime | None
    claim_token: str | None
    next_try_at: datetime | None
    sent_at: datetime | None
    message_id: str | None
    last_error: str | None
    content: str | None = None  # JSON, once composed: {"kind": ..., "papers": [...]}


def _delivery(row: Sequence[object]) -> Delivery:
    return Delivery(
        id=int(str(row[0])),
        target_id=int(str(row[1])),
        digest_key=str(row[2]),
        due_at=datetime.fromisoformat(str(row[3])),
        state=str(row[4]),  # type: ignore[arg-type]
        attempts=int(str(row[5])),
        claimed_at=_dt(row[6]),  # type: ignore[arg-type]
        claim_token=row[7],  # type: ignore[arg-type]
        next_try_at=_dt(row[8]),  # type: ignore[arg-type]
        sent_at=_dt(row[9]),  # type: ignore[arg-type]
        message_id=row[10],  # type: ignore[arg-type]
        last_error=row[11],  # type: ignore[arg-type]
        content=row[12],  # type: ignore[arg-type]
    )


class Ledger(Section):
    """Targets, deliveries and sent papers, on the store's connection."""

    _what = "ledger"

    # -- targets ---------------------------------------------------------------------------

    async def target(self, platform: str, workspace: str, kind: Kind, address: str) -> Target:
        """The target with these coordinates, created on first use."""
        await self._write_one(
            "INSERT INTO targets (platform, workspace, kind, address) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (platform, workspace, kind, address) DO NOTHING",
            (platform, workspace, kind, address),
        )
        found = await self.find_target(platform, workspace, kind, address)
        assert found is not None
        return found

    async def find_target(
        self, platform: str, workspace: str, kind: Kind, address: str
    ) -> Target | None:
        """The target with these coordinates, if it exists (never creates one)."""
        row = await self._one(
            "SELECT id, platform, workspace, kind, address, disabled_at, disabled_reason "
            "FROM targets WHERE platform = ? AND workspace = ? AND kind = ? AND address = ?",
            (platform, workspace, kind, address),
        )
        return Target(row[0], row[1], row[2], row[3], row[4], _dt(row[5]), row[6]) if row else None

    async def target_by_id(self, target_id: int) -> Target | None:
        row = await self._one(
            "SELECT id, platform, workspace, kind, address, disabled_at, disabled_reason "
            "FROM targets WHERE id = ?",
            (target_id,),
        )
        return Target(row[0], row[1], row[2], row[3], row[4], _dt(row[5]), row[6]) if row else None

    async def enable(self, target_id: int, *, owner: str | None = None) -> None:
        """Deliver to a target again (its owner set it up anew) and record who owns it."""
        await self._write_one(
            "UPDATE targets SET disabled_at = NULL, disabled_reason = NULL, owner_told = 0, "
            "owner = COALESCE(?, owner) WHERE id = ?",
            (owner, target_id),
        )

    async def untold(self, platform: str, user_id: str) -> list[Target]:
        """Disabled targets this user owns and has not been told about yet; marks them told."""
        rows = await self._write(
            "UPDATE targets SET owner_told = 1 WHERE platform = ? AND disabled_at IS NOT NULL "
            "AND owner_told = 0 AND (owner = ? OR (kind = 'user' AND address = ?)) "
            "RETURNING id, platform, workspace, kind, address, disabled_at, disabled_reason",
            (platform, user_id, user_id),
        )
        return [Target(r[0], r[1], r[2], r[3], r[4], _dt(r[5]), r[6]) for r in rows]

    async def disable(self, target_id: int, *, now: datetime, reason: str) -> None:
        """Stop delivering to a target after a permanent failure (deleted channel, blocked DMs)."""
        await self._write_one(
            "UPDATE targets SET disabled_at = ?, disabled_reason = ?, owner_told = 0 "
            "WHERE id = ? AND disabled_at IS NULL",
            (ts(now), reason, target_id),
        )

    # -- deliveries ------------------------------------------------------------------------

    async def plan(self, target_id: int, digest_key: str, *, due_at: datetime) -> Delivery:
        """The delivery for (target, key), created ``pending`` if new; never duplicated."""
        await self._write_one(
            "INSERT INTO deliveries (target_id, digest_key, due_at) VALUES (?, ?, ?) "
            "ON CONFLICT (target_id, digest_key) DO NOTHING",
            (target_id, digest_key, ts(due_at)),
        )
        row = await self._one(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE target_id = ? AND digest_key = ?",
            (target_id, digest_key),
        )
        assert row is not None
        return _delivery(row)

    async def claim(
        self, delivery_id: int, *, now: datetime, stale_after: timedelta
    ) -> Delivery | None:
        """Claim a delivery for sending, or ``None`` if it is not claimable now.

        Claimable: ``pending`` and not waiting for a backoff, or ``claimed`` by a sender whose
        claim is older than *stale_after*. The claim is one atomic UPDATE, so two senders can
        never both hold it.
        """
        row = await self._write_one(
            "UPDATE deliveries SET state = 'claimed', claimed_at = :now, claim_token = :token, "
            "attempts = attempts + 1 "
            "WHERE id = :id AND ("
            "  (state = 'pending' AND (next_try_at IS NULL OR next_try_at <= :now))"
            "  OR (state = 'claimed' AND claimed_at <= :stale)"
            f") RETURNING {_DELIVERY_COLUMNS}",
            {
                "id": delivery_id,
                "now": ts(now),
                "stale": ts(now - stale_after),
                "token": secrets.token_hex(8),
            },  # type: ignore[arg-type]
        )
        return _delivery(row) if row is not None else None

    async def set_content(self, claimed: Delivery, content: str) -> bool:
        """Record what a claimed delivery carries, before it is sent (see module docstring)."""
        row = await self._write_one(
            "UPDATE deliveries SET content = ? WHERE id = ? AND state = 'claimed' "
            "AND claim_token = ? RETURNING id",
            (content, claimed.id, claimed.claim_token),
        )
        return row is not None

    async def recent(self, target_ids: Sequence[int], *, since: datetime) -> list[Delivery]:
        """The targets' deliveries due since *since*, newest first (for ``status``)."""
        if not target_ids:
            return []
        marks = ", ".join("?" * len(target_ids))
        async with self._conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE target_id IN ({marks}) "
            "AND due_at >= ? ORDER BY due_at DESC, id DESC LIMIT 50",
            (*target_ids, ts(since)),
        ) as cur:
            return [_delivery(row) async for row in cur]

    async def last_sent(self, target_id: int, key_prefix: str) -> Delivery | None:
        """The target's latest ``sent`` delivery whose key starts with *key_prefix*
        (a range on the (target, key) index; prefixes end with ``:``)."""
        row = await self._one(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE target_id = ? AND state = 'sent' "
            "AND digest_key >= ? AND digest_key < ? ORDER BY due_at DESC, id DESC LIMIT 1",
            (target_id, key_prefix, key_prefix[:-1] + chr(ord(key_prefix[-1]) + 1)),
        )
        return _delivery(row) if row is not None else None

    async def last_sent_subs(
        self, target_ids: Sequence[int], *, since: datetime
    ) -> dict[int, datetime]:
        """Subscription id → due time of its latest ``sent`` DM (keys ``sub:<id>:<day>``)
        among these targets' deliveries due since *since*: one query per 500 targets."""
        found: dict[int, datetime] = {}
        unique = sorted(set(target_ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            async with self._conn.execute(
                f"SELECT digest_key, due_at FROM deliveries WHERE target_id IN ({marks}) "
                "AND state = 'sent' AND due_at >= ? AND digest_key >= 'sub:' "
                "AND digest_key < 'sub;'",
                (*chunk, ts(since)),
            ) as cur:
                async for key, due in cur:
                    sub_id, when = int(str(key).split(":")[1]), datetime.fromisoformat(due)
                    if when > found.get(sub_id, when - timedelta(seconds=1)):
                        found[sub_id] = when
        return found

    async def plan_many(
        self, rows: Sequence[tuple[int, str, datetime, bool]], *, missed_reason: str
    ) -> None:
        """Plan (target id, key, due at, missed?) rows in one transaction; existing rows are
        left alone, so planning twice is harmless. Missed ones are recorded, never sent."""
        if not rows:
            return
        async with self._transaction() as conn:
            await conn.executemany(
                "INSERT INTO deliveries (target_id, digest_key, due_at, state, last_error) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (target_id, digest_key) DO NOTHING",
                [
                    (
                        tid,
                        key,
                        ts(due),
                        "missed" if late else "pending",
                        missed_reason if late else None,
                    )
                    for tid, key, due, late in rows
                ],
            )

    async def disabled_targets(self) -> set[int]:
        async with self._conn.execute(
            "SELECT id FROM targets WHERE disabled_at IS NOT NULL"
        ) as cur:
            return {int(row[0]) async for row in cur}

    async def next_retry(self) -> datetime | None:
        """The earliest ``next_try_at`` of a pending delivery (when a backoff ends)."""
        row = await self._one("SELECT MIN(next_try_at) FROM deliveries WHERE state = 'pending'", ())
        return _dt(row[0]) if row is not None else None

    async def mark_sent(
        self,
        claimed: Delivery,
        *,
        now: datetime,
        message_id: str | None,
        paper_ids: Iterable[str] = (),
    ) -> bool:
        """Record a successful send and the papers it carried; ``False`` if the claim was lost."""
        async with self._transaction() as conn:
            async with conn.execute(
                "UPDATE deliveries SET state = 'sent', sent_at = ?, message_id = ?, "
                "last_error = NULL WHERE id = ? AND state = 'claimed' AND claim_token = ?",
                (ts(now), message_id, claimed.id, claimed.claim_token),
            ) as cur:
                won = cur.rowcount == 1
            if won:
                await conn.executemany(
                    "INSERT OR IGNORE INTO sent_papers "
                    "(target_id, paper_id, delivery_id, sent_at) VALUES (?, ?, ?, ?)",
                    [(claimed.target_id, pid, claimed.id, ts(now)) for pid in paper_ids],
                )
        return won

    async def mark_failed(
        self, claimed: Delivery, *, now: datetime, error: str, retry_at: datetime | None
    ) -> bool:
        """A failed attempt: back to ``pending`` until *retry_at*, or ``failed`` for good."""
        state, retry = ("pending", ts(retry_at)) if retry_at is not None else ("failed", None)
        row = await self._write_one(
            "UPDATE deliveries SET state = ?, next_try_at = ?, last_error = ?, claim_token = NULL "
            "WHERE id = ? AND state = 'claimed' AND claim_token = ? RETURNING id",
            (state, retry, error[:500], claimed.id, claimed.claim_token),
        )
        return row is not None

    async def mark_missed(self, delivery_id: int, *, reason: str) -> None:
        """Give up on a delivery that fell due too long ago to be sent late."""
        await self._write_one(
            "UPDATE deliveries SET state = 'missed', last_error = ? "
            "WHERE id = ? AND state IN ('pending', 'claimed')",
            (reason, delivery_id),
        )

    async def open_deliveries(self, *, now: datetime, stale_after: timedelta) -> list[Delivery]:
        """Deliveries to work on now: due and pending (past any backoff), or claimed but
        stale."""
        async with self._conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE due_at <= :now AND ("
            "  (state = 'pending' AND (next_try_at IS NULL OR next_try_at <= :now))"
            "  OR (state = 'claimed' AND claimed_at <= :stale)"
            ") ORDER BY due_at, id",
            {"now": ts(now), "stale": ts(now - stale_after)},
        ) as cur:
            return [_delivery(row) async for row in cur]

    async def prune(self, *, before: datetime) -> int:
        """Forget finished deliveries due before *before*, with the papers they recorded
        (``sent_papers`` cascades); pending and claimed rows are never pruned."""
        rows = await self._write(
            "DELETE FROM deliveries WHERE due_at < ? AND state IN ('sent', 'failed', 'missed') "
            "RETURNING id",
            (ts(before),),
        )
        return len(rows)

    async def has_delivery(self, target_id: int, digest_key: str) -> bool:
        """Whether the target already has a ledger row for *digest_key* (in any state)."""
        row = await self._one(
            "SELECT 1 FROM deliveries WHERE target_id = ? AND digest_key = ?",
            (target_id, digest_key),
        )
        return row is not None

    async def promised(self, target_id: int, *, besides: int) -> list[str]:
        """The stored contents (JSON) of the target's other deliveries that are composed but
        not yet sent: papers those will carry must not go out in another one meanwhile."""
        async with self._conn.execute(
            "SELECT content FROM deliveries WHERE target_id = ? AND id != ? "
            "AND state IN ('pending', 'claimed') AND content IS NOT NULL",
            (target_id, besides),
        ) as cur:
            return [str(row[0]) async for row in cur]

    async def already_sent(self, target_id: int, paper_ids: Sequence[str]) -> set[str]:
        """Which of *paper_ids* this target has already received."""
        found: set[str] = set()
        for start in range(0, len(paper_ids), 500):
            chunk = list(paper_ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            async with self._conn.execute(
                f"SELECT paper_id FROM sent_papers WHERE target_id = ? AND paper_id IN ({marks})",
                (target_id, *chunk),
            ) as cur:
                found.update([str(row[0]) async for row in cur])
        return found
