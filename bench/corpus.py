"""Corpora for the search benchmark: the real archive, and synthetic ones grown from it.

A synthetic corpus of *n* papers holds the whole real archive plus ``n - 8,826`` papers
recombined from it, so its vocabulary, document lengths, author names and popularity follow
the real data:

* id: a valid, unused new-style arXiv id ``YYMM.NNNNN``; months run back from 2606 with at
  most :data:`PER_MONTH` papers each (arXiv itself receives about 24,000 a month), numbers
  count up within a month, so ids grow with time like real ones;
* title: paper A's, its ``Name:`` prefix (if any) often swapped for a made-up name (real
  corpora keep coining names), and about one long word in seven swapped for a title word
  drawn from the archive's title-word frequencies;
* abstract: the first half of A's sentences, then the second half of paper B's;
* authors: as many as paper C has, each a given name and a surname drawn from the archive's;
* keywords: half of A's and half of B's; summary, links, upvotes, comments, stars: A's;
* day: spread evenly over the id's month, weekdays only; published the day before.
"""

from __future__ import annotations

import calendar
import math
import random
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from bot.model.papers import Paper
from bot.sources.snapshot import SnapshotSource
from bot.store.rows import rowid_for

PER_MONTH = 30_000
LAST_MONTH = (2026, 6)
MIN_MONTHS = 26  # the archive's own span, 2405..2606
BATCH = 5_000
VERSION = 1  # bump when the generator changes, so cached stores are rebuilt

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_NAME_PREFIX = re.compile(r"^([^:]{2,30}):\s+(.+)$")
_SYLLABLES = tuple(c + v for c in "bcdfgklmnprstvxz" for v in "aeiou")


def archive_days(path: Path) -> list[tuple[date, list[Paper]]]:
    """The archive's recorded days, in file order (days without a date are skipped)."""
    return [(day, papers) for day, papers in SnapshotSource(path).days() if day is not None]


def seen_at(day: date) -> datetime:
    """When the real ingest records a day: 08:00 UTC (the archive was fetched at 07:45)."""
    return datetime.combine(day, time(8), UTC)


def without_keywords(papers: list[Paper]) -> list[Paper]:
    return [replace(p, ai_keywords=()) for p in papers]


class Synthesizer:
    """Recombines archive papers into new, plausible ones (deterministic for a seed)."""

    def __init__(self, papers: list[Paper], seed: int) -> None:
        self._papers = papers
        self._rng = random.Random(seed)
        self._sentences = [_SENTENCE.split(p.abstract) for p in papers]
        self._title_words = [
            w for p in papers for w in p.title.split() if len(w) > 4 and w.isalpha()
        ]
        names = [a.rsplit(" ", 1) for p in papers for a in p.authors if " " in a]
        self._given = [n[0] for n in names]
        self._surnames = [n[1] for n in names]

    def paper(self, pid: str, day: date) -> Paper:
        rng = self._rng
        a, b, c = (rng.randrange(len(self._papers)) for _ in range(3))
        base = self._papers[a]
        title, abstract = self._title(base.title), self._abstract(a, b)
        if (m := _NAME_PREFIX.match(base.title)) and not title.startswith(m.group(1)):
            new_name = title.split(":", 1)[0]
            abstract = abstract.replace(m.group(1), new_name)
        other = self._papers[b]
        keywords = base.ai_keywords[: len(base.ai_keywords) // 2]
        keywords += other.ai_keywords[len(other.ai_keywords) // 2 :]
        authors = tuple(
            f"{rng.choice(self._given)} {rng.choice(self._surnames)}"
            for _ in self._papers[c].authors
        )
        return replace(
            base,
            id=pid,
            title=title,
            abstract=abstract,
            authors=authors,
            ai_keywords=keywords,
            published=datetime.combine(day - timedelta(days=1), time(), UTC),
            daily_day=day,
            thumbnail=None,
        )

    def _title(self, title: str) -> str:
        rng = self._rng
        if (m := _NAME_PREFIX.match(title)) and rng.random() < 0.8:
            name = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
            title = f"{name.capitalize()}: {m.group(2)}"
        words = [
            rng.choice(self._title_words) if len(w) > 4 and rng.random() < 0.15 else w
            for w in title.split()
        ]
        return " ".join(words)

    def _abstract(self, a: int, b: int) -> str:
        first, second = self._sentences[a], self._sentences[b]
        return " ".join(first[: max(1, len(first) // 2)] + second[len(second) // 2 :])


def _months(count: int) -> list[tuple[int, int]]:
    year, month = LAST_MONTH
    months = []
    for _ in range(count):
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def _weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def synthetic_batches(
    days: list[tuple[date, list[Paper]]], size: int, *, seed: int = 0
) -> Iterator[list[Paper]]:
    """Batches of :data:`BATCH` papers, oldest id first, making up a corpus of *size* papers.

    Papers are made month by month, so memory holds one month (≤ 30,000 papers) at a time.
    """
    real = list({p.id: p for _, papers in days for p in papers}.values())
    extra = max(0, size - len(real))
    months = _months(max(MIN_MONTHS, math.ceil(extra / PER_MONTH)))
    first = f"{months[0][0] % 100:02d}{months[0][1]:02d}"
    by_month: dict[str, list[Paper]] = defaultdict(list)
    for p in real:
        by_month[max(p.id[:4], first)].append(p)
    synth = Synthesizer(real, seed)
    for index, (year, month) in enumerate(months):
        yymm = f"{year % 100:02d}{month:02d}"
        count = extra // len(months) + (1 if index < extra % len(months) else 0)
        taken = {p.id for p in by_month[yymm]}
        month_days = calendar.monthrange(year, month)[1]
        batch = list(by_month.pop(yymm, []))
        number = 0
        for j in range(count):
            number += 1
            while f"{yymm}.{number:05d}" in taken:
                number += 1
            day = _weekday(date(year, month, 1 + j * month_days // count) + timedelta(days=1))
            batch.append(synth.paper(f"{yymm}.{number:05d}", day))
        batch.sort(key=lambda p: rowid_for(p.id) or 0)
        for start in range(0, len(batch), BATCH):
            yield batch[start : start + BATCH]
    leftover = [p for papers in by_month.values() for p in papers]
    if leftover:  # ids newer than LAST_MONTH, if a newer archive is ever used
        yield leftover
