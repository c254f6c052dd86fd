"""Log lines: plain text by default, one JSON object per line with
``PAPERSBOT_LOG_FORMAT=json``; secrets never appear in either."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, date, datetime

import pytest

from bot.config import load_settings
from bot.delivery.watch import DeliveryWatch
from bot.model.delivery import Delivery, DeliveryKey, Target
from bot.observe import NULL_OBSERVER
from bot.ops.logs import REDACTED, log_handler

SECRETS = {
    "slack_bot_token": "xoxb-1111-2222-abcdefSECRET",
    "slack_signing_secret": "8f14e45fceea167a5a36dedd4bea2543",
    "slack_app_token": "xapp-1-A111-222-c0ffeeSECRET",
    "discord_token": "MTIzNDU2Nzg5.discordSECRET.part3",
    "hf_token": "hf_abcdefghijklmnopSECRET",
}


def _logger(fmt: str) -> tuple[logging.Logger, io.StringIO]:
    settings = load_settings(env_file=None, papersbot_log_format=fmt, **SECRETS)
    stream = io.StringIO()
    logger = logging.getLogger(f"tests.logs.{fmt}")
    logger.handlers = [log_handler(settings, stream)]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def _say_secrets(logger: logging.Logger) -> None:
    """Every way a secret could slip into a line: arguments, the message, extra fields,
    a traceback, and token-shaped text nobody configured."""
    logger.info("token is %s", SECRETS["slack_bot_token"])
    logger.warning(f"discord said no to {SECRETS['discord_token']}")  # noqa: G004
    logger.info("headers", extra={"auth": f"Bearer {SECRETS['hf_token']}"})
    try:
        raise RuntimeError(f"signing secret {SECRETS['slack_signing_secret']} rejected")
    except RuntimeError:
        logger.exception("failed with %s", SECRETS["slack_app_token"])
    logger.info("a stranger's token: xoxb-9999-8888-strangerstoken")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_secret_appears_in_either_format(fmt: str) -> None:
    logger, stream = _logger(fmt)
    _say_secrets(logger)
    out = stream.getvalue()
    for secret in SECRETS.values():
        assert secret not in out
    assert "strangerstoken" not in out
    assert out.count(REDACTED) >= 5  # the plain format does not print extra fields
    assert "RuntimeError" in out  # the traceback is kept, only the secret is gone


def test_json_lines_are_one_object_each_with_the_delivery_fields() -> None:
    logger, stream = _logger("json")
    logging.getLogger("bot.delivery.watch").handlers = logger.handlers
    watch_logger = logging.getLogger("bot.delivery.watch")
    watch_logger.propagate, watch_logger.level = False, logging.INFO
    try:
        key = DeliveryKey.dm(7, date(2026, 8, 19))
        target = Target(3, "discord", "G1", "user", "424242")
        due = datetime(2026, 8, 19, 16, 0, tzinfo=UTC)
        row = Delivery(1, 3, key, due, "claimed", 1, due, due, "t", None, None, None, None)
        DeliveryWatch(NULL_OBSERVER).done(row, target, "sent", "message 99")
        logger.info("plain line\nwith a second line")
    finally:
        watch_logger.handlers, watch_logger.propagate = [], True
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # a newline inside a message stays inside its object
    delivery, plain = (json.loads(line) for line in lines)
    assert delivery["delivery"] == "sub:7:2026-08-19"
    assert delivery["target"] == "user:424242"
    assert delivery["platform"] == "discord"
    assert delivery["level"] == "INFO"
    assert delivery["logger"] == "bot.delivery.watch"
    assert delivery["message"].startswith("delivery sub:7:2026-08-19 to user 424242 on discord")
    assert delivery["time"].endswith("+00:00")
    assert plain["message"] == "plain line\nwith a second line"
    assert "delivery" not in plain


def test_text_stays_the_default() -> None:
    settings = load_settings(env_file=None)
    assert settings.papersbot_log_format == "text"
    logger, stream = _logger("text")
    logger.info("hello %s", "there")
    assert stream.getvalue().rstrip().endswith("INFO tests.logs.text: hello there")


@pytest.mark.parametrize(
    "database",
    [
        "postgresql://papersbot:dbPassw0rd%21@db.example.org/papersbot",
        "postgresql://papersbot@db.example.org/papersbot?password=dbPassw0rd!",
    ],
)
def test_the_database_password_is_a_secret_too(database: str) -> None:
    settings = load_settings(env_file=None, papersbot_database=database)
    stream = io.StringIO()
    logger = logging.getLogger("tests.logs.database")
    logger.handlers = [log_handler(settings, stream)]
    logger.propagate = False
    logger.error("asyncpg said: password authentication failed for %s", "dbPassw0rd!")
    logger.error("as written: %s", database)
    out = stream.getvalue()
    assert "dbPassw0rd" not in out
    assert out.count(REDACTED) == 2
