"""Faults a real ``papersbot`` process meets: a full disk while ``run`` is serving, and a
SIGKILL in the middle of a schema migration.

The disk is "full" through ``RLIMIT_FSIZE`` set on the running process from outside
(``prlimit``): every write that would grow a file fails with ``EFBIG`` (CPython ignores
``SIGXFSZ``), which SQLite reports as a disk I/O error, just as on a full disk.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from bot.store.migrations import MIGRATIONS
from tests.fakes.discord import CHANNEL_ID, USER_ID, FakeDiscord
from tests.test_run_process import SCRIPT, _env, _poll, _seed_discord_schedules, _start, _wal_size


class _Lines:
    """Collects a child's stderr lines as they come, so a test can wait for one."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self._task = asyncio.get_running_loop().create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode(errors="replace"))

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    async def close(self) -> None:
        await asyncio.wait_for(self._task, 20)


async def test_a_full_disk_while_run_serves_delays_posts_and_loses_or_repeats_none(
    tmp_path: Path, snapshot_db: Path
) -> None:
    """The digest and the DM fall due while no file can grow: the bot says why in its log,
    keeps running, and posts each exactly once as soon as there is room again."""
    fake = FakeDiscord()
    await fake.start()
    env = _env(tmp_path, snapshot_db, fake, "disk-token")
    db = tmp_path / "full.db"
    env["PAPERSBOT_DATABASE"] = str(db)
    await _seed_discord_schedules(db, datetime.now(UTC))
    # A reader holds the WAL index open, so the bot needs to write nothing to open the store.
    with closing(sqlite3.connect(db)) as reader:
        reader.execute("SELECT COUNT(*) FROM deliveries").fetchone()
        proc = await _start(tmp_path, env)
        assert proc.stderr is not None
        unlimited = resource.prlimit(proc.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (1, unlimited[1]))
        log = _Lines(proc.stderr)
        try:
            await _poll(lambda: log.count("is the disk full") > 0, 30)
            await asyncio.sleep(3)  # a while with a full disk: nothing posted, no flood
            assert not fake.messages.get(CHANNEL_ID)
            assert proc.returncode is None, "".join(log.lines)
            failures = log.count("catch-up failed") + log.count("delivery tick failed")
            assert 1 <= failures <= 3, "".join(log.lines)  # backing off, not ringing at once
            resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, unlimited)
            await _poll(lambda: bool(fake.messages.get(CHANNEL_ID)), 90)
            dm = int(fake.dm_channel(USER_ID)["id"])
            await _poll(lambda: bool(fake.messages.get(dm)), 30)
            await asyncio.sleep(2)
            assert len(fake.messages[CHANNEL_ID]) == 1
            assert len(fake.messages[dm]) == 1
            assert "Traceback" not in "".join(log.lines)
        finally:
            if proc.returncode is None:
                proc.terminate()
                await asyncio.wait_for(proc.wait(), 20)
            await log.close()
            await fake.close()
    assert proc.returncode == 0, "".join(log.lines)
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        states = conn.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall()
    assert states == [("sent", 2)]


def _schema(conn: sqlite3.Connection) -> set[tuple[str, str, str | None]]:
    rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    return set(rows.fetchall())


def _reference_schemas() -> dict[int, set[tuple[str, str, str | None]]]:
    """What the schema is after each migration, applied to an empty database."""
    schemas = {}
    with closing(sqlite3.connect(":memory:")) as conn:
        for number, script in enumerate(MIGRATIONS, start=1):
            conn.executescript(script)
            schemas[number] = _schema(conn)
    return schemas


def _old_database(path: Path, version: int, claimed: int) -> None:
    """A database left at schema *version* by an older release, with enough ledger rows
    (claimed, as after a crash) that the later migrations take a while and spill to the WAL."""
    with closing(sqlite3.connect(path)) as conn:
        for number, script in enumerate(MIGRATIONS[:version], start=1):
            conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        conn.execute(
            "INSERT INTO targets (platform, workspace, kind, address) "
            "VALUES ('slack', 'T1', 'channel', 'C1')"
        )
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO deliveries (target_id, digest_key, due_at, state, claimed_at) "
            "SELECT 1, 'digest:' || i, '2026-01-01T09:00:00+00:00', 'claimed', "
            "'2026-01-01T09:00:01+00:00' FROM n",
            (claimed,),
        )
        conn.commit()


async def _search(cwd: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    """``papersbot search diffusion``: a one-shot command, so it opens (and migrates) the
    store first."""
    assert SCRIPT is not None
    return await asyncio.create_subprocess_exec(
        SCRIPT,
        "search",
        "diffusion",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_a_sigkill_during_a_migration_leaves_an_old_or_new_schema_never_a_mix(
    tmp_path: Path,
) -> None:
    """Killed while migrations 3 to 5 rewrite a large ledger: every migration is one
    transaction, so the file is whole and exactly at some released schema; the next start
    finishes the upgrade and keeps every row."""
    assert SCRIPT is not None
    schemas = _reference_schemas()
    rows, start = 100_000, 2
    pristine = tmp_path / "old.db"
    _old_database(pristine, start, rows)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    seen: list[tuple[int, int]] = []  # (WAL bytes when killed, schema version left)
    for threshold in (1, 500_000, 2_000_000, 6_000_000, 20_000_000):
        db = tmp_path / f"killed-{threshold}.db"
        shutil.copy(pristine, db)
        env.update(PAPERSBOT_DATABASE=str(db))
        proc = await _search(tmp_path, env)
        async with asyncio.timeout(60):
            while proc.returncode is None and _wal_size(db) < threshold:  # noqa: ASYNC110
                await asyncio.sleep(0.002)
        wal = _wal_size(db)
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        with closing(sqlite3.connect(db)) as conn:
            assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            assert _schema(conn) == schemas[version], f"a half-applied migration {version + 1}"
            assert conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == rows
        seen.append((wal, version))
        again = await _search(tmp_path, env)
        _, err = await asyncio.wait_for(again.communicate(), 120)
        assert again.returncode == 0, err.decode()
        with closing(sqlite3.connect(db)) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
            assert _schema(conn) == schemas[len(MIGRATIONS)]
            leased = "SELECT COUNT(*) FROM deliveries WHERE lease_until = claimed_at"
            assert conn.execute(leased).fetchone()[0] == rows
    # At least one kill landed inside a migration's transaction: frames in the WAL, yet the
    # version left was an old one (a run here left versions 2, 2, 2, 4 and 5).
    assert any(wal > 0 and version < len(MIGRATIONS) for wal, version in seen), seen
