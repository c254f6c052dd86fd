"""The delivery ledger on PostgreSQL: the behaviour of :mod:`bot.store.ledger`, shared by
any number of processes.

Rows move ``pending → claimed → sent | failed`` (or ``missed``); a claim is a lease with a
fresh fencing token, and every later write names the token, so a sender whose lease was
taken over cannot mark the row. :meth:`PgLedger.claim_due` is how processes split the
fan-out: it locks the chosen targets' rows with ``FOR UPDATE SKIP LOCKED`` (concurrent
claimers pass over each other's targets instead of waiting) and claims their due rows in
the same transaction, re-checking for live leases once the locks are held, because under
READ COMMITTED each statement sees what committed before it started. Its candidates are
read in due order along a partial index of the unsent rows (``deliveries_unsent``), a small
window at a time, so a claim costs about the same whether a hundred rows are due or a
hundred thousand.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import asyncpg

from bot.model.delivery import Content, Delivery, DeliveryKey, KeyKind
from bot.store.pg.section import PgSection
from bot.store.records import DELIVERY_COLUMNS, delivery_from_row, instant
from bot.store.rows import ts

# A row a sender may take now ($1 is now): pending past any backoff, or an expired lease.
_CLAIMABLE = (
    "((d.state = 'pending' AND (d.next_try_at IS NULL OR d.next_try_at <= $1)) "
    "OR (d.state = 'claimed' AND d.lease_until <= $1))"
)
# Someone holds one of the target's rows under a live lease ($1 is now).
_HELD = (
    "EXISTS (SELECT 1 FROM deliveries h WHERE h.target_id = {target} "
    "AND h.state = 'claimed' AND h.lease_until > $1)"
)
WINDOW = 8  # candidate rows read per target wanted (targets have a few rows each)
_CLAIM = "state = 'claimed', claimed_at = $1, lease_until = $2, attempts = d.attempts + 1"
_D_COLUMNS = ", ".join(f"d.{column.strip()}" for column in DELIVERY_COLUMNS.split(","))


def _token() -> str:
    return secrets.token_hex(8)


class PgLedger(PgSection):
    """Deliveries and sent papers (targets: :mod:`.targets`)."""

    _what = "ledger"

    async def plan(self, target_id: int, key: DeliveryKey, *, due_at: datetime) -> Delivery:
        """The delivery for (target, key), created ``pending`` if new; never duplicated."""
        await self._write(
            "INSERT INTO deliveries (target_id, digest_key, due_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (target_id, digest_key) DO NOTHING",
            target_id,
            str(key),
            ts(due_at),
        )
        row = await self._one(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE target_id = $1 AND digest_key = $2",
            target_id,
            str(key),
        )
        assert row is not None
        return delivery_from_row(row)

    async def claim(self, delivery_id: int, *, now: datetime, lease: timedelta) -> Delivery | None:
        """Claim a delivery for sending until ``now + lease``, or ``None`` if it is not
        claimable now (one atomic UPDATE; the row carries the new fencing token)."""
        row = await self._write_one(
            f"UPDATE deliveries AS d SET {_CLAIM}, claim_token = $3 "
            f"WHERE d.id = $4 AND {_CLAIMABLE} RETURNING {_D_COLUMNS}",
            ts(now),
            ts(now + lease),
            _token(),
            delivery_id,
        )
        return delivery_from_row(row) if row is not None else None

    async def claim_due(
        self, *, now: datetime, lease: timedelta, limit: int, platforms: Sequence[str]
    ) -> list[Delivery]:
        """Claim every due, claimable row of up to *limit* targets on *platforms* that no
        one else is working on (no row under a live lease), earliest due first.

        Safe across processes: the targets are locked ``FOR UPDATE SKIP LOCKED``, so
        concurrent claimers split them; the claim re-checks the live leases after the lock
        (a claimer that just committed the same target is seen by the second statement).
        When every candidate's target is locked by another claimer, it reads further."""
        if limit < 1 or not platforms:
            return []
        window = limit * WINDOW
        while True:
            seen, chosen, rows = await self._claim_targets(
                now, lease, limit, list(platforms), window
            )
            if rows:
                break
            if not chosen:  # every candidate is being claimed by someone else
                if seen < window:
                    break  # and there are no others: nothing is left to claim
                window *= 4
            # else: another claimer took the locked targets' rows between our snapshot and
            # our lock; look again (a fresh snapshot) rather than report "nothing due".
        claimed = [delivery_from_row(row) for row in rows]
        return sorted(claimed, key=lambda d: (d.due_at, d.id))

    async def _claim_targets(
        self, now: datetime, lease: timedelta, limit: int, platforms: list[str], window: int
    ) -> tuple[int, list[int], list[asyncpg.Record]]:
        """One try of :meth:`claim_due`: how many candidate rows were read (at most
        *window*, earliest due first, along the ``deliveries_unsent`` index), the targets
        locked, and the rows claimed."""
        async with self._transaction("claiming due deliveries failed") as conn:
            candidates = await conn.fetch(
                "SELECT d.target_id FROM deliveries d JOIN targets t ON t.id = d.target_id "
                f"WHERE d.state IN ('pending', 'claimed') AND d.due_at <= $1 AND {_CLAIMABLE} "
                f"AND t.platform = ANY($2::text[]) AND NOT {_HELD.format(target='d.target_id')} "
                "ORDER BY d.due_at, d.id LIMIT $3",
                ts(now),
                platforms,
                window,
            )
            order = list(dict.fromkeys(int(row["target_id"]) for row in candidates))
            chosen = [
                int(row["id"])
                for row in await conn.fetch(
                    "SELECT id FROM targets WHERE id = ANY($1::bigint[]) "
                    "ORDER BY array_position($1::bigint[], id) LIMIT $2 FOR UPDATE SKIP LOCKED",
                    order,
                    limit,
                )
            ]
            if not chosen:
                return len(candidates), [], []
            rows = await conn.fetch(
                f"UPDATE deliveries AS d SET {_CLAIM}, "
                "claim_token = substr(md5(gen_random_uuid()::text), 1, 16) "
                "WHERE d.target_id = ANY($3::bigint[]) AND d.state IN ('pending', 'claimed') "
                f"AND d.due_at <= $1 AND {_CLAIMABLE} "
                f"AND NOT {_HELD.format(target='d.target_id')} RETURNING {_D_COLUMNS}",
                ts(now),
                ts(now + lease),
                chosen,
            )
        return len(candidates), chosen, list(rows)

    async def renew(
        self, claimed: Sequence[Delivery], *, now: datetime, lease: timedelta
    ) -> set[int]:
        """Extend the leases of *claimed* rows still held under their tokens to ``now +
        lease``; the ids still held (see :meth:`LedgerStore.renew`)."""
        if not claimed:
            return set()
        rows = await self._write(
            "UPDATE deliveries AS d SET lease_until = $1 "
            "FROM unnest($2::bigint[], $3::text[]) AS held (id, token) "
            "WHERE d.id = held.id AND d.state = 'claimed' AND d.claim_token = held.token "
            "RETURNING d.id",
            ts(now + lease),
            [row.id for row in claimed],
            [row.claim_token for row in claimed],
        )
        return {int(row["id"]) for row in rows}

    async def set_content(self, claimed: Delivery, content: Content) -> bool:
        """Record what a claimed delivery carries, before it is sent (fenced by its token)."""
        row = await self._write_one(
            "UPDATE deliveries SET content = $1 WHERE id = $2 AND state = 'claimed' "
            "AND claim_token = $3 RETURNING id",
            content.to_json(),
            claimed.id,
            claimed.claim_token,
        )
        return row is not None

    async def recent(self, target_ids: Sequence[int], *, since: datetime) -> list[Delivery]:
        """The targets' deliveries due since *since*, newest first (for ``status``)."""
        if not target_ids:
            return []
        rows = await self._rows(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE target_id = ANY($1::bigint[]) "
            "AND due_at >= $2 ORDER BY due_at DESC, id DESC LIMIT 50",
            list(target_ids),
            ts(since),
        )
        return [delivery_from_row(row) for row in rows]

    async def last_sent(self, target_id: int, kind: KeyKind) -> Delivery | None:
        """The target's latest ``sent`` delivery of *kind* (a range on the (target, key)
        index)."""
        low, high = DeliveryKey.text_range(kind)
        row = await self._one(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE target_id = $1 AND state = 'sent' "
            "AND digest_key >= $2 AND digest_key < $3 "
            "ORDER BY due_at DESC, id DESC LIMIT 1",
            target_id,
            low,
            high,
        )
        return delivery_from_row(row) if row is not None else None

    async def last_sent_subs(
        self, target_ids: Sequence[int], *, since: datetime
    ) -> dict[int, datetime]:
        """Subscription id → due time of its latest ``sent`` DM (keys ``sub:<id>:<day>``)
        among these targets' deliveries due since *since*."""
        low, high = DeliveryKey.text_range("sub")
        rows = await self._rows(
            "SELECT digest_key, due_at FROM deliveries WHERE target_id = ANY($1::bigint[]) "
            "AND state = 'sent' AND due_at >= $2 AND digest_key >= $3 AND digest_key < $4",
            sorted(set(target_ids)),
            ts(since),
            low,
            high,
        )
        found: dict[int, datetime] = {}
        for row in rows:
            sub_id = DeliveryKey.parse(row["digest_key"]).subscription
            when = datetime.fromisoformat(row["due_at"])
            if sub_id is not None and (sub_id not in found or when > found[sub_id]):
                found[sub_id] = when
        return found

    async def plan_many(
        self, rows: Sequence[tuple[int, DeliveryKey, datetime, bool]], *, missed_reason: str
    ) -> None:
        """Plan (target id, key, due at, missed?) rows in one statement; existing rows are
        left alone, so planning twice (or in two processes) is harmless. Missed ones are
        recorded, never sent."""
        if not rows:
            return
        await self._write(
            "INSERT INTO deliveries (target_id, digest_key, due_at, state, last_error) "
            "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) "
            "ON CONFLICT (target_id, digest_key) DO NOTHING",
            [tid for tid, _, _, _ in rows],
            [str(key) for _, key, _, _ in rows],
            [ts(due) for _, _, due, _ in rows],
            ["missed" if late else "pending" for *_, late in rows],
            [missed_reason if late else None for *_, late in rows],
        )

    async def next_retry(self) -> datetime | None:
        """When a delivery next becomes claimable again: the earliest end of a backoff
        (``pending``) or of a lease (``claimed``, its sender may have died)."""
        value = await self._value(
            "SELECT LEAST("
            "(SELECT MIN(next_try_at) FROM deliveries WHERE state = 'pending'), "
            "(SELECT MIN(lease_until) FROM deliveries WHERE state = 'claimed'))"
        )
        return instant(value)

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
            # The target first, as claim_due takes it (FOR UPDATE, then its rows): recording
            # the papers needs a key-share lock on the target, and taking it after this
            # row's lock would deadlock with a claimer that retook the target meanwhile.
            await conn.execute(
                "SELECT 1 FROM targets WHERE id = $1 FOR KEY SHARE", claimed.target_id
            )
            won = await conn.fetchval(
                "UPDATE deliveries SET state = 'sent', sent_at = $1, message_id = $2, "
                "last_error = NULL WHERE id = $3 AND state = 'claimed' AND claim_token = $4 "
                "RETURNING id",
                ts(now),
                message_id,
                claimed.id,
                claimed.claim_token,
            )
            if won is not None:
                await conn.execute(
                    "INSERT INTO sent_papers (target_id, paper_id, delivery_id, sent_at) "
                    "SELECT $1, p, $2, $3 FROM unnest($4::text[]) AS p "
                    "ON CONFLICT (target_id, paper_id) DO NOTHING",
                    claimed.target_id,
                    claimed.id,
                    ts(now),
                    list(dict.fromkeys(paper_ids)),
                )
        return won is not None

    async def mark_failed(
        self, claimed: Delivery, *, now: datetime, error: str, retry_at: datetime | None
    ) -> bool:
        """A failed attempt: back to ``pending`` until *retry_at*, or ``failed`` for good."""
        state, retry = ("pending", ts(retry_at)) if retry_at is not None else ("failed", None)
        row = await self._write_one(
            "UPDATE deliveries SET state = $1, next_try_at = $2, last_error = $3, "
            "claim_token = NULL, lease_until = NULL "
            "WHERE id = $4 AND state = 'claimed' AND claim_token = $5 RETURNING id",
            state,
            retry,
            error[:500],
            claimed.id,
            claimed.claim_token,
        )
        return row is not None

    async def mark_missed(
        self, delivery_id: int, *, reason: str, claim_token: str | None = None
    ) -> bool:
        """Give up on a delivery that fell due too long ago to be sent late (fenced by
        *claim_token* when given, see :meth:`LedgerStore.mark_missed`)."""
        fence = (
            "state IN ('pending', 'claimed')"
            if claim_token is None
            else ("state = 'claimed' AND claim_token = $3")
        )
        args: list[object] = [reason, delivery_id]
        if claim_token is not None:
            args.append(claim_token)
        rows = await self._write(
            f"UPDATE deliveries SET state = 'missed', last_error = $1 WHERE id = $2 AND {fence} "
            "RETURNING id",
            *args,
        )
        return bool(rows)

    async def open_deliveries(self, *, now: datetime) -> list[Delivery]:
        """Deliveries to work on now: due and pending (past any backoff), or claimed under
        a lease that has expired."""
        rows = await self._rows(
            f"SELECT {_D_COLUMNS} FROM deliveries d WHERE d.due_at <= $1 AND {_CLAIMABLE} "
            "ORDER BY d.due_at, d.id",
            ts(now),
        )
        return [delivery_from_row(row) for row in rows]

    async def backlog(self, *, now: datetime) -> dict[str, int]:
        """How many deliveries are ``due``, ``retrying``, ``claimed`` and ``failed`` now:
        the ledger's backlog for monitoring."""
        row = await self._one(
            "SELECT"
            " COUNT(*) FILTER (WHERE state = 'pending' AND due_at <= $1"
            "   AND (next_try_at IS NULL OR next_try_at <= $1)) AS due,"
            " COUNT(*) FILTER (WHERE state = 'pending' AND next_try_at > $1) AS retrying,"
            " COUNT(*) FILTER (WHERE state = 'claimed') AS claimed,"
            " COUNT(*) FILTER (WHERE state = 'failed') AS failed"
            " FROM deliveries WHERE state IN ('pending', 'claimed', 'failed')",
            ts(now),
        )
        names = ("due", "retrying", "claimed", "failed")
        return {name: int(row[name] or 0) if row is not None else 0 for name in names}

    async def prune(self, *, before: datetime) -> int:
        """Forget finished deliveries due before *before*, with the papers they recorded
        (``sent_papers`` cascades); pending and claimed rows are never pruned."""
        rows = await self._write(
            "DELETE FROM deliveries WHERE due_at < $1 AND state IN ('sent', 'failed', 'missed') "
            "RETURNING id",
            ts(before),
        )
        return len(rows)

    async def has_delivery(self, target_id: int, key: DeliveryKey) -> bool:
        """Whether the target already has a ledger row for *key* (in any state)."""
        row = await self._one(
            "SELECT 1 FROM deliveries WHERE target_id = $1 AND digest_key = $2",
            target_id,
            str(key),
        )
        return row is not None

    async def promised(self, target_id: int, *, besides: int) -> list[Content]:
        """The contents of the target's other deliveries that are composed but not yet
        sent: papers those will carry must not go out in another one meanwhile."""
        rows = await self._rows(
            "SELECT content FROM deliveries WHERE target_id = $1 AND id != $2 "
            "AND state IN ('pending', 'claimed') AND content IS NOT NULL ORDER BY id",
            target_id,
            besides,
        )
        return [Content.from_json(row["content"]) for row in rows]

    async def already_sent(self, target_id: int, paper_ids: Sequence[str]) -> set[str]:
        """Which of *paper_ids* this target has already received."""
        if not paper_ids:
            return set()
        rows = await self._rows(
            "SELECT paper_id FROM sent_papers WHERE target_id = $1 AND paper_id = ANY($2::text[])",
            target_id,
            list(paper_ids),
        )
        return {str(row["paper_id"]) for row in rows}
