"""What the core needs of a store, whichever database holds it: SQLite (:class:`bot.store.Store`,
one process) or PostgreSQL (:class:`bot.store.pg.PgStore`, any number of processes).

Everything above the store is typed against :class:`Database`, never against an
implementation; the contract tests (``tests/bot/store/contract``) run one suite against both.
Values and row mappers both share live in :mod:`bot.store.records`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, timedelta
from typing import Protocol

from bot.grammar.query import Condition
from bot.model.delivery import Content, Delivery, DeliveryKey, KeyKind, Kind, Target
from bot.model.papers import Paper, StoredPaper
from bot.model.schedule import Schedule
from bot.store.records import (
    Candidate,
    ChannelDigest,
    IngestRun,
    InstallKey,
    InstallKind,
    Marked,
    Matches,
    OrderedPage,
    Ordering,
    ScheduleKind,
    SealedRow,
    Subscription,
    UpsertResult,
)


class PaperStore(Protocol):
    """The ``papers`` table, its popularity history (``paper_stats``) and FTS5 index."""

    async def upsert(self, papers: Iterable[Paper], *, seen_at: datetime) -> UpsertResult:
        """Insert or refresh papers (idempotent) and record a popularity snapshot for each."""
        ...

    async def get(self, paper_id: str) -> StoredPaper | None:
        """One paper with its popularity history, or ``None``."""
        ...

    async def by_rowid(self, rowids: Sequence[int]) -> dict[int, StoredPaper]:
        """Papers for the given rowids (missing ones are absent), with history."""
        ...

    async def latest_day(self) -> date | None:
        """The most recent Daily Papers day in the store."""
        ...

    async def for_day(self, day: date) -> list[StoredPaper]:
        """Every paper featured on Daily Papers on *day*, most upvoted first."""
        ...

    async def seen_since(self, since: datetime, *, limit: int = 2000) -> list[StoredPaper]:
        """Papers first stored after *since*, newest first (what DM subscriptions match)."""
        ...

    async def by_id(self, paper_ids: Sequence[str]) -> list[StoredPaper]:
        """The stored papers among *paper_ids*, in the order given."""
        ...

    async def exists(self) -> bool:
        """Whether the store holds any paper at all (cheap at any size, unlike a count)."""
        ...

    async def count(self) -> int: ...

    async def fts_candidates(
        self, condition: Condition | None, *, limit: int, since: datetime | None = None
    ) -> Matches[Candidate]:
        """The newest *limit* papers matching *condition* (all papers when ``None``);
        ``cut`` when the store stopped matching at its budget of matching time."""
        ...

    async def ordered(
        self,
        condition: Condition | None,
        ordering: Ordering,
        *,
        cap: int,
        offset: int,
        limit: int,
        since: datetime | None = None,
    ) -> OrderedPage:
        """The page at *offset* of the newest *cap* papers matching *condition* (all papers
        when ``None``), put in *ordering* by the database: rowids, the number ordered, and
        whether matching was cut."""
        ...


class FullTextStore(Protocol):
    """Read-only full-text scans over ``papers_fts`` (see the module docstring)."""

    async def marked(
        self, condition: Condition, *, limit: int, since: datetime | None = None
    ) -> Matches[Marked]:
        """The newest *limit* papers matching *condition*, with their indexed fields' text
        and token counts; ``cut`` when the store stopped matching at its budget of matching time."""
        ...

    async def document_counts(self, terms: Sequence[str], *, cap: int = 2000) -> dict[str, int]:
        """In how many papers each index token occurs, counted up to *cap* (absent: 0)."""
        ...

    async def size(self) -> tuple[int, tuple[float, ...]]:
        """Papers indexed, and the mean length in tokens of each field (FTS5's own totals)."""
        ...

    async def state(self) -> bytes | None:
        """A token that changes with every committed change to the indexed text, read where
        no uncommitted change can be seen, or ``None`` when there is none to give (then
        nothing derived from it is remembered)."""
        ...

    async def near(self, token: str, *, limit: int = 200) -> list[tuple[str, int]]:
        """Index tokens sharing *token*'s first three letters, with their document counts:
        where near-miss spellings are looked for. At most *limit* tokens are read."""
        ...


class RunStore(Protocol):
    """The ``ingest_runs`` table."""

    async def record(self, run: IngestRun) -> None:
        """Remember one fetch of a source (for freshness and staleness reports)."""
        ...

    async def last(self) -> dict[str, tuple[IngestRun | None, IngestRun | None]]:
        """Per source: its latest run, and its latest successful run."""
        ...


class PageStore(Protocol):
    """The ``search_pages`` table."""

    async def save(self, query: str, *, now: datetime, patient: bool = True) -> str:
        """A short stable token for *query*, so a "More" button can name it in 100 chars."""
        ...

    async def load(self, token: str, *, now: datetime | None = None) -> str | None:
        """The query saved under *token*, or ``None`` if unknown (or, given *now*, older
        than :data:`PAGE_TTL`)."""
        ...

    async def prune(self, *, before: datetime) -> int:
        """Forget tokens last used before *before*; how many."""
        ...


class TargetStore(Protocol):
    """The ``targets`` table."""

    async def ensure(self, platform: str, workspace: str, kind: Kind, address: str) -> Target:
        """The target with these coordinates, created on first use."""
        ...

    async def find(self, platform: str, workspace: str, kind: Kind, address: str) -> Target | None:
        """The target with these coordinates, if it exists (never creates one)."""
        ...

    async def by_id(self, target_id: int) -> Target | None: ...

    async def enable(self, target_id: int, *, owner: str | None = None) -> None:
        """Deliver to a target again (its owner set it up anew) and record who owns it."""
        ...

    async def untold(self, platform: str, user_id: str) -> list[Target]:
        """Disabled targets this user owns and has not been told about yet; marks them told."""
        ...

    async def disable(self, target_id: int, *, now: datetime, reason: str) -> None:
        """Stop delivering to a target after a permanent failure (deleted channel, blocked
        DMs)."""
        ...

    async def suspend_workspace(
        self, platform: str, workspaces: Sequence[str], *, now: datetime, reason: str
    ) -> int:
        """Stop every live target of *workspaces* (the bot was uninstalled there); return
        how many. Nobody is told: nobody there can ask the bot any more."""
        ...

    async def resume_workspace(self, platform: str, workspaces: Sequence[str]) -> int:
        """Deliver again to the targets :meth:`suspend_workspace` stopped in *workspaces*
        (the bot was installed again); return how many."""
        ...

    async def disabled(self) -> set[int]: ...


class LedgerStore(Protocol):
    """Deliveries and sent papers, on the store's connection (targets: :mod:`.targets`)."""

    async def plan(self, target_id: int, key: DeliveryKey, *, due_at: datetime) -> Delivery:
        """The delivery for (target, key), created ``pending`` if new; never duplicated."""
        ...

    async def claim(self, delivery_id: int, *, now: datetime, lease: timedelta) -> Delivery | None:
        """Claim a delivery for sending until ``now + lease``, or ``None`` if it is not
        claimable now."""
        ...

    async def claim_due(
        self, *, now: datetime, lease: timedelta, limit: int, platforms: Sequence[str]
    ) -> list[Delivery]:
        """Claim (``claimed``, a new fencing token each, ``attempts + 1``, leased until
        ``now + lease``) every due, claimable row of up to *limit* targets on *platforms*,
        skipping targets with a row under a live lease (another sender works on them);
        earliest due first. Concurrent claimers, in any process, split the targets."""
        ...

    async def renew(
        self, claimed: Sequence[Delivery], *, now: datetime, lease: timedelta
    ) -> set[int]:
        """Extend the leases of *claimed* rows still held under their tokens to ``now +
        lease``; the ids still held. A live sender renews what it works on, so only the
        claims of a sender that died (or hung past its lease) are ever taken over."""
        ...

    async def set_content(self, claimed: Delivery, content: Content) -> bool:
        """Record what a claimed delivery carries, before it is sent (see module docstring)."""
        ...

    async def recent(self, target_ids: Sequence[int], *, since: datetime) -> list[Delivery]:
        """The targets' deliveries due since *since*, newest first (for ``status``)."""
        ...

    async def last_sent(self, target_id: int, kind: KeyKind) -> Delivery | None:
        """The target's latest ``sent`` delivery of *kind* (a range on the (target, key)
        index)."""
        ...

    async def last_sent_subs(
        self, target_ids: Sequence[int], *, since: datetime
    ) -> dict[int, datetime]:
        """Subscription id → due time of its latest ``sent`` DM (keys ``sub:<id>:<day>``)
        among these targets' deliveries due since *since*: one query per 500 targets."""
        ...

    async def plan_many(
        self, rows: Sequence[tuple[int, DeliveryKey, datetime, bool]], *, missed_reason: str
    ) -> None:
        """Plan (target id, key, due at, missed?) rows in one transaction; existing rows are
        left alone, so planning twice is harmless. Missed ones are recorded, never sent."""
        ...

    async def next_retry(self) -> datetime | None:
        """When a delivery next becomes claimable again: the earliest end of a backoff
        (``pending``) or of a lease (``claimed``, its sender may have died)."""
        ...

    async def mark_sent(
        self,
        claimed: Delivery,
        *,
        now: datetime,
        message_id: str | None,
        paper_ids: Iterable[str] = (),
    ) -> bool:
        """Record a successful send and the papers it carried; ``False`` if the claim was
        lost."""
        ...

    async def mark_failed(
        self, claimed: Delivery, *, now: datetime, error: str, retry_at: datetime | None
    ) -> bool:
        """A failed attempt: back to ``pending`` until *retry_at*, or ``failed`` for good."""
        ...

    async def mark_missed(
        self, delivery_id: int, *, reason: str, claim_token: str | None = None
    ) -> bool:
        """Give up on a delivery that fell due too long ago to be sent late; with
        *claim_token*, only while that claim still holds the row. Whether it was marked."""
        ...

    async def open_deliveries(self, *, now: datetime) -> list[Delivery]:
        """Deliveries to work on now: due and pending (past any backoff), or claimed under a
        lease that has expired."""
        ...

    async def backlog(self, *, now: datetime) -> dict[str, int]:
        """How many deliveries are ``due`` (pending, due, past any backoff), ``retrying``
        (pending, backing off), ``claimed`` (being sent) and ``failed`` (for good, kept
        until pruned) now: the ledger's backlog for monitoring."""
        ...

    async def prune(self, *, before: datetime) -> int:
        """Forget finished deliveries due before *before*, with the papers they recorded
        (``sent_papers`` cascades); pending and claimed rows are never pruned."""
        ...

    async def has_delivery(self, target_id: int, key: DeliveryKey) -> bool:
        """Whether the target already has a ledger row for *key* (in any state)."""
        ...

    async def promised(self, target_id: int, *, besides: int) -> list[Content]:
        """The contents of the target's other deliveries that are composed but not yet sent:
        papers those will carry must not go out in another one meanwhile."""
        ...

    async def already_sent(self, target_id: int, paper_ids: Sequence[str]) -> set[str]:
        """Which of *paper_ids* this target has already received."""
        ...


class ScheduleStore(Protocol):
    """Subscriptions and channel digests, on the store's connection and write lock."""

    async def add_subscription(
        self,
        target_id: int,
        query: str,
        schedule: Schedule,
        *,
        now: datetime,
        next_fire: datetime,
        limit: int,
    ) -> Subscription | None:
        """A new subscription, or ``None`` when the target already has *limit* of them."""
        ...

    async def subscriptions_of(self, target_id: int) -> list[Subscription]: ...

    async def subscription(self, sub_id: int) -> Subscription | None: ...

    async def subscriptions_by_id(self, sub_ids: Sequence[int]) -> list[Subscription]: ...

    async def subscription_ids(self) -> set[int]: ...

    async def all_subscriptions(self) -> list[Subscription]: ...

    async def remove_subscriptions(self, target_id: int, sub_id: int | None) -> list[int]:
        """Delete one of the target's subscriptions (or all with ``None``); the ids removed."""
        ...

    async def set_digest(self, digest: ChannelDigest) -> ChannelDigest:
        """Turn a channel's digest on, or replace its settings."""
        ...

    async def digest(self, target_id: int) -> ChannelDigest | None: ...

    async def remove_digest(self, target_id: int) -> bool: ...

    async def due_subscriptions(self, now: datetime, *, limit: int = 5000) -> list[Subscription]:
        """Subscriptions whose ``next_fire`` has passed, earliest first (see :meth:`_due`)."""
        ...

    async def due_digests(self, now: datetime, *, limit: int = 5000) -> list[ChannelDigest]:
        """Channel digests whose ``next_fire`` has passed, earliest first."""
        ...

    async def earliest_fire(self) -> datetime | None:
        """When the next schedule of any kind falls due (the alarm to set)."""
        ...

    async def advance_many(
        self, kind: ScheduleKind, moves: Sequence[tuple[int, datetime, datetime]]
    ) -> None:
        """Move schedules' ``next_fire`` on: (key, was, next) each, in one transaction; a
        row whose ``next_fire`` is no longer *was* (a command just changed it) is left
        alone."""
        ...


class InstallationStore(Protocol):
    """The ``installations`` table."""

    async def save(self, key: InstallKey, installed_at: datetime, payload: bytes) -> None:
        """Store *payload* under *key*, replacing what was there."""
        ...

    async def latest(self, key: InstallKey, *, any_user: bool = False) -> SealedRow | None:
        """The row under *key*; with *any_user*, the newest of the team's rows whatever its
        user."""
        ...

    async def for_team(self, platform: str, kind: InstallKind, team: str) -> SealedRow | None:
        """The newest row of *kind* for *team*, whatever its enterprise."""
        ...

    async def delete(self, key: InstallKey, *, any_user: bool = False) -> int:
        """Delete the row under *key* (with *any_user*: every row of its kind and team);
        return how many went."""
        ...

    async def rows(self, platform: str) -> list[SealedRow]:
        """Every row of *platform* (to check that the key opens them, or re-seal them)."""
        ...

    async def reseal(self, row_id: int, payload: bytes) -> None:
        """Replace one row's payload with the same data sealed again (a new key)."""
        ...

    async def workspaces(self, platform: str) -> int:
        """How many workspaces (or organisations) have the bot installed."""
        ...


class OAuthStateStore(Protocol):
    """The ``oauth_states`` table: each ``state`` of an install flow, usable once."""

    async def issue(self, state: str, *, now: datetime, expires_at: datetime) -> None:
        """Remember *state* until *expires_at*; states that expired are pruned on the way."""
        ...

    async def consume(self, state: str, *, now: datetime) -> bool:
        """Whether *state* was issued and has not expired; it cannot be used again either
        way."""
        ...

    async def outstanding(self, now: datetime) -> int:
        """States issued and still usable (abuse is bounded by the caller with this)."""
        ...


class Reads(Protocol):
    """What a search reads: the papers and their full-text index."""

    @property
    def papers(self) -> PaperStore: ...

    @property
    def fulltext(self) -> FullTextStore: ...


class ReadPool(Protocol):
    """Where searches read: connections of their own when the store has them."""

    def reading(self) -> AbstractAsyncContextManager[Reads]: ...


class Leadership(Protocol):
    """Which process runs the clock (plans, refreshes, keeps house); every process sends.

    SQLite has one process per database, which always leads; PostgreSQL elects one
    (:mod:`bot.store.pg.leader`)."""

    @property
    def retry(self) -> float:
        """Seconds between a follower's attempts to lead, and a leader's checks."""
        ...

    async def try_lead(self) -> bool:
        """Take the lead if free; ``True`` while this process holds it."""
        ...

    async def holding(self) -> bool:
        """Whether this process still leads."""
        ...

    async def wait_for_work(self, seconds: float) -> None:
        """Until another process planned deliveries, or *seconds* pass."""
        ...

    def on_schedule_change(self, callback: Callable[[], None] | None) -> None:
        """Call *callback* (in the leader) when any process changes a schedule."""
        ...

    async def close(self) -> None:
        """Give the lead up, if held."""
        ...


class Database(Protocol):
    """A store: its parts, readiness and closing."""

    @property
    def papers(self) -> PaperStore: ...
    @property
    def fulltext(self) -> FullTextStore: ...
    @property
    def runs(self) -> RunStore: ...
    @property
    def pages(self) -> PageStore: ...
    @property
    def targets(self) -> TargetStore: ...
    @property
    def ledger(self) -> LedgerStore: ...
    @property
    def schedules(self) -> ScheduleStore: ...
    @property
    def installations(self) -> InstallationStore: ...
    @property
    def oauth_states(self) -> OAuthStateStore: ...
    @property
    def readers(self) -> ReadPool: ...

    async def ping(self) -> None:
        """Raise :class:`~bot.errors.StoreError` unless the database answers."""
        ...

    def exclusive(self, name: str) -> AbstractAsyncContextManager[None]:
        """Hold *name* against every other holder, in any process sharing the database, for
        the length of the block (a token refresh: refresh tokens are single-use)."""
        ...

    def leadership(self, role: str = "clock") -> Leadership:
        """A new contender for *role*: ``clock`` (the leader), or one a single process at a
        time must hold (``adapter:discord``: the bot's one gateway session)."""
        ...

    async def close(self) -> None: ...
