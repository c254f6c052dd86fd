"""``papersbot export PATH`` and ``papersbot import PATH``: the store as portable JSON lines.

An export is what a deployment must carry to another store (another file, or another
engine): papers, their popularity history, ingest runs, delivery targets, subscriptions,
channel digests, the ledger and the papers each target was sent. Derived tables (the
ranking columns and the full-text index) are rebuilt by the importing store's own triggers;
search pagination tokens are left behind (they expire anyway).

Format: UTF-8 JSON, one object per line, optionally gzip-compressed (a ``.gz`` name).
Line 1 is the header ``{"papersbot_export": 1, "schema": N, "created": ..., "rows":
{table: count}, "sequences": {table: value}}``; every other line is ``{"table": name,
"row": {column: value}}``; a binary value (an installation's sealed payload) is written
as ``{"base64": "..."}``. ``sequences`` keeps ``AUTOINCREMENT`` counters, so an imported
store never reuses a subscription id that old ledger keys (``sub:<id>:<day>``) name.

The export is read inside one read transaction: consistent while ``papersbot run`` writes.
The import is checked line by line first and written in one transaction: a malformed line
is reported with its number and nothing is imported. A store that already holds anything
is refused, unless *merge* is asked for and it holds only papers (their history and runs):
then papers already present are kept and the rest is added.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

from bot.errors import StoreError, UserInputError

FORMAT = 1
# Parents before children, so foreign keys hold row by row.
TABLES = (
    "papers",
    "paper_stats",
    "ingest_runs",
    "targets",
    "subscriptions",
    "channel_digests",
    "deliveries",
    "sent_papers",
    "installations",  # sealed: the importing deployment needs the same PAPERSBOT_SECRET_KEY
)
PAPER_TABLES = ("papers", "paper_stats", "ingest_runs")  # what a merge may meet
MAX_LINE = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Moved:
    """What an export wrote or an import stored."""

    path: Path
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _open(path: Path, mode: str, *, named: Path | None = None) -> IO[str]:
    """*path* as text; gzip when it (or the name it will be renamed to) ends in ``.gz``."""
    if (named or path).suffix == ".gz":
        return cast(IO[str], gzip.open(path, mode + "t", encoding="utf-8", newline="\n"))
    return path.open(mode, encoding="utf-8", newline="\n")


def export(database: Path, to: Path) -> Moved:
    """Write *database* to *to* (which must not exist). Blocking: run it in a thread."""
    if not database.is_file():
        raise StoreError(f"there is no database at {database} to export")
    if to.exists():
        raise StoreError(f"{to} exists already; choose a new file for the export")
    partial = to.with_name(f".{to.name}.partial")
    uri = f"{database.resolve().as_uri()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as conn, _open(partial, "w", named=to) as out:
            conn.execute("BEGIN")  # one read transaction: one moment of the database
            rows = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
            header = {
                "papersbot_export": FORMAT,
                "schema": conn.execute("PRAGMA user_version").fetchone()[0],
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "rows": rows,
                "sequences": dict(conn.execute("SELECT name, seq FROM sqlite_sequence")),
            }
            out.write(json.dumps(header) + "\n")
            for table in TABLES:
                cursor = conn.execute(f"SELECT * FROM {table}")  # rowid or key order
                names = [d[0] for d in cursor.description]
                for values in cursor:
                    row = {
                        name: _portable(value) for name, value in zip(names, values, strict=True)
                    }
                    line = {"table": table, "row": row}
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
            out.flush()
        with partial.open("rb+") as raw:
            os.fsync(raw.fileno())
        partial.rename(to)
    except sqlite3.Error as exc:
        raise StoreError(f"could not export {database}: {exc}") from exc
    except OSError as exc:
        raise StoreError(f"could not write {to}: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return Moved(to, rows)


def _portable(value: object) -> object:
    return {"base64": base64.b64encode(value).decode()} if isinstance(value, bytes) else value


def _native(value: object) -> object:
    """A JSON value back as SQLite's (``{"base64": ...}`` is bytes); :class:`ValueError`
    for anything else that is not text, a number or null."""
    if isinstance(value, dict) and set(value) == {"base64"} and isinstance(value["base64"], str):
        return base64.b64decode(value["base64"], validate=True)
    if value is None or isinstance(value, str | int | float):
        return value
    raise ValueError(value)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with _open(path, "r") as source:
            for number, line in enumerate(source, start=1):
                if len(line) > MAX_LINE:
                    raise UserInputError(f"{path}, line {number}: longer than 16 MB")
                yield number, line
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
        raise UserInputError(f"cannot read {path}: {exc}") from None


def _columns(conn: sqlite3.Connection) -> dict[str, set[str]]:
    return {t: {row[1] for row in conn.execute(f"PRAGMA table_info({t})")} for t in TABLES}


def _header(number: int, line: str, schema: int, path: Path) -> dict[str, Any]:
    try:
        header = json.loads(line)
    except (ValueError, RecursionError):
        header = None
    if not isinstance(header, dict) or header.get("papersbot_export") != FORMAT:
        raise UserInputError(f"{path}, line {number}: not a papersbot export (no header)")
    if not isinstance(header.get("schema"), int) or header["schema"] > schema:
        raise UserInputError(
            f"{path} was exported from schema {header.get('schema')}; this papersbot has "
            f"schema {schema}: upgrade papersbot first"
        )
    return header


def _row(
    number: int, line: str, columns: dict[str, set[str]], path: Path
) -> tuple[str, dict[str, Any]]:
    where = f"{path}, line {number}"
    try:
        item = json.loads(line)
    except (ValueError, RecursionError):
        raise UserInputError(f"{where}: not JSON") from None
    if not isinstance(item, dict) or item.get("table") not in columns:
        raise UserInputError(f"{where}: not a row of a known table")
    row = item.get("row")
    if not isinstance(row, dict) or not row:
        raise UserInputError(f"{where}: the row is not an object")
    if unknown := set(row) - columns[item["table"]]:
        raise UserInputError(f"{where}: {item['table']} has no column {sorted(unknown)[0]!r}")
    try:
        native = {name: _native(value) for name, value in row.items()}
    except ValueError:
        raise UserInputError(f"{where}: a value is not text, a number, null or base64") from None
    return item["table"], native


def import_into(database: Path, source: Path, *, merge: bool = False) -> Moved:
    """Import *source* into *database* (migrated, not in use). Blocking: run it in a
    thread. Raises :class:`UserInputError` for a bad file (naming the line) or a store
    that is not empty, :class:`StoreError` when the store cannot be written.

    Two passes over the file: every line is checked before the first row is written, and
    memory stays flat however large the export is."""
    if not source.is_file():
        raise UserInputError(f"there is no export at {source}")
    with closing(sqlite3.connect(database, isolation_level=None)) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        _refuse_unless_empty(conn, database, merge=merge)
        schema = conn.execute("PRAGMA user_version").fetchone()[0]
        columns = _columns(conn)
        header = None
        for number, line in _lines(source):
            if header is None:
                header = _header(number, line, schema, source)
            elif line.strip():
                _row(number, line, columns, source)
        if header is None:
            raise UserInputError(f"{source} is empty")
        rows = (
            (number, *_row(number, line, columns, source))
            for number, line in _lines(source)
            if number > 1 and line.strip()
        )
        return Moved(source, _write(conn, rows, header, merge=merge, source=source))


def _refuse_unless_empty(conn: sqlite3.Connection, database: Path, *, merge: bool) -> None:
    held = [t for t in TABLES if conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()]
    if not held:
        return
    if not merge:
        raise UserInputError(
            f"{database} is not empty ({', '.join(held)}); import into a new database, "
            "or pass --merge to add to one that holds only papers"
        )
    if others := [t for t in held if t not in PAPER_TABLES]:
        raise UserInputError(
            f"{database} already has {', '.join(others)}; --merge only adds to a store "
            "that holds papers alone"
        )


def _write(
    conn: sqlite3.Connection,
    rows: Iterator[tuple[int, str, dict[str, Any]]],
    header: dict[str, Any],
    *,
    merge: bool,
    source: Path,
) -> dict[str, int]:
    verb = "INSERT OR IGNORE" if merge else "INSERT"
    counts = dict.fromkeys(TABLES, 0)
    number = 0
    try:
        conn.execute("BEGIN IMMEDIATE")
        for number, table, row in rows:  # noqa: B007 (number names the failing line)
            names = ", ".join(row)
            marks = ", ".join("?" * len(row))
            sql = f"{verb} INTO {table} ({names}) VALUES ({marks})"
            counts[table] += conn.execute(sql, list(row.values())).rowcount
        _sequences(conn, header)
        conn.execute("COMMIT")
    except sqlite3.IntegrityError as exc:
        conn.execute("ROLLBACK")
        raise UserInputError(
            f"{source}, line {number}: the store refused the row ({exc}); nothing was imported"
        ) from None
    except sqlite3.Error as exc:
        conn.execute("ROLLBACK")
        raise StoreError(f"could not import into the store: {exc}") from exc
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return counts


def _sequences(conn: sqlite3.Connection, header: dict[str, Any]) -> None:
    """Carry the ``AUTOINCREMENT`` counters over (never lower one)."""
    sequences = header.get("sequences")
    for name, seq in (sequences if isinstance(sequences, dict) else {}).items():
        if name not in TABLES or not isinstance(seq, int):
            continue
        cur = conn.execute(
            "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", (seq, name)
        )
        if cur.rowcount == 0:
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, seq))
