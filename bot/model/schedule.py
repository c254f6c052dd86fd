"""When a digest or subscription fires: parsing what users type, and the fire instants.

Pure: no I/O, no clock. A :class:`Schedule` is a local wall-clock time in an IANA zone plus
a cadence. :func:`next_fire` is the single source of truth for when it falls due, in UTC:

- a wall time that does not exist that day (spring-forward gap, e.g. 02:30 in Europe/Berlin
  on 2026-03-29) fires at the first instant after the gap (03:00 local);
- a wall time that occurs twice (fall-back overlap) fires once, at its first occurrence;
- ``weekdays`` skips Saturday and Sunday, ``weekly`` fires on one chosen day, both judged
  by the local date.

APScheduler is only the alarm clock (:func:`apscheduler_trigger`); whatever wakes it up,
the job asks :func:`fires_between` what actually fell due, so an early, late or doubled
wake-up neither loses nor repeats a delivery.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, available_timezones

from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]

from bot.errors import UserInputError, shown

Cadence = Literal["daily", "weekdays", "weekly"]
CADENCES: tuple[Cadence, ...] = get_args(Cadence)
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_FIRES = 400  # fires_between's bound: more than a year of daily posts

TIME_EXAMPLE = "like `08:00`, `20:30` or `8am`"
_TIME = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?")
_TIME_24 = re.compile(r"(\d{1,2})(?::(\d{2}))?")
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})
# Areas preferred over legacy aliases (US/Eastern, Etc/...) when guessing a zone.
_CONTINENTS = frozenset(
    {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe"}
).union({"Indian", "Pacific"})


@dataclasses.dataclass(frozen=True, slots=True)
class Schedule:
    """Fire at local wall time *at* in zone *tz*; *weekday* (0 = Monday) is for ``weekly``."""

    at: time
    tz: str
    cadence: Cadence = "weekdays"
    weekday: int = 0

    def __post_init__(self) -> None:
        if self.at.tzinfo is not None or self.at.second or self.at.microsecond:
            raise ValueError(f"schedule time must be a naive whole minute, not {self.at!r}")
        if self.cadence not in CADENCES:
            raise ValueError(f"unknown cadence {self.cadence!r}")
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {self.weekday}")
        if _zones_by_lower().get(self.tz.lower()) != self.tz:
            raise ValueError(f"unknown or non-canonical time zone {self.tz!r}")

    def fires_on(self, day: date) -> bool:
        """Whether the schedule fires on local date *day* at all."""
        if self.cadence == "weekdays":
            return day.weekday() < 5
        if self.cadence == "weekly":
            return day.weekday() == self.weekday
        return True


def parse_time(text: str) -> time:
    """A time of day from ``8am``, ``8:30 pm``, ``08:00``, ``20:30``, ``8``, ``noon``...

    ``12am`` is midnight and ``12pm`` is noon. Raises :class:`UserInputError`.
    """
    flat = " ".join(text.lower().split())
    if not flat:
        raise UserInputError(f"Which time? Give one {TIME_EXAMPLE}.")
    if flat in ("noon", "midday"):
        return time(12)
    if flat == "midnight":
        return time(0)
    if match := _TIME.fullmatch(flat):
        hour, minute, half = int(match[1]), _minute(text, match[2]), match[3]
        if not 1 <= hour <= 12:
            if hour == 0:
                hint = f"`12am` or `00:{minute:02}`"
            elif hour <= 23:
                hint = f"`{hour - 12}pm` or `{hour}:{minute:02}`"
            else:
                hint = "`8am` or `20:00`"
            raise UserInputError(f"`{shown(text)}` is not a 12-hour time; write {hint}.")
        return time(hour % 12 + (12 if half == "p" else 0), minute)
    if match := _TIME_24.fullmatch(flat):
        hour, minute = int(match[1]), _minute(text, match[2])
        if hour > 23:
            raise UserInputError(
                f"`{shown(text)}` has no hour {hour}; hours go 0-23, as in `20:30`."
            )
        return time(hour, minute)
    raise UserInputError(f"`{shown(text)}` is not a time; write it {TIME_EXAMPLE}.")


def _minute(text: str, digits: str | None) -> int:
    minute = int(digits or 0)
    if minute > 59:
        raise UserInputError(
            f"`{shown(text)}` has no minute {minute}; minutes go 00-59, as in `8:30`."
        )
    return minute


@functools.cache
def _zones_by_lower() -> dict[str, str]:
    """Every usable IANA name, keyed by its lower-case spelling."""
    return {name.lower(): name for name in available_timezones() - _NOT_ZONES}


@functools.cache
def _zones_by_city() -> dict[str, str]:
    """The preferred zone for each last name part (``berlin`` -> ``Europe/Berlin``)."""
    names = sorted(
        _zones_by_lower().values(),
        key=lambda n: (n.split("/")[0] not in _CONTINENTS, len(n), n),
        reverse=True,  # so the preferred name is written last and wins
    )
    return {name.rsplit("/", 1)[-1].lower(): name for name in names}


def parse_timezone(text: str) -> str:
    """An IANA zone name, matched case-insensitively and returned canonically spelled.

    Spaces count as underscores (``america/new york``). Unknown names raise
    :class:`UserInputError` with a "did you mean" that also matches the city alone
    (``berlin`` or ``Berln`` -> ``Europe/Berlin``).
    """
    key = "_".join(text.strip().lower().split())
    if not key:
        raise UserInputError("Which time zone? Give an IANA name like `Europe/Berlin` or `UTC`.")
    if name := _zones_by_lower().get(key):
        return name
    guess = _closest_zone(key)
    hint = f"did you mean `{guess}`?" if guess else "use a name like `Europe/Berlin` or `UTC`."
    raise UserInputError(f"`{shown(text)}` is not a time zone I know; {hint}")


def _closest_zone(key: str) -> str | None:
    """The most similar zone by full name or by city, if any is close enough."""
    candidates: list[tuple[float, str]] = []
    for pool, probe, cutoff in (
        (_zones_by_lower(), key, 0.75),
        (_zones_by_city(), key.rsplit("/", 1)[-1], 0.8),
    ):
        for near in difflib.get_close_matches(probe, pool, n=1, cutoff=cutoff):
            ratio = difflib.SequenceMatcher(None, probe, near).ratio()
            candidates.append((ratio, pool[near]))
    return max(candidates)[1] if candidates else None


def parse_cadence(text: str) -> tuple[Cadence, int]:
    """``daily``, ``weekdays``, ``weekly`` (on Mondays), ``weekly fri``, ``weekly friday`` or
    ``fridays``, as ``(cadence, weekday)`` with weekday 0 = Monday (0 unless weekly)."""
    words = text.lower().split()
    for cadence in CADENCES:
        if words == [cadence]:
            return cadence, 0
    if len(words) == 2 and words[0] == "weekly" and (day := _weekday(words[1])) is not None:
        return "weekly", day
    if len(words) == 1 and words[0].endswith("s") and words[0][:-1] in DAYS:
        return "weekly", DAYS.index(words[0][:-1])
    raise UserInputError(
        f"`{shown(text)}` is not a cadence; use `daily`, `weekdays`, `weekly` or `weekly fri`."
    )


def _weekday(word: str) -> int | None:
    for number, day in enumerate(DAYS):
        if word in (day, day[:3]):
            return number
    return None


def next_fire(schedule: Schedule, after: datetime) -> datetime:
    """The first fire instant strictly after the aware datetime *after*, in UTC."""
    if after.tzinfo is None:
        raise ValueError("next_fire needs an aware datetime")
    zone = ZoneInfo(schedule.tz)
    # From the day before: a resolved gap time can land later than its own wall time.
    day = after.astimezone(zone).date() - timedelta(days=1)
    for _ in range(16):  # weekly needs at most 8 days; the rest is slack for odd zones
        if schedule.fires_on(day):
            instant = _resolve(datetime.combine(day, schedule.at), zone)
            if instant > after:
                return instant
        day += timedelta(days=1)
    raise AssertionError(f"no fire within 16 days for {schedule!r}")  # pragma: no cover


def _resolve(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant a naive local *wall* time fires at in *zone* (see module docstring)."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first <= second:  # ordinary, or an overlap whose first occurrence is fold=0
        return first
    # A gap: fold=0 reads the wall time with the offset before the jump, fold=1 with the
    # one after, so the jump (at a whole second in tzdata) lies in (second, first].
    low, high = int(second.timestamp()), int(first.timestamp())
    after_jump = first.astimezone(zone).utcoffset()
    while high - low > 1:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == after_jump:
            high = mid
        else:
            low = mid
    return datetime.fromtimestamp(high, UTC)


def fires_between(
    schedule: Schedule, start: datetime, end: datetime, *, limit: int = MAX_FIRES
) -> list[datetime]:
    """Every fire instant in ``(start, end]``, oldest first, for a catch-up pass.

    Raises ValueError when there would be more than *limit*: a window that long is a bug
    or a clock far off, not something to deliver.
    """
    fires: list[datetime] = []
    instant = next_fire(schedule, start)
    while instant <= end:
        if len(fires) == limit:
            raise ValueError(f"more than {limit} fires between {start} and {end}")
        fires.append(instant)
        instant = next_fire(schedule, instant)
    return fires


def describe(schedule: Schedule) -> str:
    """A short phrase such as ``weekdays at 09:00 Europe/Berlin``."""
    when = f"{schedule.at:%H:%M} {schedule.tz}"
    if schedule.cadence == "weekly":
        return f"weekly on {DAYS[schedule.weekday].title()} at {when}"
    return f"{schedule.cadence} at {when}"


def apscheduler_trigger(schedule: Schedule) -> CronTrigger:
    """An APScheduler 3.x ``CronTrigger`` that wakes the bot when *schedule* falls due.

    It agrees with :func:`next_fire` on every ordinary day, but :func:`next_fire` is the
    source of truth. APScheduler 3.11's CronTrigger with a ``ZoneInfo`` does wall-clock
    arithmetic and differs at DST transitions (pinned in tests/bot/test_schedule.py):

    - gap: it returns the non-existent wall time itself (02:30 fold=0 in Europe/Berlin on
      2026-03-29), which converts with the pre-jump offset, so it wakes one gap length
      late (03:30 local) where next_fire says 03:00;
    - overlap: it wakes twice, at both 02:30s of 2026-10-25, where next_fire fires once;
    - ``get_next_fire_time(None, now)`` may return *now* itself; next_fire is strictly after.

    (The open 3.11 bug of a cron trigger looping at a fall-back, agronholm/apscheduler#1021,
    needs a wildcard hour; these triggers always fix the hour.) So the job must not deliver
    "because it woke up": it asks :func:`fires_between` what fell due since the last
    recorded fire and lets the delivery ledger dedupe. Where exact timing matters on gap
    days, arm a ``DateTrigger`` at :func:`next_fire` instead.
    """
    day_of_week = {"daily": "*", "weekdays": "mon-fri"}.get(
        schedule.cadence, DAYS[schedule.weekday][:3]
    )
    return CronTrigger(
        day_of_week=day_of_week,
        hour=schedule.at.hour,
        minute=schedule.at.minute,
        second=0,
        timezone=ZoneInfo(schedule.tz),
    )
