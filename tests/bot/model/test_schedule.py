import functools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from bot.errors import UserInputError
from bot.model.schedule import (
    CADENCES,
    Cadence,
    Schedule,
    apscheduler_trigger,
    describe,
    fires_between,
    next_fire,
    parse_cadence,
    parse_time,
    parse_timezone,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(zone: str, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A local wall time (first occurrence if it happens twice) as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


# --- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8am", time(8)),
        ("8 am", time(8)),
        ("8AM", time(8)),
        ("8 a.m.", time(8)),
        ("8:30pm", time(20, 30)),
        ("8:30 PM", time(20, 30)),
        ("08:00", time(8)),
        ("8:00", time(8)),
        ("20:30", time(20, 30)),
        ("00:00", time(0)),
        ("23:59", time(23, 59)),
        ("8", time(8)),
        ("17", time(17)),
        ("12am", time(0)),
        ("12:15am", time(0, 15)),
        ("12pm", time(12)),
        ("1pm", time(13)),
        ("11:59pm", time(23, 59)),
        ("noon", time(12)),
        ("Midnight", time(0)),
        ("  9:05  ", time(9, 5)),
    ],
)
def test_parse_time_accepts(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("25:00", "`25:00` has no hour 25; hours go 0-23, as in `20:30`."),
        ("24:00", "`24:00` has no hour 24; hours go 0-23, as in `20:30`."),
        ("8:61", "`8:61` has no minute 61; minutes go 00-59, as in `8:30`."),
        ("8:60am", "`8:60am` has no minute 60; minutes go 00-59, as in `8:30`."),
        ("13pm", "`13pm` is not a 12-hour time; write `1pm` or `13:00`."),
        ("20:30pm", "`20:30pm` is not a 12-hour time; write `8pm` or `20:30`."),
        ("0am", "`0am` is not a 12-hour time; write `12am` or `00:00`."),
        ("99pm", "`99pm` is not a 12-hour time; write `8am` or `20:00`."),
        ("", "Which time? Give one like `08:00`, `20:30` or `8am`."),
        ("   ", "Which time? Give one like `08:00`, `20:30` or `8am`."),
        ("8:5", "`8:5` is not a time; write it like `08:00`, `20:30` or `8am`."),
        ("0800", "`0800` is not a time; write it like `08:00`, `20:30` or `8am`."),
        ("-1:00", "`-1:00` is not a time; write it like `08:00`, `20:30` or `8am`."),
        ("8:30:00", "`8:30:00` is not a time; write it like `08:00`, `20:30` or `8am`."),
        ("tomorrow", "`tomorrow` is not a time; write it like `08:00`, `20:30` or `8am`."),
        ("8`pm", "`8'pm` is not a time; write it like `08:00`, `20:30` or `8am`."),
    ],
)
def test_parse_time_rejects_with_one_line_example(text: str, message: str) -> None:
    with pytest.raises(UserInputError) as err:
        parse_time(text)
    assert str(err.value) == message
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("  EUROPE/BERLIN ", "Europe/Berlin"),
        ("America/New_York", "America/New_York"),
        ("america/new york", "America/New_York"),
        ("Australia/Lord_Howe", "Australia/Lord_Howe"),
        ("asia/kolkata", "Asia/Kolkata"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
    ],
)
def test_parse_timezone_accepts(text: str, expected: str) -> None:
    assert parse_timezone(text) == expected


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("Europe/Berln", "Europe/Berlin"),
        ("berlin", "Europe/Berlin"),
        ("Berln", "Europe/Berlin"),
        ("Europa/Berlin", "Europe/Berlin"),
        ("America/Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("America/NewYork", "America/New_York"),
        ("kolkata", "Asia/Kolkata"),
        ("Asia/Kolkatta", "Asia/Kolkata"),
        ("lord howe", "Australia/Lord_Howe"),
        ("chatham", "Pacific/Chatham"),
    ],
)
def test_parse_timezone_suggests_near_misses(text: str, suggestion: str) -> None:
    with pytest.raises(UserInputError) as err:
        parse_timezone(text)
    assert str(err.value) == (
        f"`{text.strip()}` is not a time zone I know; did you mean `{suggestion}`?"
    )


@pytest.mark.parametrize("text", ["xyzzy", "Mars/Olympus_Mons", "localtime", "Factory"])
def test_parse_timezone_rejects_unknown_without_a_guess(text: str) -> None:
    with pytest.raises(UserInputError) as err:
        parse_timezone(text)
    assert str(err.value) == (
        f"`{text}` is not a time zone I know; use a name like `Europe/Berlin` or `UTC`."
    )


def test_parse_timezone_rejects_empty() -> None:
    with pytest.raises(UserInputError, match="Which time zone"):
        parse_timezone("  ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily", ("daily", 0)),
        ("Weekdays", ("weekdays", 0)),
        ("weekly", ("weekly", 0)),
        ("weekly mon", ("weekly", 0)),
        ("weekly friday", ("weekly", 4)),
        ("weekly  Sun", ("weekly", 6)),
        ("mondays", ("weekly", 0)),
        ("Wednesdays", ("weekly", 2)),
        ("Thursdays", ("weekly", 3)),
    ],
)
def test_parse_cadence_accepts(text: str, expected: tuple[Cadence, int]) -> None:
    assert parse_cadence(text) == expected


@pytest.mark.parametrize(
    "text", ["", "hourly", "weekly someday", "weekly mon tue", "monday", "mons", "weekday", "days"]
)
def test_parse_cadence_rejects(text: str) -> None:
    with pytest.raises(UserInputError) as err:
        parse_cadence(text)
    assert str(err.value).endswith("use `daily`, `weekdays`, `weekly` or `weekly fri`.")


def test_schedule_validates() -> None:
    with pytest.raises(ValueError, match="time zone"):
        Schedule(time(9), "Europe/Berln")
    with pytest.raises(ValueError, match="whole minute"):
        Schedule(time(9, 0, 30), "UTC")
    with pytest.raises(ValueError, match="weekday"):
        Schedule(time(9), "UTC", "weekly", 7)
    with pytest.raises(ValueError, match="cadence"):
        Schedule(time(9), "UTC", "hourly")  # type: ignore[arg-type]


def test_describe() -> None:
    assert describe(Schedule(time(9), "Europe/Berlin")) == "weekdays at 09:00 Europe/Berlin"
    assert describe(Schedule(time(20, 30), "UTC", "daily")) == "daily at 20:30 UTC"
    assert (
        describe(Schedule(time(7, 5), "Asia/Kolkata", "weekly", 4))
        == "weekly on Friday at 07:05 Asia/Kolkata"
    )


# --- next_fire across DST ----------------------------------------------------------------

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


@pytest.mark.parametrize(
    ("zone", "at", "after", "expected"),
    [
        # Berlin springs forward 2026-03-29 02:00 CET -> 03:00 CEST.
        (BERLIN, time(2, 30), utc(2026, 3, 28, 12), local(BERLIN, 2026, 3, 29, 3, 0)),
        (BERLIN, time(2, 0), utc(2026, 3, 28, 12), local(BERLIN, 2026, 3, 29, 3, 0)),
        (BERLIN, time(3, 0), utc(2026, 3, 28, 12), local(BERLIN, 2026, 3, 29, 3, 0)),
        (BERLIN, time(1, 59), utc(2026, 3, 28, 12), local(BERLIN, 2026, 3, 29, 1, 59)),
        (BERLIN, time(9), utc(2026, 3, 28, 12), utc(2026, 3, 29, 7)),
        (BERLIN, time(9), utc(2026, 3, 27, 12), utc(2026, 3, 28, 8)),
        (BERLIN, time(2, 30), utc(2026, 3, 29, 1), local(BERLIN, 2026, 3, 30, 2, 30)),
        # Berlin falls back 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice.
        (BERLIN, time(2, 30), utc(2026, 10, 24, 12), utc(2026, 10, 25, 0, 30)),
        (BERLIN, time(2, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)),
        (BERLIN, time(2, 30), utc(2026, 10, 25, 1), utc(2026, 10, 26, 1, 30)),
        (BERLIN, time(9), utc(2026, 10, 24, 12), utc(2026, 10, 25, 8)),
        (BERLIN, time(9), utc(2026, 10, 23, 12), utc(2026, 10, 24, 7)),
        # New York springs forward 2026-03-08 02:00 EST -> 03:00 EDT.
        (NEW_YORK, time(2, 30), utc(2026, 3, 7, 12), local(NEW_YORK, 2026, 3, 8, 3, 0)),
        (NEW_YORK, time(2, 30), utc(2026, 3, 7, 12), utc(2026, 3, 8, 7)),
        (NEW_YORK, time(9), utc(2026, 3, 7, 15), utc(2026, 3, 8, 13)),
        (NEW_YORK, time(9), utc(2026, 3, 6, 15), utc(2026, 3, 7, 14)),
        # New York falls back 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 happens twice.
        (NEW_YORK, time(1, 30), utc(2026, 10, 31, 12), utc(2026, 11, 1, 5, 30)),
        (NEW_YORK, time(1, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)),
        (NEW_YORK, time(1, 30), utc(2026, 11, 1, 6), utc(2026, 11, 2, 6, 30)),
        (NEW_YORK, time(2, 30), utc(2026, 10, 31, 12), utc(2026, 11, 1, 7, 30)),
        (NEW_YORK, time(9), utc(2026, 10, 31, 15), utc(2026, 11, 1, 14)),
    ],
)
def test_next_fire_across_dst(zone: str, at: time, after: datetime, expected: datetime) -> None:
    fire = next_fire(Schedule(at, zone, "daily"), after)
    assert fire == expected
    assert fire.tzinfo is UTC


def test_next_fire_accepts_any_aware_and_rejects_naive() -> None:
    schedule = Schedule(time(9), BERLIN, "daily")
    after = datetime(2026, 1, 5, 9, tzinfo=ZoneInfo(BERLIN))
    assert next_fire(schedule, after) == utc(2026, 1, 6, 8)  # strictly after, not at
    with pytest.raises(ValueError, match="aware"):
        next_fire(schedule, datetime(2026, 1, 5))


def test_weekdays_skip_the_weekend() -> None:
    schedule = Schedule(time(9), BERLIN)
    friday = local(BERLIN, 2026, 1, 9, 9)
    assert next_fire(schedule, friday - timedelta(minutes=1)) == friday
    assert next_fire(schedule, friday) == local(BERLIN, 2026, 1, 12, 9)
    saturday_night = local(BERLIN, 2026, 1, 10, 23)
    assert next_fire(schedule, saturday_night) == local(BERLIN, 2026, 1, 12, 9)
    # ... and across the DST weekend in New York: Friday EST, Monday EDT.
    ny = Schedule(time(9), NEW_YORK)
    assert next_fire(ny, utc(2026, 3, 6, 14)) == utc(2026, 3, 9, 13)


def test_weekly_fires_on_its_day() -> None:
    wednesdays = Schedule(time(18), "Asia/Kolkata", "weekly", 2)
    fire = next_fire(wednesdays, utc(2026, 5, 1))  # a Friday
    assert fire == utc(2026, 5, 6, 12, 30)
    assert next_fire(wednesdays, fire) == fire + timedelta(weeks=1)
    mondays = Schedule(time(9), BERLIN, "weekly")
    assert next_fire(mondays, utc(2026, 3, 23, 8)) == utc(2026, 3, 30, 7)  # over DST


def test_fires_between_covers_a_three_day_outage() -> None:
    start, end = utc(2026, 3, 27, 6), utc(2026, 3, 30, 12)  # Friday to Monday, over DST
    assert fires_between(Schedule(time(9), BERLIN), start, end) == [
        utc(2026, 3, 27, 8),
        utc(2026, 3, 30, 7),
    ]
    assert fires_between(Schedule(time(9), BERLIN, "daily"), start, end) == [
        utc(2026, 3, 27, 8),
        utc(2026, 3, 28, 8),
        utc(2026, 3, 29, 7),
        utc(2026, 3, 30, 7),
    ]


def test_fires_between_is_half_open_and_bounded() -> None:
    daily = Schedule(time(9), "UTC", "daily")
    assert fires_between(daily, utc(2026, 1, 1, 9), utc(2026, 1, 2, 9)) == [utc(2026, 1, 2, 9)]
    assert fires_between(daily, utc(2026, 1, 2), utc(2026, 1, 1)) == []
    assert len(fires_between(daily, utc(2026, 1, 1), utc(2027, 1, 1))) == 365
    with pytest.raises(ValueError, match="more than 400"):
        fires_between(daily, utc(2026, 1, 1), utc(2028, 1, 1))
    with pytest.raises(ValueError, match="more than 2"):
        fires_between(daily, utc(2026, 1, 1), utc(2026, 1, 4), limit=2)


# --- APScheduler, the alarm clock ---------------------------------------------------------


def _cron_fires(schedule: Schedule, start: datetime, count: int) -> list[datetime]:
    trigger = apscheduler_trigger(schedule)
    fires: list[datetime] = []
    previous = None
    for _ in range(count):
        previous = trigger.get_next_fire_time(previous, previous or start)
        fires.append(previous.astimezone(UTC))
    return fires


def _next_fires(schedule: Schedule, start: datetime, count: int) -> list[datetime]:
    fires = [next_fire(schedule, start)]
    while len(fires) < count:
        fires.append(next_fire(schedule, fires[-1]))
    return fires


@pytest.mark.parametrize(
    "schedule",
    [
        Schedule(time(9), BERLIN),
        Schedule(time(2, 30), BERLIN, "daily"),
        Schedule(time(23, 45), NEW_YORK, "weekly", 6),
        Schedule(time(0, 0), "Australia/Lord_Howe", "daily"),
        Schedule(time(18, 30), "Asia/Kolkata", "weekdays"),
    ],
)
def test_apscheduler_agrees_on_ordinary_days(schedule: Schedule) -> None:
    start = utc(2026, 4, 7, 0, 1)  # April to mid-September: no transition in these zones
    count = 20 if schedule.cadence == "weekly" else 100
    assert _cron_fires(schedule, start, count) == _next_fires(schedule, start, count)


def test_apscheduler_differs_at_dst_edges() -> None:
    """Pins APScheduler 3.11's own DST behaviour, documented in apscheduler_trigger."""
    schedule = Schedule(time(2, 30), BERLIN, "daily")
    # Gap: it wakes at the non-existent 02:30 read with CET, i.e. 03:30 CEST; we fire at 03:00.
    spring = utc(2026, 3, 28, 12)
    assert _cron_fires(schedule, spring, 2) == [utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    assert _next_fires(schedule, spring, 2) == [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)]
    # Overlap: it wakes at both 02:30s; we fire once. fires_between tells the job which.
    autumn = utc(2026, 10, 24, 12)
    assert _cron_fires(schedule, autumn, 3) == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 30),
        utc(2026, 10, 26, 1, 30),
    ]
    assert _next_fires(schedule, autumn, 2) == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    assert fires_between(schedule, utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)) == []


# --- properties -------------------------------------------------------------------------

ZONES = [
    "UTC",
    BERLIN,
    NEW_YORK,
    "Europe/London",
    "Australia/Lord_Howe",  # 30-minute DST
    "Australia/Sydney",
    "Asia/Kolkata",  # +05:30, no DST
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Santiago",  # transitions at midnight
    "Asia/Tehran",
]
YEAR_START = utc(2026, 1, 1)


@functools.cache
def transitions(zone: str) -> list[datetime]:
    """Hours of 2026 at whose end the zone's UTC offset changes."""
    tz = ZoneInfo(zone)
    hours = [YEAR_START + timedelta(hours=h) for h in range(366 * 24)]
    offsets = [hour.astimezone(tz).utcoffset() for hour in hours]
    return [hour for hour, a, b in zip(hours, offsets, offsets[1:], strict=False) if a != b]


@st.composite
def cases(draw: st.DrawFn) -> tuple[Schedule, datetime]:
    """Anywhere in 2026, or (half the time) a wall time near one of the zone's transitions
    with ``after`` up to ~2 days before it, so gaps and overlaps are hit often."""
    zone = draw(st.sampled_from(ZONES))
    weekday = draw(st.integers(0, 6))
    cadence = draw(st.sampled_from(CADENCES))
    at = draw(st.builds(time, st.integers(0, 23), st.integers(0, 59)))
    after = YEAR_START + timedelta(seconds=draw(st.integers(0, 365 * 86400 - 1)))
    if draw(st.booleans()) and transitions(zone):
        hour = draw(st.sampled_from(transitions(zone)))
        wall = hour.astimezone(ZoneInfo(zone)) + timedelta(minutes=draw(st.integers(0, 180)))
        at = wall.time().replace(second=0)
        weekday = wall.weekday()
        cadence = draw(st.sampled_from(["daily", "weekly"]))
        after = hour - timedelta(seconds=draw(st.integers(0, 200_000)))
    return Schedule(at, zone, cadence, weekday), after


@settings(max_examples=400, deadline=None)
@given(cases())
def test_next_fire_properties(case: tuple[Schedule, datetime]) -> None:
    schedule, after = case
    zone = ZoneInfo(schedule.tz)
    fire = next_fire(schedule, after)
    assert fire > after
    assert fire.tzinfo is UTC
    wall = fire.astimezone(zone)
    assert schedule.fires_on(wall.date())
    intended = datetime.combine(wall.date(), schedule.at, tzinfo=zone)
    if wall.time() == schedule.at:
        event("ambiguous" if intended.replace(fold=1).utcoffset() != wall.utcoffset() else "plain")
        assert fire == intended.astimezone(UTC)  # the first occurrence if it happens twice
    else:  # a gap: intended does not exist, and fire is the first instant after the jump
        event("gap")
        assert intended.astimezone(UTC).astimezone(zone).time() != schedule.at
        before = (fire - timedelta(seconds=1)).astimezone(zone)
        assert before.utcoffset() != wall.utcoffset()
        naive = datetime.combine(wall.date(), schedule.at)
        assert before.replace(tzinfo=None) < naive < wall.replace(tzinfo=None)
    # Nothing earlier was skipped: every allowed day before fire's had its fire <= after.
    day = after.astimezone(zone).date() - timedelta(days=1)
    while day < wall.date():
        if schedule.fires_on(day):
            naive = datetime.combine(day, schedule.at)
            readings = [naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
            assert min(readings) <= after
        day += timedelta(days=1)
    assert next_fire(schedule, fire) > fire
