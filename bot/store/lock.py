"""One ``papersbot run`` per SQLite database: an exclusive lock held for the process's life.

Two processes on one file would both plan and send the same schedules. The lock is an
``flock`` on a sidecar file beside the database (``papers.db.lock``), taken without
waiting: the second process is refused at once with a message naming the database and the
process that holds it. The kernel drops the lock when its holder dies (even by SIGKILL), so
a crash never leaves the database locked; the sidecar file itself stays and is harmless.
A lock file is used rather than the database because SQLite takes its own POSIX locks on
the database, which some file systems emulate with the same mechanism as ``flock``.

Claims stay safe without it (leases, see :mod:`bot.store.ledger`): the lock is what keeps
a second process from doubling the work, not what keeps deliveries exactly once.
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from bot.errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; one process is on the operator
    fcntl = None  # type: ignore[assignment]


class DatabaseInUse(StoreError):
    """Another process holds the database."""


class DatabaseLock:
    """``with DatabaseLock(path):`` holds the database at *path* for this process."""

    def __init__(self, database: str | Path) -> None:
        self.database = Path(database)
        self.path = self.database.with_name(self.database.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`DatabaseInUse` naming the database and its holder."""
        if fcntl is None or str(self.database) == ":memory:":
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip()
            os.close(fd)
            raise DatabaseInUse(
                f"the database {self.database} is in use by another papersbot process"
                f"{f' ({holder})' if holder else ''}; stop it first, or point "
                "PAPERSBOT_DATABASE at another file"
            ) from None
        except OSError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        os.write(fd, f"pid {os.getpid()}, started {started}".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DatabaseLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
