"""Logging for ``papersbot``: plain text (the default) or one JSON object per line
(``PAPERSBOT_LOG_FORMAT=json``), secrets redacted in both.

A JSON line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, the
traceback as ``exception`` when there is one, and any fields a log call passed in
``extra`` (delivery lines carry ``delivery``, ``target`` and ``platform``,
:mod:`bot.delivery.watch`). Secret values (every ``SecretStr`` setting: tokens, signing
secrets) and anything shaped like a Slack token (``xoxb-...``, ``xapp-...``) are replaced by
``[redacted]`` in the message, the fields and the traceback, whichever library logged
them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import SecretStr

from bot.config import Settings

REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Slack tokens are recognisable on sight; a Bearer header's value is a token whatever it is.
_TOKEN_SHAPES = re.compile(r"\bx(?:ox[abprse]|app)-[A-Za-z0-9-]{6,}|(?<=Bearer )[^\s'\"]{8,}")
# What every LogRecord has; anything else on a record came in through ``extra``.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value set in *settings* (longest first, so none is half-replaced)."""
    values = [
        value.get_secret_value()
        for value in (getattr(settings, name) for name in type(settings).model_fields)
        if isinstance(value, SecretStr)
    ]
    values += _database_passwords(settings.papersbot_database)
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def _database_passwords(database: str) -> list[str]:
    """The passwords in a PostgreSQL URL (user part or ``password=``), as written and
    percent-decoded: never to be logged."""
    try:
        url = urlsplit(database)
    except ValueError:
        return []
    found = [url.password] if url.password else []
    found += [value for key, value in parse_qsl(url.query) if key.lower() == "password"]
    return found + [unquote(value) for value in found if unquote(value) != value]


class Redactor:
    """Replaces known secret values and token-shaped text with :data:`REDACTED`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = list(secrets)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _TOKEN_SHAPES.sub(REDACTED, text)


class TextFormatter(logging.Formatter):
    """The plain format, redacted."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__(TEXT_FORMAT)
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line (see the module docstring), redacted."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = self._redact(str(value)) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = self._redact(self.formatException(record.exc_info))
        elif record.stack_info:
            line["stack"] = self._redact(record.stack_info)
        return json.dumps(line, default=lambda v: self._redact(str(v)), ensure_ascii=False)


def log_handler(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler (stderr by default) in the format *settings* ask for."""
    handler: logging.StreamHandler[TextIO] = logging.StreamHandler(stream)
    redact = Redactor(secrets_of(settings))
    formatter: logging.Formatter
    if settings.papersbot_log_format == "json":
        formatter = JsonFormatter(redact)
    else:
        formatter = TextFormatter(redact)
    handler.setFormatter(formatter)
    return handler


def configure_logging(settings: Settings) -> None:
    """The process's logging, once, at start-up (the composition root calls it). Like
    :func:`logging.basicConfig`, it leaves a root logger that already has handlers alone."""
    logging.basicConfig(level=settings.papersbot_log_level, handlers=[log_handler(settings)])
    # httpx logs every request URL at INFO; keep that for DEBUG.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # slack_sdk logs whole response bodies at DEBUG, tokens from oauth.v2.access included:
    # never below INFO, whatever PAPERSBOT_LOG_LEVEL says.
    logging.getLogger("slack_sdk").setLevel(logging.INFO)
    # APScheduler logs every alarm it sets and runs at INFO; its warnings still show.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
