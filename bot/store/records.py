"""The store's values and how rows become them, shared by both stores (SQLite, PostgreSQL).

Both keep the same columns in the same text formats (instants as ISO 8601 in UTC, see
:func:`bot.store.rows.ts`), so one mapper reads a row of either: a row is anything indexed by
column name (:class:`sqlite3.Row`, :class:`asyncpg.Record`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal, TypeVar

from bot.model.delivery import STATES, Content, Delivery, DeliveryKey, Kind, State, Target
from bot.model.papers import Snapshot, StoredPaper
from bot.model.schedule import CADENCES, Cadence, Schedule
from bot.store.rows import Row, row_to_paper, ts

log = logging.getLogger(__name__)
_T = TypeVar("_T")


# -- papers --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UpsertResult:
    new: int
    updated: int


@dataclass(frozen=True, slots=True)
class Candidate:
    """A search candidate: just what ranking needs, before the full paper is loaded."""

    rowid: int
    upvotes: int
    comments: int
    stars: int | None
    featured: float  # Unix time, as bot.search.ranking.featured_at


# -- fulltext ------------------------------------------------------------------------

FIELDS = ("title", "abstract", "authors", "keywords", "ai_summary")


@dataclass(frozen=True, slots=True)
class Ordering:
    """How an unscored search orders its candidates, best first, ties to the newer rowid:
    ``new`` (newest featured), ``trending`` (``points / (1 + age in days) ** gravity``,
    points = upvotes + comment_weight * comments + star_weight * log2(1 + stars)), or
    ``popular`` (``min(1, log(1 + upvotes) / popular_at)``). The numbers come from the
    search layer (:mod:`bot.search.ranking`), so the store computes the same score."""

    kind: Literal["new", "trending", "popular"]
    now: float = 0.0  # Unix time that ages are counted from (trending)
    comment_weight: float = 0.0
    star_weight: float = 0.0
    gravity: float = 0.0
    popular_at: float = 1.0


@dataclass(frozen=True, slots=True)
class OrderedPage:
    """A page of an ordered, unscored search: its rowids best first, how many candidates
    were ordered (at most the cap), and whether matching was cut at its budget."""

    rowids: tuple[int, ...]
    total: int
    cut: bool = False


class Matches(list[_T]):
    """The rows of a bounded full-text scan, newest first. ``cut``: the scan stopped at its
    budget of matching time (SQLite: :data:`bot.store.section.MATCH_SECONDS`), so older
    matches may exist that it did not reach."""

    cut: bool = False

    def __init__(self, rows: Iterable[_T] = (), *, cut: bool = False) -> None:
        super().__init__(rows)
        self.cut = cut


@dataclass(frozen=True, slots=True)
class Marked:
    """A candidate with its popularity, and the text of each indexed field and its length
    in index tokens as the index counted it (both in :data:`FIELDS` order)."""

    rowid: int
    upvotes: int
    comments: int
    stars: int | None
    featured: float
    texts: tuple[str, ...]
    lengths: tuple[int, ...]


# -- runs ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngestRun:
    source: str
    day: date | None
    started_at: datetime
    finished_at: datetime
    ok: bool
    papers: int
    error: str | None


# -- targets -------------------------------------------------------------------------

TARGET_COLUMNS = "id, platform, workspace, kind, address, disabled_at, disabled_reason"


_TARGET_KINDS: dict[str, Kind] = {"channel": "channel", "user": "user"}


def instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def target_from_row(row: Row) -> Target:
    return Target(
        id=row["id"],
        platform=row["platform"],
        workspace=row["workspace"],
        kind=_TARGET_KINDS[row["kind"]],
        address=row["address"],
        disabled_at=instant(row["disabled_at"]),
        disabled_reason=row["disabled_reason"],
    )


# -- ledger --------------------------------------------------------------------------

DELIVERY_COLUMNS = (
    "id, target_id, digest_key, due_at, state, attempts, claimed_at, lease_until, claim_token, "
    "next_try_at, "
    "sent_at, message_id, last_error, content"
)


_STATES: dict[str, State] = {state: state for state in STATES}


def delivery_from_row(row: Row) -> Delivery:
    return Delivery(
        id=row["id"],
        target_id=row["target_id"],
        key=DeliveryKey.parse(row["digest_key"]),
        due_at=datetime.fromisoformat(row["due_at"]),
        state=_STATES[row["state"]],
        attempts=row["attempts"],
        claimed_at=instant(row["claimed_at"]),
        lease_until=instant(row["lease_until"]),
        claim_token=row["claim_token"],
        next_try_at=instant(row["next_try_at"]),
        sent_at=instant(row["sent_at"]),
        message_id=row["message_id"],
        last_error=row["last_error"],
        content=Content.from_json(row["content"]) if row["content"] else None,
    )


# -- schedules -----------------------------------------------------------------------

EmptyDays = Literal["note", "silent"]


ScheduleKind = Literal["sub", "digest"]


SUB_COLUMNS = "id, target_id, query, at, tz, cadence, weekday, created_at, next_fire"


DIGEST_COLUMNS = (
    "target_id, at, tz, cadence, weekday, top_n, filter, min_upvotes, empty_days, owner, "
    "created_at, next_fire"
)


_CADENCES: dict[str, Cadence] = {cadence: cadence for cadence in CADENCES}


_EMPTY_DAYS: dict[str, EmptyDays] = {"note": "note", "silent": "silent"}


def schedule_from_row(row: Row) -> Schedule:
    """The schedule of a row (``KeyError``/``ValueError`` if it no longer parses)."""
    cadence = _CADENCES[row["cadence"]]
    return Schedule(time.fromisoformat(row["at"]), row["tz"], cadence, int(row["weekday"]))


@dataclass(frozen=True, slots=True)
class Subscription:
    """A user's standing query, delivered to their DMs."""

    id: int
    target_id: int
    query: str
    schedule: Schedule
    created_at: datetime
    next_fire: datetime


@dataclass(frozen=True, slots=True)
class ChannelDigest:
    """A channel's daily post of the top papers."""

    target_id: int
    schedule: Schedule
    top_n: int
    filter: str
    min_upvotes: int
    empty_days: EmptyDays
    owner: str
    created_at: datetime
    next_fire: datetime


def subscription_from_row(row: Row) -> Subscription:
    return Subscription(
        id=int(row["id"]),
        target_id=int(row["target_id"]),
        query=str(row["query"]),
        schedule=schedule_from_row(row),
        created_at=datetime.fromisoformat(row["created_at"]),
        next_fire=datetime.fromisoformat(row["next_fire"]),
    )


def digest_from_row(row: Row) -> ChannelDigest:
    return ChannelDigest(
        target_id=int(row["target_id"]),
        schedule=schedule_from_row(row),
        top_n=int(row["top_n"]),
        filter=str(row["filter"]),
        min_upvotes=int(row["min_upvotes"]),
        empty_days=_EMPTY_DAYS[row["empty_days"]],
        owner=str(row["owner"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        next_fire=datetime.fromisoformat(row["next_fire"]),
    )


def schedule_params(schedule: Schedule) -> tuple[str, str, str, int]:
    return (f"{schedule.at:%H:%M}", schedule.tz, schedule.cadence, schedule.weekday)


# -- installations -------------------------------------------------------------------

InstallKind = Literal["bot", "installation"]


@dataclass(frozen=True, slots=True)
class InstallKey:
    """Which installation: *team* ``''`` for an org-wide (Enterprise Grid) install; *user*
    ``''`` for a bot row, or "the latest of any installer" in a look-up."""

    platform: str
    kind: InstallKind
    enterprise: str = ""
    team: str = ""
    user: str = ""


@dataclass(frozen=True, slots=True)
class SealedRow:
    """One stored row: its id, key and sealed payload."""

    id: int
    key: InstallKey
    installed_at: datetime
    payload: bytes


_INSTALL_KINDS: dict[str, InstallKind] = {"bot": "bot", "installation": "installation"}


INSTALL_COLUMNS = "id, platform, kind, enterprise_id, team_id, user_id, installed_at, payload"


def sealed_from_row(row: Row) -> SealedRow:
    kind = _INSTALL_KINDS[row["kind"]]
    key = InstallKey(row["platform"], kind, row["enterprise_id"], row["team_id"], row["user_id"])
    installed = datetime.fromisoformat(row["installed_at"])
    return SealedRow(int(row["id"]), key, installed, bytes(row["payload"]))


# -- shared assembly --------------------------------------------------------------------


def run_from_row(row: Row) -> IngestRun:
    return IngestRun(
        source=row["source"],
        day=date.fromisoformat(row["day"]) if row["day"] else None,
        started_at=datetime.fromisoformat(row["started_at"]),
        finished_at=datetime.fromisoformat(row["finished_at"]),
        ok=bool(row["ok"]),
        papers=row["papers"],
        error=row["error"],
    )


def latest_runs(rows: Iterable[Row]) -> dict[str, tuple[IngestRun | None, IngestRun | None]]:
    """Per source, its latest run and its latest good run, from runs in id order."""
    result: dict[str, tuple[IngestRun | None, IngestRun | None]] = {}
    for row in rows:
        run = run_from_row(row)
        _, last_ok = result.get(run.source, (None, None))
        result[run.source] = (run, run if run.ok else last_ok)
    return result


def with_history(rows: Sequence[Row], snapshots: Iterable[Row]) -> list[StoredPaper]:
    """Paper rows (``rowid, COLUMNS, first_seen``) as stored papers, each with its
    popularity snapshots (``paper_rowid, seen_at, upvotes, comments, stars``, in order)."""
    history: dict[int, list[Snapshot]] = {}
    for snap in snapshots:
        history.setdefault(int(snap["paper_rowid"]), []).append(
            Snapshot(
                datetime.fromisoformat(snap["seen_at"]),
                snap["upvotes"],
                snap["comments"],
                snap["stars"],
            )
        )
    return [
        StoredPaper(
            paper=row_to_paper(row),
            first_seen=datetime.fromisoformat(str(row["first_seen"])),
            history=tuple(history.get(int(row["rowid"]), ())),
        )
        for row in rows
    ]


def parse_due(
    rows: Iterable[Row], parse: Callable[[Row], _T], table: str, column: str
) -> tuple[list[_T], list[tuple[str, object]]]:
    """Due schedule rows parsed; and, for each that no longer parses (say its zone is
    missing from this host's tzdata), logged, the (next_fire a day on, key) to move it
    by, so it never blocks the others."""
    good: list[_T] = []
    broken: list[tuple[str, object]] = []
    for row in rows:
        try:
            good.append(parse(row))
        except (ValueError, TypeError, KeyError) as exc:
            log.error("%s row %s cannot be scheduled: %s", table, row[column], exc)
            later = datetime.fromisoformat(row["next_fire"]) + timedelta(days=1)
            broken.append((ts(later), row[column]))
    return good, broken
