"""Recorded Daily Papers data read from disk, for the offline demo, benchmarks and tests.

Two formats are read, gzipped or not (told apart by magic bytes, not by name):

* a raw ``/api/daily_papers`` response: one JSON array; its day comes from a
  ``YYYY-MM-DD`` in the file name when the items do not carry ``submittedOnDailyAt``;
* the archive: JSON lines of ``{"date": "YYYY-MM-DD", "items": [...raw API items...]}``.

Inputs are bounded: an archive line longer than :data:`MAX_LINE` characters, or nested
too deep to parse, is skipped with a warning naming its number (read in pieces, never held
whole), an array file larger than :data:`MAX_ARRAY` is refused, and leading whitespace is
read in chunks. A file that stops being readable half-way (a truncated gzip) ends the
reading; what was read before stays, and :attr:`SnapshotSource.problems` says what went
wrong. A file in neither format raises :class:`SourceResponseError`.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import itertools
import json
import logging
import re
import zlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import IO

from bot.errors import SourceResponseError, SourceUnavailable
from bot.model.papers import Paper
from bot.sources.hf_parse import parse_items

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
MAX_LINE = 8 * 1024 * 1024  # characters: a recorded day is well under 1 MB
MAX_ARRAY = 64 * 1024 * 1024  # characters of a raw daily_papers array file
MAX_LEADING = 1024 * 1024  # whitespace before the first JSON character
CHUNK = 64 * 1024
_READ_ERRORS = (OSError, EOFError, zlib.error, UnicodeDecodeError)
_DAY_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


class SnapshotSource:
    """Daily Papers from a recorded file at *path*."""

    name = "snapshot"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.problems: list[str] = []  # lines skipped, or where reading stopped (last pass)

    def days(self) -> Iterator[tuple[date | None, list[Paper]]]:
        """Yield ``(day, papers)`` per recorded day, streaming the file line by line.

        The day is ``None`` for an array file whose name holds no date.
        """
        self.problems = []
        try:
            with self._open() as stream:
                first = _first_char(stream)
            with self._open() as stream:
                if first == "[":
                    yield self._array(stream)
                elif first == "{":
                    yield from self._lines(stream)
                else:
                    raise self._error("neither a JSON array nor JSON lines")
        except _READ_ERRORS as exc:
            if isinstance(exc, FileNotFoundError):
                raise SourceUnavailable(self.name, str(self.path), "file not found") from None
            raise self._error(f"unreadable: {exc}") from exc

    async def daily(self, day: date) -> list[Paper]:
        """The papers recorded for *day* (empty if the file has none), read off the event loop."""
        return await asyncio.to_thread(self._daily, day)

    def _daily(self, day: date) -> list[Paper]:
        papers: list[Paper] = []
        for recorded, batch in self.days():
            if recorded == day:
                papers.extend(batch)
            elif recorded is None:
                papers.extend(p for p in batch if p.daily_day == day)
        return papers

    def _open(self) -> IO[str]:
        with self.path.open("rb") as probe:
            magic = probe.read(2)
        if magic == GZIP_MAGIC:
            return io.TextIOWrapper(gzip.open(self.path, "rb"), encoding="utf-8-sig")
        return self.path.open(encoding="utf-8-sig")

    def _array(self, stream: IO[str]) -> tuple[date | None, list[Paper]]:
        text = stream.read(MAX_ARRAY + 1)
        if len(text) > MAX_ARRAY:
            raise self._error(f"larger than {MAX_ARRAY // 1024 // 1024} MB of JSON")
        try:
            items = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise self._error(f"not valid JSON: {exc}") from None
        if not isinstance(items, list):
            raise self._error("not a JSON array")
        found = _DAY_IN_NAME.search(self.path.name)
        day = _parse_day(found.group(1)) if found else None
        return day, parse_items(items, day=day)

    def _lines(self, stream: IO[str]) -> Iterator[tuple[date | None, list[Paper]]]:
        good = bad = 0
        lines = _bounded_lines(stream)
        for number in itertools.count(1):
            try:
                line = next(lines, "")
            except _READ_ERRORS as exc:  # truncated or corrupt from here on: keep what came
                self._problem(f"reading stopped at line {number}: {exc}")
                return
            if line == "":
                break
            try:
                if line is None:
                    raise ValueError(f"longer than {MAX_LINE // 1024 // 1024} MB")
                if not line.strip():
                    continue
                day, items = _parse_line(line)
            except (ValueError, RecursionError) as exc:
                bad += 1
                self._problem(f"line {number} skipped: {str(exc)[:200]}")
                continue
            good += 1
            yield day, parse_items(items, day=day)
        if bad and not good:
            raise self._error(f"none of its {bad} lines is a recorded day")

    def _problem(self, text: str) -> None:
        log.warning("%s: %s", self.path, text)
        self.problems.append(text)

    def _error(self, detail: str) -> SourceResponseError:
        return SourceResponseError(self.name, str(self.path), detail)


def _first_char(stream: IO[str]) -> str:
    """The first character that is not whitespace (``""`` for an empty or blank file);
    ``"?"`` after :data:`MAX_LEADING` characters of whitespace."""
    seen = 0
    while seen <= MAX_LEADING:
        chunk = stream.read(CHUNK)
        if not chunk:
            return ""
        stripped = chunk.lstrip()
        if stripped:
            return stripped[0]
        seen += len(chunk)
    return "?"


def _bounded_lines(stream: IO[str]) -> Iterator[str | None]:
    """The stream's lines, each read in pieces of at most :data:`MAX_LINE` characters;
    ``None`` stands for a line longer than that, which is skipped without being kept."""
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) <= MAX_LINE or line.endswith("\n"):
            yield line
            continue
        while (rest := stream.readline(CHUNK)) and not rest.endswith("\n"):
            pass
        yield None


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _parse_line(line: str) -> tuple[date, list[object]]:
    record = json.loads(line)
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    raw_day, items = record.get("date"), record.get("items")
    day = _parse_day(raw_day) if isinstance(raw_day, str) else None
    if day is None:
        raise ValueError(f"no valid date (date={str(raw_day)[:20]!r})")
    if not isinstance(items, list):
        raise ValueError("items is not a list")
    return day, items
