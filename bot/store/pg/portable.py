"""``papersbot export`` / ``import`` on PostgreSQL: the same JSON lines as SQLite's
(:mod:`bot.store.portable`, which owns the format and its checks), so a deployment moves
SQLite -> file -> PostgreSQL -> file -> SQLite row for row.

Export reads in one ``REPEATABLE READ`` read-only transaction (one moment of the database,
while ``papersbot run`` processes write) and leaves the PostgreSQL-only columns behind
(``papers.featured``, ``fts``, ``fts_lengths``; the ``fts_*`` tables): they are derived.

Import, after the schema is migrated (:meth:`PgStore.open`), checks the whole file first,
then writes in one transaction under an advisory lock (two imports never interleave):
rows go in batches (``unnest`` of typed arrays), each batch under a savepoint so that a
refused batch is replayed row by row to name the line at fault; then every ``BIGSERIAL``
counter is moved past the imported ids and the header's counters (a subscription id is
never reused: ledger keys name it), and the imported papers are indexed
(:func:`index_papers`). A failure anywhere rolls everything back: nothing half-imported.

The check of the file runs in a thread; the rows themselves are read and written on the
event loop, batch by batch: these are one-shot commands, with nothing else on the loop.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from bot.errors import StoreError, UserInputError
from bot.store.pg.db import CONNECT_TIMEOUT, PgStore, redact
from bot.store.pg.papers import TERMS, TOTALS, featured_at
from bot.store.pg.section import DB_ERRORS, Conn
from bot.store.pg.tsv import document
from bot.store.portable import (
    NEVER_REUSED,
    TABLES,
    Moved,
    Numbered,
    Row,
    checked,
    exporting,
    new_header,
    refuse_unless_empty,
    refused,
    sequences_of,
    write_line,
    write_row,
)
from bot.store.records import FIELDS

PG_ONLY = {"papers": {"featured", "fts", "fts_lengths"}}  # derived: rebuilt on import
# Key order, so an export of the same rows is the same file whatever the physical order.
ORDER = {
    "papers": "rowid",
    "paper_stats": "paper_rowid, seen_at",
    "channel_digests": "target_id",
    "sent_papers": "target_id, paper_id",
}
BATCH = 1000  # rows per INSERT ... SELECT FROM unnest
IMPORT_LOCK = 0x696D706F  # pg_advisory_xact_lock key while importing ("impo")
# What a row the store cannot take raises: a constraint, a value of the wrong type
# (asyncpg.DataError is a ValueError), or an instant no ranking can read.
_REFUSALS = (asyncpg.PostgresError, ValueError)

Columns = dict[str, dict[str, str]]  # table -> column -> element type (udt name)


async def _columns(conn: asyncpg.Connection | Conn) -> Columns:
    """The portable columns of every exported table, in table order, with their types."""
    found: Columns = {table: {} for table in TABLES}
    rows = await conn.fetch(
        "SELECT table_name, column_name, udt_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ANY($1::text[]) "
        "ORDER BY ordinal_position",
        list(TABLES),
    )
    for row in rows:
        table, column = row["table_name"], row["column_name"]
        if column not in PG_ONLY.get(table, ()):
            found[table][column] = row["udt_name"]
    return found


async def _schema(conn: asyncpg.Connection | Conn) -> int:
    return int(await conn.fetchval("SELECT max(version) FROM papersbot_schema") or 0)


async def _serial(conn: asyncpg.Connection | Conn, table: str) -> str | None:
    """The sequence behind *table*'s ``id``, if it has one."""
    columns = await conn.fetchval(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = $1 AND column_name = 'id'",
        table,
    )
    if not columns:
        return None
    name: str | None = await conn.fetchval("SELECT pg_get_serial_sequence($1, 'id')", table)
    return name


async def _connect(dsn: str) -> asyncpg.Connection:
    """One connection of its own (a command holds it from start to end)."""
    try:
        return await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
    except (*DB_ERRORS, ValueError) as exc:  # ValueError: a malformed DSN
        raise StoreError(f"cannot connect to {redact(dsn)}: {exc}") from exc


# -- export ---------------------------------------------------------------------------


async def export(dsn: str, to: Path) -> Moved:
    """Write the database at *dsn* to *to* (which must not exist)."""
    if await asyncio.to_thread(to.exists):
        raise StoreError(f"{to} exists already; choose a new file for the export")
    conn = await _connect(dsn)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            return await _export(conn, to)
    except DB_ERRORS as exc:
        raise StoreError(f"could not export {redact(dsn)}: {exc}") from exc
    finally:
        await conn.close()


async def _export(conn: asyncpg.Connection, to: Path) -> Moved:
    if await conn.fetchval("SELECT to_regclass('papersbot_schema')") is None:
        raise StoreError("the database holds no papersbot store to export")
    columns = await _columns(conn)
    rows = {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLES}
    sequences: dict[str, int] = {}
    for table in NEVER_REUSED:  # as SQLite's header: the AUTOINCREMENT counters
        seq = await _serial(conn, table)
        last = (
            await conn.fetchval("SELECT pg_sequence_last_value($1::regclass)", seq) if seq else None
        )
        if last is not None:
            sequences[table] = int(last)
    with exporting(to) as out:
        write_line(out, new_header(await _schema(conn), rows, sequences))
        for table in TABLES:
            names = list(columns[table])
            sql = f"SELECT {', '.join(names)} FROM {table} ORDER BY {ORDER.get(table, 'id')}"
            async for record in conn.cursor(sql, prefetch=BATCH):
                write_row(out, table, names, record.values())
    return Moved(to, rows)


# -- import ---------------------------------------------------------------------------


async def import_into(dsn: str, source: Path, *, merge: bool = False) -> Moved:
    """Import *source* into the database at *dsn*: migrated first, then checked line by
    line, then written in one transaction. Raises :class:`~bot.errors.UserInputError` for
    a bad file (naming the line) or a store that is not empty, :class:`StoreError` when
    the database cannot be written."""
    if not await asyncio.to_thread(source.is_file):
        raise UserInputError(f"there is no export at {source}")
    store = await PgStore.open(dsn)  # this release's schema
    await store.close()
    conn = await _connect(dsn)
    try:
        refuse_unless_empty(await _held(conn), redact(dsn), merge=merge)  # before reading
        columns = await _columns(conn)
        names = {table: set(found) for table, found in columns.items()}
        schema = await _schema(conn)
        header, rows = await asyncio.to_thread(checked, source, schema, names)  # pass 1
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", IMPORT_LOCK)
            refuse_unless_empty(await _held(conn), redact(dsn), merge=merge)  # and for sure
            counts = await _write(conn, rows, columns, merge=merge, source=source)
            await _sequences(conn, header)
        return Moved(source, counts)
    except DB_ERRORS as exc:
        raise StoreError(f"could not import into {redact(dsn)}: {exc}") from exc
    finally:
        await conn.close()


async def _held(conn: asyncpg.Connection) -> list[str]:
    """The exported tables that already hold a row."""
    return [t for t in TABLES if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {t})")]


async def _write(
    conn: asyncpg.Connection, rows: Numbered, columns: Columns, *, merge: bool, source: Path
) -> dict[str, int]:
    """Every row, in batches of one table and one column set; the papers indexed."""
    counts = dict.fromkeys(TABLES, 0)
    batch: list[tuple[int, Row]] = []
    shape: tuple[str, tuple[str, ...]] | None = None
    for number, table, row in rows:
        if shape != (table, tuple(row)) or len(batch) >= BATCH:
            if shape is not None:
                counts[shape[0]] += await _flush(conn, shape, batch, columns, merge, source)
            shape, batch = (table, tuple(row)), []
        batch.append((number, row))
    if shape is not None:
        counts[shape[0]] += await _flush(conn, shape, batch, columns, merge, source)
    return counts


async def _flush(
    conn: asyncpg.Connection,
    shape: tuple[str, tuple[str, ...]],
    batch: list[tuple[int, Row]],
    columns: Columns,
    merge: bool,
    source: Path,
) -> int:
    """Insert *batch* under a savepoint; a refused batch is replayed row by row to name its
    line. The number of rows stored (a merge keeps rows already there)."""
    table, names = shape
    types = [columns[table][name] for name in names]
    arrays = ", ".join(f"${i}::{kind}[]" for i, kind in enumerate(types, start=1))
    returning = "rowid" if table == "papers" else "1"
    sql = (
        f"INSERT INTO {table} ({', '.join(names)}) SELECT * FROM unnest({arrays}) "
        f"{'ON CONFLICT DO NOTHING ' if merge else ''}RETURNING {returning}"
    )
    try:
        return await _insert(conn, sql, table, [row for _, row in batch], names)
    except _REFUSALS as exc:
        first = exc
    for number, row in batch:  # find the line: each row alone, under its own savepoint
        try:
            await _insert(conn, sql, table, [row], names)
        except _REFUSALS as exc:
            raise refused(source, number, exc) from None
    raise refused(source, batch[0][0], first) from None


async def _insert(
    conn: asyncpg.Connection, sql: str, table: str, rows: list[Row], names: Sequence[str]
) -> int:
    async with conn.transaction():  # a savepoint inside the import's transaction
        stored = await conn.fetch(sql, *([row[name] for row in rows] for name in names))
        if table == "papers":
            await index_papers(conn, [record["rowid"] for record in stored])
    return len(stored)


async def _sequences(conn: asyncpg.Connection, header: Row) -> None:
    """Move every ``BIGSERIAL`` counter past the imported ids and the header's counters;
    never lower one."""
    carried = sequences_of(header)
    for table in TABLES:
        seq = await _serial(conn, table)
        if seq is None:
            continue
        values = [
            await conn.fetchval(f"SELECT max(id) FROM {table}"),
            await conn.fetchval("SELECT pg_sequence_last_value($1::regclass)", seq),
            carried.get(table),
        ]
        if present := [int(v) for v in values if v is not None]:
            await conn.execute("SELECT setval($1::regclass, $2)", seq, max(present))


# -- the PostgreSQL-only columns of papers ----------------------------------------------
# Imported rows carry no index; they get it from the same builder an upsert uses.

_INDEX = """
UPDATE papers AS p
SET fts = v.fts::tsvector, fts_lengths = v.lengths::int[], featured = v.featured
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[]) AS v(rowid, fts, lengths, featured)
WHERE p.rowid = v.rowid
"""


async def index_papers(conn: asyncpg.Connection | Conn, rowids: Sequence[int]) -> None:
    """Fill ``featured``, ``fts`` and ``fts_lengths`` of the papers *rowids* (just
    inserted, not yet indexed) and add them to ``fts_terms`` and ``fts_totals``, with the
    store's own index builder (:func:`bot.store.pg.tsv.document`, as an upsert writes it)."""
    if not rowids:
        return
    found = await conn.fetch(
        f"SELECT rowid, {', '.join(FIELDS)}, daily_day, published, first_seen "
        "FROM papers WHERE rowid = ANY($1::bigint[])",
        list(rowids),
    )
    docs = [document([row[field] or "" for field in FIELDS]) for row in found]
    await conn.execute(
        _INDEX,
        [row["rowid"] for row in found],
        [doc.vector for doc in docs],
        ["{" + ",".join(map(str, doc.lengths)) + "}" for doc in docs],
        [featured_at(r["daily_day"], r["published"], r["first_seen"]) for r in found],
    )
    counts = Counter(lexeme for doc in docs for lexeme in doc.lexemes)
    terms = sorted(counts)
    await conn.execute(TERMS, terms, [counts[t] for t in terms])
    sums = [sum(doc.lengths[i] for doc in docs) for i in range(len(FIELDS))]
    await conn.execute(TOTALS, len(found), sums)
