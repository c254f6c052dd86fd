"""The options of ``subscribe`` and ``digest on``: when, where in time, and what goes in.

    subscribe <query> [at 8am] [tz Europe/Berlin] [daily|weekdays|weekly [fri]]
    digest on [at 09:00] [tz ...] [daily|weekdays|weekly [fri]] [top N] [min-upvotes N]
              [empty-days note|silent] [filter <query>]

``subscribe`` reads its options from the end of the line, so the query keeps every word
before them (``subscribe look at attention at 8am`` subscribes to "look at attention").
``digest on`` reads options left to right; ``filter`` takes the rest of the line, so it
goes last. Every value is checked here, with a message that says what would work.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import time
from typing import Literal

from bot.errors import UserInputError, shown
from bot.model.schedule import CADENCES, DAYS, Cadence, parse_cadence, parse_time, parse_timezone

EmptyDays = Literal["note", "silent"]
MAX_TOP = 10
DEFAULT_TOP = 5
MAX_MIN_UPVOTES = 100_000


@dataclass(frozen=True, slots=True)
class When:
    """The schedule a user asked for; ``None`` fields take the defaults."""

    at: time | None = None
    tz: str | None = None
    cadence: Cadence | None = None
    weekday: int = 0


@dataclass(frozen=True, slots=True)
class DigestOptions:
    when: When = field(default_factory=When)
    top_n: int = DEFAULT_TOP
    filter: str = ""
    min_upvotes: int = 0
    empty_days: EmptyDays = "note"


def _is_day(word: str) -> bool:
    return any(word.lower() in (day, day[:3]) for day in DAYS)


def _is_cadence(word: str) -> bool:
    lower = word.lower()
    return lower in CADENCES or (lower.endswith("s") and lower[:-1] in DAYS)


def _looks_like_time(word: str) -> bool:
    """``at`` followed by this is a schedule, not query words (``look at attention``): any
    word with a digit in it is meant as a time (``at -1`` is an error, not a query)."""
    return any(char.isdigit() for char in word) or word.lower() in ("noon", "midnight")


def _set(when: When, name: str, value: str) -> When:
    if name == "at":
        if when.at is not None:
            raise UserInputError("`at` is given twice; give one time, like `at 08:00`.")
        return replace(when, at=parse_time(value))
    if when.tz is not None:
        raise UserInputError("`tz` is given twice; give one time zone, like `tz Europe/Berlin`.")
    return replace(when, tz=parse_timezone(value))


def _cadence(when: When, text: str) -> When:
    if when.cadence is not None:
        raise UserInputError("Give one of `daily`, `weekdays` or `weekly`, not several.")
    cadence, weekday = parse_cadence(text)
    return replace(when, cadence=cadence, weekday=weekday)


def split_subscribe(text: str) -> tuple[str, When]:
    """``<query> [options]`` → the query and the schedule options at its end."""
    words = text.split()
    when = When()
    while words:
        last = words[-1]
        if (
            len(words) >= 3
            and words[-3].lower() == "at"
            and last.lower().rstrip(".") in ("am", "pm", "a.m", "p.m")
            and _looks_like_time(words[-2])
        ):  # at 8 pm
            when = _set(when, "at", f"{words[-2]} {last}")
            del words[-3:]
        elif len(words) >= 2 and (
            words[-2].lower() == "tz" or (words[-2].lower() == "at" and _looks_like_time(last))
        ):
            when = _set(when, words[-2].lower(), last)
            del words[-2:]
        elif len(words) >= 2 and words[-2].lower() == "weekly" and _is_day(last):
            when = _cadence(when, f"weekly {last}")
            del words[-2:]
        elif len(words) >= 2 and words[-2].lower() == "weekly" and last.lower().endswith("day"):
            raise UserInputError(
                f"`{shown(last, 20)}` is not a day of the week; write it like `weekly fri`."
            )
        elif _is_cadence(last):
            when = _cadence(when, last)
            del words[-1]
        else:
            break
    if "tz" in (word.lower() for word in words):
        raise UserInputError(
            "Write the time zone as one word at the end, like `tz America/New_York`."
        )
    return " ".join(words), when


def _number(name: str, value: str | None, low: int, high: int, example: str) -> int:
    if value is None or not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        got = f"`{shown(value, 20)}`" if value else "nothing"
        raise UserInputError(
            f"`{name}` needs a number from {low} to {high} (got {got}), like `{example}`."
        )
    return int(value)


def parse_digest_options(text: str) -> DigestOptions:
    """The options after ``digest on``."""
    words = text.split()
    options = DigestOptions()
    seen: set[str] = set()
    i = 0
    while i < len(words):
        word = words[i].lower()
        value = words[i + 1] if i + 1 < len(words) else None
        if word in seen and word != "filter":
            raise UserInputError(f"`{word}` is given twice.")
        seen.add(word)
        if word == "filter":
            rest = " ".join(words[i + 1 :])
            if not rest:
                raise UserInputError("`filter` needs a query, like `filter diffusion OR video`.")
            return replace(options, filter=rest)
        if word in ("at", "tz"):
            if value is None:
                example = "at 09:00" if word == "at" else "tz Europe/Berlin"
                raise UserInputError(f"`{word}` needs a value, like `{example}`.")
            options = replace(options, when=_set(options.when, word, value))
            i += 2
        elif word == "top":
            options = replace(options, top_n=_number("top", value, 1, MAX_TOP, "top 5"))
            i += 2
        elif word in ("min-upvotes", "min_upvotes", "minupvotes"):
            number = _number("min-upvotes", value, 0, MAX_MIN_UPVOTES, "min-upvotes 10")
            options = replace(options, min_upvotes=number)
            i += 2
        elif word in ("empty-days", "empty_days", "emptydays"):
            if value is None or value.lower() not in ("note", "silent"):
                raise UserInputError(
                    "`empty-days` is `note` or `silent`, like `empty-days silent`."
                )
            options = replace(options, empty_days="note" if value.lower() == "note" else "silent")
            i += 2
        elif word == "weekly" and value is not None and _is_day(value):
            options = replace(options, when=_cadence(options.when, f"weekly {value}"))
            i += 2
        elif _is_cadence(word):
            options = replace(options, when=_cadence(options.when, word))
            i += 1
        else:
            raise UserInputError(
                f"I don't understand `{shown(words[i], 30)}` in `digest on`. Options: `at 09:00`, "
                "`tz Europe/Berlin`, `weekdays`/`daily`/`weekly fri`, `top 5`, "
                "`min-upvotes 10`, `empty-days note|silent`, and `filter <query>` last."
            )
    return options
