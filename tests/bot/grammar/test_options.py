"""The options of ``subscribe`` and ``digest on`` (bot/grammar/options.py): good and bad
input, boundaries, and which words stay query words."""

from __future__ import annotations

from datetime import time

import pytest

from bot.errors import UserInputError
from bot.grammar.commands import Subscribe, parse_command
from bot.grammar.options import (
    DEFAULT_TOP,
    MAX_MIN_UPVOTES,
    MAX_TOP,
    DigestOptions,
    When,
    parse_digest_options,
    split_subscribe,
)

# -- subscribe: options are read from the end of the line --------------------------------


@pytest.mark.parametrize(
    ("text", "query", "when"),
    [
        ("diffusion", "diffusion", When()),
        ("", "", When()),
        ("at 8am", "", When(at=time(8))),  # no query left: the command says so
        ("diffusion at 8am", "diffusion", When(at=time(8))),
        ("diffusion at 8 pm", "diffusion", When(at=time(20))),
        ("diffusion at 8 p.m.", "diffusion", When(at=time(20))),
        ("diffusion at noon", "diffusion", When(at=time(12))),
        ("diffusion tz utc", "diffusion", When(tz="UTC")),
        ("diffusion weekly", "diffusion", When(cadence="weekly", weekday=0)),
        ("diffusion Weekly FRIDAY", "diffusion", When(cadence="weekly", weekday=4)),
        ("diffusion fridays", "diffusion", When(cadence="weekly", weekday=4)),
        ("diffusion weekdays", "diffusion", When(cadence="weekdays")),
        (
            "diffusion weekly fri at 20:30 tz Europe/Berlin",
            "diffusion",
            When(at=time(20, 30), tz="Europe/Berlin", cadence="weekly", weekday=4),
        ),
        (
            "diffusion at 8 am tz UTC daily",
            "diffusion",
            When(at=time(8), tz="UTC", cadence="daily"),
        ),
        # "at" before something that is not a time is a query word
        ("look at attention", "look at attention", When()),
        ("look at attention at 7am", "look at attention", When(at=time(7))),
        ("diffusion at", "diffusion at", When()),
        ("daily diffusion models", "daily diffusion models", When()),  # only at the end
    ],
)
def test_subscribe_options_come_off_the_end(text: str, query: str, when: When) -> None:
    assert split_subscribe(text) == (query, when)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("x daily weekdays", "not several"),
        ("x weekly fri daily", "not several"),
        ("x at 8am at 9am", "`at` is given twice"),
        ("x tz UTC tz Europe/Berlin", "`tz` is given twice"),
        ("x tz America/New York", "tz America/New_York"),
        ("x tz UTC y", "one word at the end"),
        ("x at 25:00", "no hour 25"),
        ("x tz berlin", "did you mean `Europe/Berlin`"),
    ],
)
def test_bad_subscribe_options_are_explained(text: str, fragment: str) -> None:
    with pytest.raises(UserInputError, match=fragment):
        split_subscribe(text)


def test_grammar_keeps_query_words_that_look_like_options() -> None:
    command = parse_command("subscribe look at attention at 20:30 weekly fri")
    assert command.query == "look at attention"  # type: ignore[union-attr]
    with pytest.raises(UserInputError, match="twice"):
        parse_command("digest on top 3 top 4")


@pytest.mark.parametrize(
    ("command", "query", "at"),
    [
        ("subscribe diffusion at 8 pm", "diffusion", "20:00"),
        ("subscribe diffusion at 8 p.m. weekly fri", "diffusion", "20:00"),
        ("subscribe look at attention at 7am", "look at attention", "07:00"),
    ],
)
def test_spaced_times_are_options_not_query_words(command: str, query: str, at: str) -> None:
    parsed = parse_command(command)
    assert isinstance(parsed, Subscribe)
    assert parsed.query == query
    assert parsed.when.at is not None
    assert f"{parsed.when.at:%H:%M}" == at


# -- digest on: options left to right, filter last ----------------------------------------


def test_no_digest_options_are_the_defaults() -> None:
    assert parse_digest_options("") == DigestOptions()
    assert DigestOptions().top_n == DEFAULT_TOP
    assert DigestOptions().empty_days == "note"


def test_every_digest_option_at_once() -> None:
    options = parse_digest_options(
        "at 7:30 tz Asia/Tokyo top 3 min-upvotes 5 empty-days silent weekly fri "
        "filter diffusion -video"
    )
    assert options == DigestOptions(
        when=When(at=time(7, 30), tz="Asia/Tokyo", cadence="weekly", weekday=4),
        top_n=3,
        filter="diffusion -video",
        min_upvotes=5,
        empty_days="silent",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("top 1", DigestOptions(top_n=1)),
        (f"top {MAX_TOP}", DigestOptions(top_n=MAX_TOP)),
        ("TOP 03", DigestOptions(top_n=3)),
        ("min-upvotes 0", DigestOptions(min_upvotes=0)),
        (f"min-upvotes {MAX_MIN_UPVOTES}", DigestOptions(min_upvotes=MAX_MIN_UPVOTES)),
        ("min_upvotes 3", DigestOptions(min_upvotes=3)),
        ("minupvotes 3", DigestOptions(min_upvotes=3)),
        ("MIN-UPVOTES 3", DigestOptions(min_upvotes=3)),
        ("empty-days NOTE", DigestOptions(empty_days="note")),
        ("empty_days silent", DigestOptions(empty_days="silent")),
        ("weekly", DigestOptions(when=When(cadence="weekly", weekday=0))),
        ("fridays", DigestOptions(when=When(cadence="weekly", weekday=4))),
        ("daily at 9", DigestOptions(when=When(at=time(9), cadence="daily"))),
        # filter takes the rest of the line, option words included
        ("filter top 3 top 4", DigestOptions(filter="top 3 top 4")),
        ("top 2 filter a filter b", DigestOptions(top_n=2, filter="a filter b")),
    ],
)
def test_digest_option_values_and_spellings(text: str, expected: DigestOptions) -> None:
    assert parse_digest_options(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("top 0", "`top` needs a number from 1 to 10 (got `0`), like `top 5`."),
        ("top 11", "`top` needs a number from 1 to 10 (got `11`), like `top 5`."),
        ("top -1", "`top` needs a number from 1 to 10 (got `-1`), like `top 5`."),
        ("top x", "`top` needs a number from 1 to 10 (got `x`), like `top 5`."),
        ("top ３", "`top` needs a number from 1 to 10 (got `３`), like `top 5`."),
        ("top", "`top` needs a number from 1 to 10 (got nothing), like `top 5`."),
        (
            f"min-upvotes {MAX_MIN_UPVOTES + 1}",
            "`min-upvotes` needs a number from 0 to 100000 (got `100001`), like `min-upvotes 10`.",
        ),
        ("empty-days maybe", "`empty-days` is `note` or `silent`, like `empty-days silent`."),
        ("empty-days", "`empty-days` is `note` or `silent`, like `empty-days silent`."),
        ("filter", "`filter` needs a query, like `filter diffusion OR video`."),
        ("at", "`at` needs a value, like `at 09:00`."),
        ("tz", "`tz` needs a value, like `tz Europe/Berlin`."),
        ("top 3 top 4", "`top` is given twice."),
        ("at 9 tz UTC at 10", "`at` is given twice."),
        ("daily weekdays", "Give one of `daily`, `weekdays` or `weekly`, not several."),
    ],
)
def test_bad_digest_options_are_explained(text: str, message: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_digest_options(text)
    assert str(caught.value) == message


def test_an_unknown_digest_option_lists_the_ones_there_are() -> None:
    with pytest.raises(UserInputError) as caught:
        parse_digest_options("top 3 frobnicate")
    message = str(caught.value)
    assert message.startswith("I don't understand `frobnicate` in `digest on`.")
    for option in ("at 09:00", "tz Europe/Berlin", "top 5", "min-upvotes 10", "filter <query>"):
        assert f"`{option}`" in message
    with pytest.raises(UserInputError) as caught:
        parse_digest_options("x" * 200)
    assert "I don't understand `xxx" in str(caught.value)
    assert "x" * 31 not in str(caught.value)  # the word is shown shortened


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("diffusion weekly funday", "`funday` is not a day of the week"),
        ("diffusion at -1", "`-1` is not a time"),
        ("diffusion at 8x", "`8x` is not a time"),
    ],
)
def test_a_word_that_looks_like_an_option_but_is_not_one_is_an_error(text: str, says: str) -> None:
    """It used to become part of the query: a subscription to "diffusion weekly funday"."""
    with pytest.raises(UserInputError, match=says):
        split_subscribe(text)
