"""A damaged database is noticed at start-up, named, and never written to."""

from __future__ import annotations

import hashlib
import random
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.store import Store
from bot.store.db import DatabaseDamaged

PAGE = 4096


def damage(path: Path, pages: int = 20, seed: int = 7) -> None:
    """Overwrite *pages* random pages (the header page included) with random bytes."""
    rng = random.Random(seed)
    size = path.stat().st_size
    count = size // PAGE
    with path.open("r+b") as raw:
        for number in [0, *rng.sample(range(1, count), pages - 1)]:
            raw.seek(number * PAGE)
            raw.write(rng.randbytes(PAGE))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_a_healthy_store_opens_with_the_check(snapshot_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "ok.db"
    shutil.copy(snapshot_db, path)
    store = await Store.open(path, check=True)
    await store.close()
    fresh = await Store.open(tmp_path / "new.db", check=True)  # nothing to check yet
    await fresh.close()


@pytest.mark.parametrize("header", [True, False], ids=["header-too", "pages-only"])
async def test_a_damaged_file_is_refused_by_name_and_left_unchanged(
    snapshot_db: Path, tmp_path: Path, header: bool
) -> None:
    path = tmp_path / "broken.db"
    shutil.copy(snapshot_db, path)
    if header:
        damage(path)
    else:
        rng = random.Random(3)
        with path.open("r+b") as raw:
            for number in rng.sample(range(2, path.stat().st_size // PAGE), 20):
                raw.seek(number * PAGE)
                raw.write(rng.randbytes(PAGE))
    before = digest(path)
    with pytest.raises(DatabaseDamaged) as refused:
        await Store.open(path, check=True)
    assert f"the database {path} is damaged" in str(refused.value)
    assert "it was not changed" in str(refused.value)
    assert "Restore it from a backup" in str(refused.value)
    assert digest(path) == before
    wal = tmp_path / "broken.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0


def test_every_command_on_a_damaged_database_exits_1_with_the_message(
    snapshot_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "broken.db"
    shutil.copy(snapshot_db, path)
    damage(path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPERSBOT_DATABASE", str(path))
    for key in ("SLACK_BOT_TOKEN", "DISCORD_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    before = digest(path)
    for argv in (["search", "diffusion"], ["run"], ["ingest", "--date", "2026-08-19"]):
        assert main(argv) == 1, argv
        err = " ".join(capsys.readouterr().err.split())
        assert f"the database {path} is damaged" in err, argv
        assert "Traceback" not in err
    assert digest(path) == before
