"""One ``papersbot run`` per database: the second is refused with a message naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.store.lock import DatabaseInUse, DatabaseLock


def test_a_second_holder_is_refused_until_the_first_lets_go(tmp_path: Path) -> None:
    database = tmp_path / "papers.db"
    with DatabaseLock(database):
        with pytest.raises(DatabaseInUse) as refused:
            DatabaseLock(database).acquire()
        message = str(refused.value)
        assert str(database) in message
        assert "in use by another papersbot process (pid " in message
        with DatabaseLock(tmp_path / "other.db"):  # another database is its own
            pass
    with DatabaseLock(database):  # released: free again
        pass


def test_a_dead_holder_leaves_no_lock_behind(tmp_path: Path) -> None:
    """The kernel drops the lock with its process, even one killed without clean-up."""
    database = tmp_path / "papers.db"
    script = (
        "import os, sys; from bot.store.lock import DatabaseLock; "
        f"DatabaseLock({str(database)!r}).acquire(); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    with DatabaseLock(database):
        pass
