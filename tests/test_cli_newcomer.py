"""The command line a newcomer tries first: `demo` options that say what they need, spans
written like `since:`, and counts and plurals that read right."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.delivery.simulate import parse_span, span_words
from bot.errors import UserInputError
from bot.grammar.commands import parse_command
from bot.service.papersbot import PapersBot


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real .env, no tokens, a private database, no network."""
    monkeypatch.chdir(tmp_path)
    for key in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PAPERSBOT_DATABASE", str(tmp_path / "cli.db"))
    monkeypatch.setenv("HF_API_URL", "http://127.0.0.1:9")


def test_demo_script_without_simulate_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo", "--once", "--script", "digest on at 9am"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--script runs its commands before a fast-forward; add --simulate SPAN" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("2w", timedelta(days=14)),
        ("1W", timedelta(days=7)),
        ("3d", timedelta(days=3)),
        ("36h", timedelta(hours=36)),
        ("1h", timedelta(hours=1)),
    ],
)
def test_spans_take_the_units_of_since(text: str, span: timedelta) -> None:
    assert parse_span(text) == span


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("3w", "between 1 hour and 14 days"),
        ("1m", "between 1 hour and 14 days"),
        ("1y", "between 1 hour and 14 days"),
        ("3 weeks", "like `36h`, `3d` or `2w`"),
    ],
)
def test_spans_out_of_range_say_the_range(text: str, says: str) -> None:
    with pytest.raises(UserInputError, match=says):
        parse_span(text)


def test_span_words_are_singular_for_one() -> None:
    assert span_words(timedelta(days=1)) == "1 day"
    assert span_words(timedelta(days=2)) == "2 days"
    assert span_words(timedelta(hours=1)) == "1 hour"
    assert span_words(timedelta(hours=36)) == "36 hours"


def test_simulating_one_day_reads_one_day(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--simulate", "1d", "--script", "status"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Simulating 1 day from" in out
    assert "Simulated 1 day:" in out
    assert "1 days" not in out


def test_today_out_of_range_says_the_allowed_range() -> None:
    for count in ("50", "0", "11"):
        with pytest.raises(UserInputError) as info:
            parse_command(f"today {count}")
        message = str(info.value)
        assert "`today` shows 1 to 10 papers" in message
        assert "not a count" not in message
    with pytest.raises(UserInputError, match="is not a count; use a number from 1 to 10"):
        parse_command("today many")


async def test_today_50_answers_with_the_range(testbot: PapersBot) -> None:
    reply = await testbot.respond("today 50")
    assert reply.is_error
    assert reply.text.startswith("`today` shows 1 to 10 papers, not 50")
