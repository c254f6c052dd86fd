"""Counting the rate-limit waits discord.py absorbs.

discord.py sleeps a 429's ``retry_after`` inside its HTTP client and retries, telling no one
but its log: ``We are being rate limited. %s %s responded with 429. Retrying in %.2f
seconds.`` on the ``discord.http`` logger. That line is the only hook it offers, so
:class:`RateLimitWaits` is a logging filter on that logger that reports each such wait to
the core's observer (``papersbot_rate_limit_waits_total{by="discord"}``) and lets the line
through unchanged.
"""

from __future__ import annotations

import logging

from bot import Observer

LOGGER = "discord.http"
MARK = "responded with 429. Retrying in"


class RateLimitWaits(logging.Filter):
    """Reports discord.py's 429 sleeps to *observer*; never drops a record."""

    def __init__(self, observer: Observer) -> None:
        super().__init__()
        self._observer = observer

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and MARK in record.msg and record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            seconds = args[-1]
            if isinstance(seconds, int | float):
                self._observer.rate_limited("discord", float(seconds))
        return True

    def attach(self) -> None:
        logging.getLogger(LOGGER).addFilter(self)

    def detach(self) -> None:
        logging.getLogger(LOGGER).removeFilter(self)
