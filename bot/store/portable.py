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

This module holds the format and its checks, shared by both engines, and the SQLite side
(:func:`export`, :func:`import_into`); PostgreSQL's side, which writes and reads the very
same lines, is :mod:`bot.store.pg.portable`.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
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
NEVER_REUSED = ("subscriptions",)  # ids that ledger keys name: their counters travel
MAX_LINE = 16 * 1024 * 1024

Row = dict[str, Any]
Numbered = Iterator[tuple[int, str, Row]]  # (line number, table, row) of an export


@dataclass(frozen=True, slots=True)
class Moved:
    """What an export wrote or an import stored."""

    path: Path
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


# -- the format, for both engines ----------------------------------------------------


def _open(path: Path, mode: str, *, named: Path | None = None) -> IO[str]:
    """*path* as text; gzip when it (or the name it will be renamed to) ends in ``.gz``."""
    if (named or path).suffix == ".gz":
        return cast(IO[str], gzip.open(path, mode + "t", encoding="utf-8", newline="\n"))
    return path.open(mode, encoding="utf-8", newline="\n")


def new_header(schema: int, rows: Mapping[str, int], sequences: Mapping[str, int]) -> Row:
    """Line 1 of an export."""
    return {
        "papersbot_export": FORMAT,
        "schema": schema,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": dict(rows),
        "sequences": dict(sequences),
    }


def write_line(out: IO[str], item: Row) -> None:
    out.write(json.dumps(item, ensure_ascii=False) + "\n")


def write_row(out: IO[str], table: str, names: list[str], values: Any) -> None:
    """One ``{"table": ..., "row": ...}`` line; bytes as ``{"base64": ...}``."""
    row = {name: _portable(value) for name, value in zip(names, values, strict=True)}
    write_line(out, {"table": table, "row": row})


@contextmanager
def exporting(to: Path) -> Iterator[IO[str]]:
    """The export file *to*, written under a hidden partial name and renamed (after an
    fsync) only when the body finishes: a failed export leaves no file behind."""
    if to.exists():
        raise StoreError(f"{to} exists already; choose a new file for the export")
    partial = to.with_name(f".{to.name}.partial")
    try:
        with _open(partial, "w", named=to) as out:
            yield out
            out.flush()
        with partial.open("rb+") as raw:
            os.fsync(raw.fileno())
        partial.rename(to)
    except OSError as exc:
        raise StoreError(f"could not write {to}: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)


def _portable(value: object) -> object:
    return {"base64": base64.b64encode(value).decode()} if isinstance(value, bytes) else value


def _native(value: object) -> object:
    """A JSON value back as the store's (``{"base64": ...}`` is bytes); :class:`ValueError`
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


def _header(number: int, line: str, schema: int, path: Path) -> Row:
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


def _row(number: int, line: str, columns: Mapping[str, set[str]], path: Path) -> tuple[str, Row]:
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


def checked(source: Path, schema: int, columns: Mapping[str, set[str]]) -> tuple[Row, Numbered]:
    """Check every line of *source* against *columns* (table -> its importable columns)
    and a store at *schema*; return the header and a second pass over the rows.

    Two passes over the file: every line is checked before the first row is written, and
    memory stays flat however large the export is. Raises :class:`UserInputError` naming
    the line."""
    if not source.is_file():
        raise UserInputError(f"there is no export at {source}")
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
    return header, rows


def refuse_unless_empty(held: list[str], where: str, *, merge: bool) -> None:
    """Refuse a store holding the tables *held*: always without *merge*, and with it
    unless it holds papers alone."""
    if not held:
        return
    if not merge:
        raise UserInputError(
            f"{where} is not empty ({', '.join(held)}); import into a new database, "
            "or pass --merge to add to one that holds only papers"
        )
    if others := [t for t in held if t not in PAPER_TABLES]:
        raise UserInputError(
            f"{where} already has {', '.join(others)}; --merge only adds to a store "
            "that holds papers alone"
        )


def sequences_of(header: Row) -> dict[str, int]:
    """The header's id counters of the tables whose ids are never reused."""
    found = header.get("sequences")
    if not isinstance(found, dict):
        return {}
    return {t: s for t, s in found.items() if t in NEVER_REUSED and isinstance(s, int)}


def refused(source: Path, number: int, exc: BaseException) -> UserInputError:
    return UserInputError(
        f"{source}, line {number}: the store refused the row ({exc}); nothing was imported"
    )


# -- SQLite ---------------------------------------------------------------------------


def export(database: Path, to: Path) -> Moved:
    """Write *database* to *to* (which must not exist). Blocking: run it in a thread."""
    if not database.is_file():
        raise StoreError(f"there is no database at {database} to export")
    uri = f"{database.resolve().as_uri()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as conn, exporting(to) as out:
            conn.execute("BEGIN")  # one read transaction: one moment of the database
            rows = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
            schema = conn.execute("PRAGMA user_version").fetchone()[0]
            sequences = dict(conn.execute("SELECT name, seq FROM sqlite_sequence"))
            write_line(out, new_header(schema, rows, sequences))
            for table in TABLES:
                cursor = conn.execute(f"SELECT * FROM {table}")  # rowid or key order
                names = [d[0] for d in cursor.description]
                for values in cursor:
                    write_row(out, table, names, values)
    except sqlite3.Error as exc:
        raise StoreError(f"could not export {database}: {exc}") from exc
    return Moved(to, rows)


def _columns(conn: sqlite3.Connection) -> dict[str, set[str]]:
    return {t: {row[1] for row in conn.execute(f"PRAGMA table_info({t})")} for t in TABLES}


def import_into(database: Path, source: Path, *, merge: bool = False) -> Moved:
    """Import *source* into *database* (migrated, not in use). Blocking: run it in a
    thread. Raises :class:`UserInputError` for a bad file (naming the line) or a store
    that is not empty, :class:`StoreError` when the store cannot be written."""
    if not source.is_file():
        raise UserInputError(f"there is no export at {source}")
    with closing(sqlite3.connect(database, isolation_level=None)) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        held = [t for t in TABLES if conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()]
        refuse_unless_empty(held, str(database), merge=merge)
        schema = conn.execute("PRAGMA user_version").fetchone()[0]
        header, rows = checked(source, schema, _columns(conn))
        return Moved(source, _write(conn, rows, header, merge=merge, source=source))


def _write(
    conn: sqlite3.Connection, rows: Numbered, header: Row, *, merge: bool, source: Path
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
        raise refused(source, number, exc) from None
    except sqlite3.Error as exc:
        conn.execute("ROLLBACK")
        raise StoreError(f"could not import into the store: {exc}") from exc
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return counts


def _sequences(conn: sqlite3.Connection, header: Row) -> None:
    """Carry the ``AUTOINCREMENT`` counters over (never lower one)."""
    for name, seq in sequences_of(header).items():
        cur = conn.execute(
            "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", (seq, name)
        )
        if cur.rowcount == 0:
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, seq))
