"""``papersbot backup PATH``: a consistent copy of the SQLite database, taken online.

SQLite's backup API copies the database page by page inside one read transaction; in WAL
mode that never blocks ``papersbot run``'s writers, and the copy is the database as of one
moment (what a writer commits meanwhile is simply not in it). The copy is written beside
*PATH*, checked with ``quick_check`` and only then renamed into place, so *PATH* is either
a whole, verified backup or absent.

Restore: stop ``papersbot run``, move the damaged database and its ``-wal``/``-shm`` files
aside, copy the backup to ``PAPERSBOT_DATABASE``, start again (deliveries due since the
backup are planned again from the schedules; ones already sent are found on the platform
before anything is re-sent).
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from bot.errors import StoreError


@dataclass(frozen=True, slots=True)
class BackupSummary:
    path: Path
    pages: int
    size: int  # bytes


def backup(database: Path, to: Path) -> BackupSummary:
    """Copy *database* to *to* (which must not exist); raise :class:`StoreError` saying why
    not. Blocking: run it in a thread."""
    if not database.is_file():
        raise StoreError(f"there is no database at {database} to back up")
    if to.exists():
        raise StoreError(f"{to} exists already; choose a new file for the backup")
    partial = to.with_name(f".{to.name}.partial")
    try:
        source_uri = f"{database.resolve().as_uri()}?mode=ro"
        with (
            closing(sqlite3.connect(source_uri, uri=True)) as source,
            closing(sqlite3.connect(partial)) as copy,
        ):
            source.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            problems = [str(row[0]) for row in copy.execute("PRAGMA quick_check(5)")]
            pages = int(copy.execute("PRAGMA page_count").fetchone()[0])
        if problems != ["ok"]:
            raise StoreError(f"the copy of {database} failed its check: {'; '.join(problems)}")
        with partial.open("rb+") as raw:
            os.fsync(raw.fileno())
        partial.rename(to)
    except sqlite3.Error as exc:
        raise StoreError(f"could not back up {database}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return BackupSummary(to, pages, to.stat().st_size)
