"""``papersbot export`` / ``import``: a store carried to another file whole, so the bot
carries on there without re-sending anything; a bad file imports nothing."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bot.cli import main
from bot.delivery.dispatcher import Dispatcher
from bot.errors import StoreError, UserInputError
from bot.service.papersbot import PapersBot
from bot.store import Store
from bot.store.lock import DatabaseLock
from bot.store.portable import TABLES, export, import_into
from tests.fakes.clock import Clock
from tests.fakes.courier import RecordingCourier
from tests.kit import MANAGER, fresh_feed, say


def rows(path: Path, table: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def one(path: Path, sql: str) -> object:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchone()[0]


async def fresh_store(path: Path) -> Path:
    store = await Store.open(path)  # migrated, empty
    await store.close()
    return path


@pytest.fixture
async def lived_in(
    store: Store, testbot: PapersBot, clock: Clock, courier: RecordingCourier, tmp_path: Path
) -> Path:
    """The snapshot store after a day of use: a digest and DM subscriptions (one removed,
    so the id counter is ahead of the rows), both delivered once."""
    await say(testbot, "digest on at 16:00 tz UTC daily")
    for query in ("diffusion", "language model", "robot"):
        await say(testbot, f"subscribe {query} at 16:00 tz UTC daily")
    await say(testbot, "unsubscribe 3")
    clock.advance(hours=1, minutes=1)
    await fresh_feed(store, clock())
    report = await Dispatcher(store, clock, {"slack": courier}).tick()
    assert report.sent >= 1
    assert courier.posts
    path = tmp_path / "papers.db"
    with closing(sqlite3.connect(path)) as conn:  # a workspace install: sealed bytes
        conn.execute(
            "INSERT INTO installations (platform, kind, team_id, installed_at, payload) "
            "VALUES ('slack', 'bot', 'T1', '2026-08-19T15:00:00+00:00', ?)",
            (bytes(range(256)),),
        )
        conn.commit()
    return path


@pytest.mark.parametrize("name", ["carry.jsonl", "carry.jsonl.gz"])
async def test_an_imported_store_has_every_row_and_sends_nothing_again(
    lived_in: Path, store: Store, clock: Clock, tmp_path: Path, name: str
) -> None:
    await store.close()  # (the fixture's store closes again at teardown: harmless)
    moved = export(lived_in, tmp_path / name)
    assert moved.rows["deliveries"] >= 2
    assert moved.rows["sent_papers"] >= 1
    copy = await fresh_store(tmp_path / "copy.db")
    imported = import_into(copy, tmp_path / name)
    assert imported.rows == moved.rows
    for table in TABLES:
        assert rows(copy, table) == rows(lived_in, table), table
    assert rows(copy, "paper_rank") == rows(lived_in, "paper_rank")  # rebuilt by triggers
    seq = "SELECT seq FROM sqlite_sequence WHERE name = 'subscriptions'"
    assert one(copy, seq) == one(lived_in, seq) == 3
    again = await Store.open(copy)
    try:
        found = await PapersBot(store=again, clock=clock).respond("search diffusion", MANAGER)
        assert found.cards  # the full-text index was rebuilt too
        courier = RecordingCourier(clock)
        report = await Dispatcher(again, clock, {"slack": courier}).tick()
        assert (report.sent, courier.posts) == (0, [])  # carried on: nothing sent twice
    finally:
        await again.close()


async def test_a_bad_line_is_named_and_nothing_is_imported(lived_in: Path, tmp_path: Path) -> None:
    good = export(lived_in, tmp_path / "good.jsonl")
    lines = good.path.read_text().splitlines()
    cases = {
        "not JSON": "{oops",
        "not a row of a known table": json.dumps({"table": "sqlite_master", "row": {"a": 1}}),
        "has no column 'evil'": json.dumps({"table": "papers", "row": {"evil": 1}}),
        "not text, a number, null or base64": json.dumps({"table": "papers", "row": {"id": [1]}}),
        "the store refused the row": json.dumps(  # a ledger row for a target that is not there
            {"table": "deliveries", "row": {"target_id": 999, "digest_key": "x", "due_at": "t"}}
        ),
    }
    for expected, bad in cases.items():
        broken = tmp_path / "broken.jsonl"
        broken.write_text("\n".join([*lines[:-1], bad, lines[-1]]) + "\n")
        copy = await fresh_store(tmp_path / f"copy-{len(expected)}.db")
        with pytest.raises(UserInputError, match=f"line {len(lines)}: .*{expected}"):
            import_into(copy, broken)
        assert all(rows(copy, table) == [] for table in TABLES), expected


async def test_only_an_empty_store_or_a_papers_only_merge_is_accepted(
    lived_in: Path, snapshot_db: Path, tmp_path: Path
) -> None:
    moved = export(lived_in, tmp_path / "carry.jsonl")
    with pytest.raises(UserInputError, match="is not empty"):
        import_into(lived_in, moved.path)
    with pytest.raises(UserInputError, match="already has targets"):
        import_into(lived_in, moved.path, merge=True)
    papers_only = tmp_path / "papers-only.db"
    shutil.copy(snapshot_db, papers_only)
    before = one(papers_only, "SELECT COUNT(*) FROM papers")
    merged = import_into(papers_only, moved.path, merge=True)
    assert merged.rows["papers"] == 0  # every paper was there already: kept
    assert merged.rows["targets"] == moved.rows["targets"]
    assert one(papers_only, "SELECT COUNT(*) FROM papers") == before
    assert rows(papers_only, "deliveries") == rows(lived_in, "deliveries")


async def test_what_is_not_an_export_is_refused(lived_in: Path, tmp_path: Path) -> None:
    copy = await fresh_store(tmp_path / "copy.db")
    newer = tmp_path / "newer.jsonl"
    newer.write_text(json.dumps({"papersbot_export": 1, "schema": 999, "rows": {}}) + "\n")
    with pytest.raises(UserInputError, match="schema 999; this papersbot has schema"):
        import_into(copy, newer)
    plain = tmp_path / "plain.jsonl"
    plain.write_text('{"hello": 1}\n')
    with pytest.raises(UserInputError, match="line 1: not a papersbot export"):
        import_into(copy, plain)
    whole = gzip.compress(export(lived_in, tmp_path / "whole.jsonl").path.read_bytes())
    truncated = tmp_path / "cut.jsonl.gz"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UserInputError, match=r"cannot read .*cut\.jsonl\.gz"):
        import_into(copy, truncated)
    assert all(rows(copy, table) == [] for table in TABLES)
    with pytest.raises(StoreError, match="exists already"):
        export(lived_in, newer)


def test_the_commands(
    lived_in: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPERSBOT_DATABASE", str(lived_in))
    assert main(["export", str(tmp_path / "carry.jsonl.gz")]) == 0
    assert "deliveries" in capsys.readouterr().out
    target = tmp_path / "new.db"
    monkeypatch.setenv("PAPERSBOT_DATABASE", str(target))
    with DatabaseLock(str(target)):  # a `run` on it: refused, nothing written
        assert main(["import", str(tmp_path / "carry.jsonl.gz")]) == 1
        assert "in use" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "carry.jsonl.gz")]) == 0
    assert "Imported" in capsys.readouterr().out
    assert rows(target, "sent_papers") == rows(lived_in, "sent_papers")
    assert main(["import", str(tmp_path / "carry.jsonl.gz")]) == 2
    assert "is not empty" in capsys.readouterr().err
