"""A real PostgreSQL server for the tests, started from the binaries on this machine.

Debian's PostgreSQL 15 server (``initdb``, ``pg_ctl``, ``postgres``) is installed on every
machine of this project. The server lives in a temporary directory, listens on a Unix
socket only (no TCP port to collide with), trusts local connections, and runs with fsync
off (a test database is thrown away). PostgreSQL refuses to run as root, so when the tests
run as root the server runs as ``nobody``. One server serves the whole session; each test
gets a database of its own (``pg_dsn``).

Without the binaries the PostgreSQL tests are skipped with a notice, except under CI
(``CI=true``), where their absence is a failure: CI must prove both stores.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

USER = "papersbot"
SKIPPED: list[str] = []  # why PostgreSQL tests were skipped, for the session's summary


def pg_binaries() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: on the PATH, else Debian's newest."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return versions[0].parent if versions else None


def require_postgres() -> Path:
    """The binaries' directory, or skip (fail under ``CI=true``) when there are none."""
    binaries = pg_binaries()
    if binaries is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl) not found"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI needs the PostgreSQL 15 server installed")
        SKIPPED.append(reason)
        pytest.skip(reason)
    return binaries


def _as_owner() -> dict[str, Any]:
    """subprocess arguments to run as ``nobody`` when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return {}
    return {"user": 65534, "group": 65534, "extra_groups": []}


class PostgresServer:
    """One throwaway server: :meth:`start`, :meth:`dsn` per database, :meth:`stop`."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        # Short: a Unix socket path must fit in 107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="pbpg-", dir="/tmp"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log = self.root / "server.log"
        self.running = False
        self._process: subprocess.Popen[bytes] | None = None

    def _run(self, *args: str | Path) -> None:
        subprocess.run(
            [str(a) for a in args],
            check=True,
            capture_output=True,
            timeout=120,
            **_as_owner(),
        )

    def start(self) -> PostgresServer:
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            for path in (self.root, self.socket_dir):
                os.chown(path, 65534, 65534)
        try:
            self._run(
                self.binaries / "initdb",
                "-D", self.data, "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync",
            )  # fmt: skip
            self._launch()
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, RuntimeError) as exc:
            out = getattr(exc, "stderr", b"") or b""
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            self.stop()
            raise RuntimeError(f"PostgreSQL did not start: {out.decode()[-2000:]}\n{log}") from exc
        atexit.register(self.stop)  # the last resort, should a session end without teardown
        self.running = True
        return self

    def _launch(self) -> None:
        """``postgres`` as a child of this process, not through ``pg_ctl start``: a server
        pg_ctl detaches is re-parented to PID 1, and in a container whose PID 1 does not
        reap children it would stay a zombie after it stops."""
        settings = {
            "listen_addresses": "",
            "unix_socket_directories": str(self.socket_dir),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "300",
        }
        options = [part for key, value in settings.items() for part in ("-c", f"{key}={value}")]
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(
                [str(self.binaries / "postgres"), "-D", str(self.data), *options],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal reaches pytest, not it
                **_as_owner(),
            )
        deadline = time.monotonic() + 60
        while not self._ready():
            if self._process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("postgres was not ready within 60 s")
            time.sleep(0.05)

    def _ready(self) -> bool:
        """``postmaster.pid``'s eighth line says "ready" once connections are accepted
        (what ``pg_ctl start -w`` waits for)."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@/{database}?host={self.socket_dir}"

    def create_database(self) -> str:
        """A new empty database; its DSN."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.sql(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def drop_database(self, dsn: str) -> None:
        name = dsn.rsplit("/", 1)[1].split("?", 1)[0]
        with contextlib.suppress(subprocess.CalledProcessError):
            self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def sql(self, statement: str) -> None:
        """Run one statement as the superuser through ``psql`` (no event loop needed)."""
        psql = shutil.which("psql") or str(self.binaries / "psql")
        subprocess.run(
            [psql, "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir), "-U", USER,
             "-d", "postgres", "-c", statement],
            check=True,
            capture_output=True,
            timeout=60,
        )  # fmt: skip

    def stop(self) -> None:
        """A fast shutdown (a kill of its process group if that fails), then the directory
        goes. Safe to call twice, and on a server that never started."""
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
                self._run(self.binaries / "pg_ctl", "stop", "-m", "fast", "-w", "-D", self.data)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # its backends are in its session
                process.wait(timeout=30)
        self.running = False
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
