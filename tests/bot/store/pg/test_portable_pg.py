"""Moving a deployment between engines: SQLite -> export -> PostgreSQL -> export -> SQLite
row for row, with the ledger intact (nothing would be sent twice), a subscription id never
reused, the PostgreSQL-only index filled, and a bad file importing nothing."""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.cli import main
from bot.errors import StoreError, UserInputError
from bot.store import Store
from bot.store.pg import portable as pg_portable
from bot.store.portable import TABLES, export, import_into
from tests.bot.store.test_portable import lived_in, one, rows  # noqa: F401 (a fixture)
from tests.pg import PostgresServer

LEDGER = (
    "SELECT target_id, digest_key, due_at, state, attempts, sent_at, message_id FROM deliveries"
)


@pytest.fixture
async def moving(lived_in: Path, store: Store) -> Path:  # noqa: F811
    """The lived-in store, closed, with ledger rows in every other state too."""
    await store.close()
    with closing(sqlite3.connect(lived_in)) as conn:
        for day, (state, attempts) in enumerate((("failed", 3), ("pending", 0), ("missed", 0))):
            conn.execute(
                "INSERT INTO deliveries (target_id, digest_key, due_at, state, attempts, "
                "last_error) SELECT min(id), ?, '2026-08-18T16:00:00+00:00', ?, ?, ? "
                "FROM targets",
                (f"sub:1:2026-08-{10 + day}", state, attempts, f"{state} for a test"),
            )
        conn.commit()
    return lived_in


@pytest.fixture
async def pg(pg_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(pg_dsn)
    try:
        yield conn
    finally:
        await conn.close()


def lines_of(path: Path) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """An export's header and, per table, its rows as sorted canonical JSON."""
    raw = path.read_bytes()
    text = gzip.decompress(raw).decode() if path.suffix == ".gz" else raw.decode()
    header, *body = text.splitlines()
    tables: dict[str, list[str]] = {table: [] for table in TABLES}
    for line in body:
        item = json.loads(line)
        tables[item["table"]].append(json.dumps(item["row"], sort_keys=True))
    return json.loads(header), {table: sorted(found) for table, found in tables.items()}


async def fresh_sqlite(path: Path) -> Path:
    store = await Store.open(path)
    await store.close()
    return path


async def test_sqlite_to_postgresql_and_back_row_for_row(
    moving: Path, pg_dsn: str, pg: asyncpg.Connection, tmp_path: Path
) -> None:
    first = export(moving, tmp_path / "from-sqlite.jsonl.gz")
    imported = await pg_portable.import_into(pg_dsn, first.path)
    assert imported.rows == first.rows
    assert first.rows["papers"] > 0
    assert first.rows["installations"] == 1
    second = await pg_portable.export(pg_dsn, tmp_path / "from-pg.jsonl")
    assert second.rows == first.rows
    sqlite_header, sqlite_rows = lines_of(tmp_path / "from-sqlite.jsonl.gz")
    pg_header, pg_rows = lines_of(second.path)
    assert pg_rows == sqlite_rows  # installations' bytes included, as base64
    assert pg_header["schema"] == sqlite_header["schema"]
    assert pg_header["sequences"] == sqlite_header["sequences"] == {"subscriptions": 3}
    back = await fresh_sqlite(tmp_path / "back.db")
    import_into(back, second.path)
    for table in TABLES:
        assert rows(back, table) == rows(moving, table), table
    assert rows(back, "paper_rank") == rows(moving, "paper_rank")
    seq = "SELECT seq FROM sqlite_sequence WHERE name = 'subscriptions'"
    assert one(back, seq) == one(moving, seq) == 3


async def test_postgresql_fills_its_own_columns_on_import(
    moving: Path, pg_dsn: str, pg: asyncpg.Connection, tmp_path: Path
) -> None:
    await pg_portable.import_into(pg_dsn, export(moving, tmp_path / "carry.jsonl").path)
    with closing(sqlite3.connect(moving)) as conn:
        featured = dict(conn.execute("SELECT rowid, featured FROM paper_rank"))
    found = await pg.fetch("SELECT rowid, featured, length(fts) AS n, fts_lengths FROM papers")
    assert {r["rowid"]: r["featured"] for r in found} == featured
    assert all(r["n"] > 0 and r["fts_lengths"][0] > 0 for r in found)  # every title indexed
    totals = await pg.fetchrow("SELECT papers, lengths FROM fts_totals")
    assert totals["papers"] == len(found)
    assert list(totals["lengths"]) == [sum(r["fts_lengths"][i] for r in found) for i in range(5)]
    diffusion = await pg.fetchval("SELECT docs FROM fts_terms WHERE term = 'diffusion'")
    matching = await pg.fetchval("SELECT count(*) FROM papers WHERE fts @@ 'diffusion'::tsquery")
    assert diffusion == matching > 0


async def test_the_ledger_survives_the_move_and_no_subscription_id_is_reused(
    moving: Path, pg_dsn: str, pg: asyncpg.Connection, tmp_path: Path
) -> None:
    await pg_portable.import_into(pg_dsn, export(moving, tmp_path / "carry.jsonl").path)
    with closing(sqlite3.connect(moving)) as conn:
        ledger = sorted(conn.execute(LEDGER).fetchall())
        sent = sorted(conn.execute("SELECT target_id, paper_id, delivery_id FROM sent_papers"))
    assert {row[3] for row in ledger} == {"sent", "failed", "pending", "missed"}
    assert sorted(tuple(r) for r in await pg.fetch(LEDGER)) == ledger
    moved = await pg.fetch("SELECT target_id, paper_id, delivery_id FROM sent_papers")
    assert sent
    assert sorted(tuple(r) for r in moved) == sent
    target = await pg.fetchval("SELECT min(id) FROM targets")
    new = await pg.fetchval(  # the next subscription: past the removed id 3
        "INSERT INTO subscriptions (target_id, query, at, tz, cadence, created_at, next_fire) "
        "VALUES ($1, 'q', '16:00', 'UTC', 'daily', 't', 't') RETURNING id",
        target,
    )
    assert new == 4
    for table in ("targets", "deliveries", "installations", "ingest_runs"):
        top = await pg.fetchval(f"SELECT max(id) FROM {table}")
        nxt = await pg.fetchval("SELECT nextval(pg_get_serial_sequence($1, 'id'))", table)
        assert nxt == top + 1, table


async def test_a_second_import_is_refused_unless_a_papers_only_merge(
    moving: Path, pg_dsn: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    carry = export(moving, tmp_path / "carry.jsonl")
    await pg_portable.import_into(pg_dsn, carry.path)
    with pytest.raises(UserInputError, match="is not empty"):
        await pg_portable.import_into(pg_dsn, carry.path)
    with pytest.raises(UserInputError, match="already has targets"):
        await pg_portable.import_into(pg_dsn, carry.path, merge=True)
    papers_only = tmp_path / "papers-only.jsonl"
    kept = [
        line
        for number, line in enumerate(carry.path.read_text().splitlines())
        if number == 0 or json.loads(line)["table"] in ("papers", "paper_stats")
    ]
    papers_only.write_text("\n".join(kept) + "\n")
    other = postgres_server.create_database()
    try:
        await pg_portable.import_into(other, papers_only)
        with pytest.raises(UserInputError, match="is not empty"):
            await pg_portable.import_into(other, carry.path)
        merged = await pg_portable.import_into(other, carry.path, merge=True)
        assert merged.rows["papers"] == 0  # every paper was there already: kept
        assert merged.rows["targets"] == carry.rows["targets"]
        conn = await asyncpg.connect(other)
        try:  # the kept papers were indexed once, not twice
            assert await conn.fetchval("SELECT papers FROM fts_totals") == carry.rows["papers"]
            assert (
                await conn.fetchval("SELECT count(*) FROM deliveries") == carry.rows["deliveries"]
            )
        finally:
            await conn.close()
    finally:
        postgres_server.drop_database(other)


async def test_a_bad_line_is_named_and_nothing_is_imported(
    moving: Path, pg_dsn: str, pg: asyncpg.Connection, tmp_path: Path
) -> None:
    lines = export(moving, tmp_path / "good.jsonl").path.read_text().splitlines()
    at_end = {
        "not JSON": "{oops",
        "not a row of a known table": json.dumps({"table": "pg_class", "row": {"a": 1}}),
        "has no column 'featured'": json.dumps({"table": "papers", "row": {"featured": 1}}),
        "not text, a number, null or base64": json.dumps({"table": "papers", "row": {"id": [1]}}),
        "the store refused the row": json.dumps(  # a ledger row for a target that is not there
            {"table": "deliveries", "row": {"target_id": 999, "digest_key": "x", "due_at": "t"}}
        ),
        "the store refused the row .*yesterday": json.dumps(  # no instant to rank it by
            {
                "table": "papers",
                "row": {
                    "rowid": 7,
                    "id": "x",
                    "title": "t",
                    "source": "hf",
                    "first_seen": "yesterday",
                    "updated_at": "t",
                },
            }
        ),
        "the store refused the row .*expected str": json.dumps(
            {"table": "installations", "row": {"platform": 1, "kind": "bot", "payload": None}}
        ),
    }
    cases = [
        (expected, [*lines[:-1], bad, lines[-1]], len(lines)) for expected, bad in at_end.items()
    ]
    # A paper twice, deep inside a batch of papers: the replay names the second one.
    cases.append(
        ("the store refused the row .*duplicate key", [*lines[:4], lines[2], *lines[4:]], 5)
    )
    for expected, broken_lines, number in cases:
        broken = tmp_path / "broken.jsonl"
        broken.write_text("\n".join(broken_lines) + "\n")
        with pytest.raises(UserInputError, match=f"line {number}: .*{expected}"):
            await pg_portable.import_into(pg_dsn, broken)
        for table in ("fts_terms", *TABLES):
            assert await pg.fetchval(f"SELECT count(*) FROM {table}") == 0, (expected, table)
        assert await pg.fetchval("SELECT papers FROM fts_totals") == 0


async def test_export_refuses_an_existing_file_and_an_unreachable_server(
    pg_dsn: str, tmp_path: Path
) -> None:
    there = tmp_path / "there.jsonl"
    there.write_text("")
    with pytest.raises(StoreError, match="exists already"):
        await pg_portable.export(pg_dsn, there)
    with pytest.raises(StoreError, match="holds no papersbot store"):
        await pg_portable.export(pg_dsn, tmp_path / "nothing.jsonl")
    assert not (tmp_path / "nothing.jsonl").exists()
    with pytest.raises(StoreError, match="cannot connect") as caught:
        await pg_portable.export(
            "postgresql://bot:hunter2@127.0.0.1:1/x?connect_timeout=2", tmp_path / "x"
        )
    assert "hunter2" not in str(caught.value)


def test_the_commands_on_postgresql(
    moving: Path,
    pg_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPERSBOT_DATABASE", str(moving))
    assert main(["export", str(tmp_path / "carry.jsonl.gz")]) == 0
    capsys.readouterr()
    monkeypatch.setenv("PAPERSBOT_DATABASE", pg_dsn)
    assert main(["import", str(tmp_path / "carry.jsonl.gz")]) == 0
    assert "Imported" in capsys.readouterr().out
    assert main(["import", str(tmp_path / "carry.jsonl.gz")]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "again.jsonl")]) == 0
    assert "deliveries" in capsys.readouterr().out
    assert lines_of(tmp_path / "again.jsonl")[1] == lines_of(tmp_path / "carry.jsonl.gz")[1]
    assert main(["backup", str(tmp_path / "copy.db")]) == 2
    assert "pg_dump" in capsys.readouterr().err
    assert not (tmp_path / "copy.db").exists()
