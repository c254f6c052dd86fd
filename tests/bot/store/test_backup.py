"""``papersbot backup``: a consistent, checked copy, taken while another connection writes."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from bot.cli import main
from bot.errors import StoreError
from bot.store.backup import backup


def count(path: Path, sql: str) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_a_backup_taken_while_a_writer_commits_is_whole_and_checked(
    snapshot_db: Path, tmp_path: Path
) -> None:
    live = tmp_path / "live.db"
    shutil.copy(snapshot_db, live)
    papers = count(live, "SELECT COUNT(*) FROM papers")
    stop = threading.Event()

    def write() -> None:  # what `papersbot run` does meanwhile: commits, over and over
        with closing(sqlite3.connect(live, timeout=5)) as conn:
            n = 0
            while not stop.is_set():
                conn.execute(
                    "INSERT INTO ingest_runs (source, started_at, finished_at, ok, papers) "
                    "VALUES ('hf', ?, ?, 1, 0)",
                    (f"2026-08-19T00:00:{n % 60:02d}+00:00",) * 2,
                )
                conn.commit()
                n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        summary = backup(live, tmp_path / "copy.db")
    finally:
        stop.set()
        writer.join()
    assert summary.path == tmp_path / "copy.db"
    assert summary.size > 0
    assert count(summary.path, "SELECT COUNT(*) FROM papers") == papers
    with closing(sqlite3.connect(summary.path)) as copy:
        assert copy.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_backup_never_overwrites_and_needs_a_database(tmp_path: Path) -> None:
    existing = tmp_path / "there.db"
    existing.write_bytes(b"keep me")
    with pytest.raises(StoreError, match="there is no database"):
        backup(tmp_path / "missing.db", tmp_path / "new.db")
    (tmp_path / "live.db").write_bytes(b"")
    with pytest.raises(StoreError, match="exists already"):
        backup(tmp_path / "live.db", existing)
    assert existing.read_bytes() == b"keep me"


def test_the_command_backs_up_the_configured_database(
    snapshot_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    live = tmp_path / "live.db"
    shutil.copy(snapshot_db, live)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPERSBOT_DATABASE", str(live))
    assert main(["backup", str(tmp_path / "b.db")]) == 0
    assert "checked" in capsys.readouterr().out
    assert main(["backup", str(tmp_path / "b.db")]) == 1
    assert "exists already" in capsys.readouterr().err
