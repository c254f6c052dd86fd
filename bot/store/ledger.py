"""The delivery ledger: the only truth of what was sent, to whom, and what is still owed.

One row per (target, digest key) moves ``pending → claimed → sent | failed`` (or ``missed``
when it fell due too long ago to be sent late). A sender claims a row, sends, then marks it
with the platform message id. A claim is a **lease**: it holds the row until
``lease_until``, and only an expired lease is ever taken over (by this process after a
crash, or by another one), so a sender that is alive and sending keeps its rows. Each claim
carries a new random token, the **fencing token**: every write a sender makes afterwards
(content, mark sent, mark failed) names it and is refused once another sender holds the
row, so a sender whose lease ran out (it hung) can no longer mark it. ``sent_papers``
records every paper a target has received, so a paper reaches a target at most once across
days, digests and DMs.

:mod:`bot.delivery.dispatcher` drives it: planning fires, the catch-up pass, claim → send → mark.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from bot.model.delivery import (
    Content,
    Delivery,
    DeliveryKey,
    KeyKind,
)
from bot.store.records import (
    DELIVERY_COLUMNS,
    delivery_from_row,
    instant,
)
from bot.store.rows import ts
from bot.store.section import Section


class Ledger(Section):
    """Deliveries and sent papers, on the store's connection (targets: :mod:`.targets`)."""

    _what = "ledger"

    # -- deliveries ------------------------------------------------------------------------

    async def plan(self, target_id: int, key: DeliveryKey, *, due_at: datetime) -> Delivery:
        """The delivery for (target, key), created ``pending`` if new; never duplicated."""
        await self._write_one(
            "INSERT INTO deliveries (target_id, digest_key, due_at) VALUES (?, ?, ?) "
            "ON CONFLICT (target_id, digest_key) DO NOTHING",
            (target_id, str(key), ts(due_at)),
        )
        row = await self._one(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE target_id = ? AND digest_key = ?",
            (target_id, str(key)),
        )
        assert row is not None
        return delivery_from_row(row)

    async def claim(self, delivery_id: int, *, now: datetime, lease: timedelta) -> Delivery | None:
        """Claim a delivery for sending until ``now + lease``, or ``None`` if it is not
        claimable now.

        Claimable: ``pending`` and not waiting for a backoff, or ``claimed`` under a lease
        that has expired. The claim is one atomic UPDATE, so two senders (or processes) can
        never both hold it; the returned row carries the new fencing token.
        """
        row = await self._write_one(
            "UPDATE deliveries SET state = 'claimed', claimed_at = :now, lease_until = :until, "
            "claim_token = :token, attempts = attempts + 1 "
            "WHERE id = :id AND ("
            "  (state = 'pending' AND (next_try_at IS NULL OR next_try_at <= :now))"
            "  OR (state = 'claimed' AND lease_until <= :now)"
            f") RETURNING {DELIVERY_COLUMNS}",
            {
                "id": delivery_id,
                "now": ts(now),
                "until": ts(now + lease),
                "token": secrets.token_hex(8),
            },
        )
        return delivery_from_row(row) if row is not None else None

    async def claim_due(
        self, *, now: datetime, lease: timedelta, limit: int, platforms: Sequence[str]
    ) -> list[Delivery]:
        """Claim every due, claimable row of up to *limit* targets on *platforms* that no
        one else is working on (no row under a live lease), earliest due first.

        One UPDATE, one write transaction: SQLite has one writer, so the choice of targets and the
        claim of their rows cannot interleave with another claimer's. Each row gets a new
        fencing token."""
        if limit < 1 or not platforms:
            return []
        names = {f"p{n}": platform for n, platform in enumerate(platforms)}
        claimable = (
            "d.due_at <= :now AND ("
            "(d.state = 'pending' AND (d.next_try_at IS NULL OR d.next_try_at <= :now)) "
            "OR (d.state = 'claimed' AND d.lease_until <= :now))"
        )
        rows = await self._write(
            f"UPDATE deliveries AS d SET state = 'claimed', claimed_at = :now, "
            "lease_until = :until, claim_token = lower(hex(randomblob(8))), "
            f"attempts = attempts + 1 WHERE {claimable} AND d.target_id IN ("
            f"  SELECT d.target_id FROM deliveries d JOIN targets t ON t.id = d.target_id"
            f"  WHERE {claimable} AND t.platform IN ({', '.join(':' + n for n in names)})"
            "   AND NOT EXISTS (SELECT 1 FROM deliveries h WHERE h.target_id = d.target_id"
            "     AND h.state = 'claimed' AND h.lease_until > :now)"
            "  GROUP BY d.target_id ORDER BY MIN(d.due_at), MIN(d.id) LIMIT :limit"
            f") RETURNING {DELIVERY_COLUMNS}",
            {"now": ts(now), "until": ts(now + lease), "limit": limit, **names},
        )
        return sorted((delivery_from_row(row) for row in rows), key=lambda d: (d.due_at, d.id))

    async def renew(
        self, claimed: Sequence[Delivery], *, now: datetime, lease: timedelta
    ) -> set[int]:
        """Extend the leases of *claimed* rows still held under their tokens to ``now +
        lease``; the ids still held (see :meth:`LedgerStore.renew`)."""
        held: set[int] = set()
        if not claimed:
            return held
        until = ts(now + lease)
        async with self._transaction("renewing leases failed") as conn:
            for row in claimed:
                async with conn.execute(
                    "UPDATE deliveries SET lease_until = ? WHERE id = ? AND state = 'claimed' "
                    "AND claim_token = ? RETURNING id",
                    (until, row.id, row.claim_token),
                ) as cur:
                    if await cur.fetchone() is not None:
                        held.add(row.id)
        return held

    async def set_content(self, claimed: Delivery, content: Content) -> bool:
        """Record what a claimed delivery carries, before it is sent (see module docstring)."""
        row = await self._write_one(
            "UPDATE deliveries SET content = ? WHERE id = ? AND state = 'claimed' "
            "AND claim_token = ? RETURNING id",
            (content.to_json(), claimed.id, claimed.claim_token),
        )
        return row is not None

    async def recent(self, target_ids: Sequence[int], *, since: datetime) -> list[Delivery]:
        """The targets' deliveries due since *since*, newest first (for ``status``)."""
        if not target_ids:
            return []
        marks = ", ".join("?" * len(target_ids))
        rows = await self._rows(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE target_id IN ({marks}) "
            "AND due_at >= ? ORDER BY due_at DESC, id DESC LIMIT 50",
            (*target_ids, ts(since)),
        )
        return [delivery_from_row(row) for row in rows]

    async def last_sent(self, target_id: int, kind: KeyKind) -> Delivery | None:
        """The target's latest ``sent`` delivery of *kind* (a range on the (target, key)
        index)."""
        row = await self._one(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE target_id = ? AND state = 'sent' "
            "AND digest_key >= ? AND digest_key < ? ORDER BY due_at DESC, id DESC LIMIT 1",
            (target_id, *DeliveryKey.text_range(kind)),
        )
        return delivery_from_row(row) if row is not None else None

    async def last_sent_subs(
        self, target_ids: Sequence[int], *, since: datetime
    ) -> dict[int, datetime]:
        """Subscription id → due time of its latest ``sent`` DM (keys ``sub:<id>:<day>``)
        among these targets' deliveries due since *since*: one query per 500 targets."""
        found: dict[int, datetime] = {}
        rows = await self._rows_in(
            "SELECT digest_key, due_at FROM deliveries WHERE target_id IN ({ids}) "
            "AND state = 'sent' AND due_at >= ? AND digest_key >= ? AND digest_key < ?",
            sorted(set(target_ids)),
            after=(ts(since), *DeliveryKey.text_range("sub")),
        )
        for row in rows:
            sub_id = DeliveryKey.parse(row["digest_key"]).subscription
            when = datetime.fromisoformat(row["due_at"])
            if sub_id is not None and (sub_id not in found or when > found[sub_id]):
                found[sub_id] = when
        return found

    async def plan_many(
        self, rows: Sequence[tuple[int, DeliveryKey, datetime, bool]], *, missed_reason: str
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
                        str(key),
                        ts(due),
                        "missed" if late else "pending",
                        missed_reason if late else None,
                    )
                    for tid, key, due, late in rows
                ],
            )

    async def next_retry(self) -> datetime | None:
        """When a delivery next becomes claimable again: the earliest end of a backoff
        (``pending``) or of a lease (``claimed``, its sender may have died)."""
        row = await self._one(
            "SELECT MIN(at) AS at FROM ("
            "  SELECT MIN(next_try_at) AS at FROM deliveries WHERE state = 'pending'"
            "  UNION ALL SELECT MIN(lease_until) FROM deliveries WHERE state = 'claimed')"
        )
        return instant(row["at"]) if row is not None else None

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
            "UPDATE deliveries SET state = ?, next_try_at = ?, last_error = ?, claim_token = NULL, "
            "lease_until = NULL "
            "WHERE id = ? AND state = 'claimed' AND claim_token = ? RETURNING id",
            (state, retry, error[:500], claimed.id, claimed.claim_token),
        )
        return row is not None

    async def mark_missed(
        self, delivery_id: int, *, reason: str, claim_token: str | None = None
    ) -> bool:
        """Give up on a delivery that fell due too long ago to be sent late. With
        *claim_token*, only while that claim still holds it (a sender whose lease was
        retaken must not overwrite the new holder's outcome)."""
        where = "state IN ('pending', 'claimed')"
        params: list[object] = [reason, delivery_id]
        if claim_token is not None:
            where = "state = 'claimed' AND claim_token = ?"
            params.append(claim_token)
        row = await self._write_one(
            f"UPDATE deliveries SET state = 'missed', last_error = ? WHERE id = ? AND {where} "
            "RETURNING id",
            params,
        )
        return row is not None

    async def open_deliveries(self, *, now: datetime) -> list[Delivery]:
        """Deliveries to work on now: due and pending (past any backoff), or claimed under
        a lease that has expired."""
        rows = await self._rows(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE due_at <= :now AND ("
            "  (state = 'pending' AND (next_try_at IS NULL OR next_try_at <= :now))"
            "  OR (state = 'claimed' AND lease_until <= :now)"
            ") ORDER BY due_at, id",
            {"now": ts(now)},
        )
        return [delivery_from_row(row) for row in rows]

    async def backlog(self, *, now: datetime) -> dict[str, int]:
        """How many deliveries are ``due`` (pending, due, past any backoff), ``retrying``
        (pending, backing off), ``claimed`` (being sent) and ``failed`` (for good, kept
        until pruned) now: the ledger's backlog for monitoring."""
        row = await self._one(
            "SELECT"
            " SUM(state = 'pending' AND due_at <= ?1"
            "     AND (next_try_at IS NULL OR next_try_at <= ?1)) AS due,"
            " SUM(state = 'pending' AND next_try_at > ?1) AS retrying,"
            " SUM(state = 'claimed') AS claimed,"
            " SUM(state = 'failed') AS failed"
            " FROM deliveries WHERE state IN ('pending', 'claimed', 'failed')",
            (ts(now),),
        )
        names = ("due", "retrying", "claimed", "failed")
        return {name: int(row[name] or 0) if row is not None else 0 for name in names}

    async def prune(self, *, before: datetime) -> int:
        """Forget finished deliveries due before *before*, with the papers they recorded
        (``sent_papers`` cascades); pending and claimed rows are never pruned."""
        rows = await self._write(
            "DELETE FROM deliveries WHERE due_at < ? AND state IN ('sent', 'failed', 'missed') "
            "RETURNING id",
            (ts(before),),
        )
        return len(rows)

    async def has_delivery(self, target_id: int, key: DeliveryKey) -> bool:
        """Whether the target already has a ledger row for *key* (in any state)."""
        row = await self._one(
            "SELECT 1 FROM deliveries WHERE target_id = ? AND digest_key = ?",
            (target_id, str(key)),
        )
        return row is not None

    async def promised(self, target_id: int, *, besides: int) -> list[Content]:
        """The contents of the target's other deliveries that are composed but not yet
        sent: papers those will carry must not go out in another one meanwhile."""
        rows = await self._rows(
            "SELECT content FROM deliveries WHERE target_id = ? AND id != ? "
            "AND state IN ('pending', 'claimed') AND content IS NOT NULL",
            (target_id, besides),
        )
        return [Content.from_json(row["content"]) for row in rows]

    async def already_sent(self, target_id: int, paper_ids: Sequence[str]) -> set[str]:
        """Which of *paper_ids* this target has already received."""
        rows = await self._rows_in(
            "SELECT paper_id FROM sent_papers WHERE target_id = ? AND paper_id IN ({ids})",
            paper_ids,
            before=(target_id,),
        )
        return {str(row["paper_id"]) for row in rows}
