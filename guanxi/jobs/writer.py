"""The one writer of an embedded warehouse: a lock file beside the DuckDB file.

DuckDB lets one process open a database file for writing, and no other process
may even read it meanwhile. guanxi makes that process explicit: whoever opens
the file for work (``guanxi serve``, ``guanxi worker``, or a CLI command run
directly) first takes an exclusive ``flock`` on ``FILE.writer`` and writes its
pid, host and role into it. A CLI command that finds the lock taken by a process
that runs jobs queues its work as a job instead of failing on DuckDB's lock, and
follows it (see ADR 0008).

Guarantees: the lock is released by the kernel when the holder exits, SIGKILL
included, so a dead holder never blocks the next one; :func:`holder` reads who
holds it without taking it. Warehouses other than an embedded DuckDB file need
no writer: :func:`writer_lock_path` is ``None`` for them and every process may
run every job.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from guanxi.config import Settings
from guanxi.warehouse import backend_name, duckdb_path


def writer_lock_path(settings: Settings) -> Path | None:
    """``FILE.writer`` beside an embedded DuckDB warehouse file; ``None`` for other warehouses."""
    url = settings.warehouse_url
    if backend_name(url) != "duckdb":
        return None
    path = duckdb_path(url)
    if path == ":memory:":
        return None
    return Path(path).absolute().with_name(Path(path).name + ".writer")


@dataclass(frozen=True)
class Holder:
    """Who holds the writer lock: ``role`` is ``serve``, ``worker`` or ``cli``; ``takes_jobs`` whether it runs jobs."""

    pid: int
    host: str
    role: str
    takes_jobs: bool
    since: str

    def describe(self) -> str:
        return f"guanxi {self.role} (pid {self.pid} on {self.host}, since {self.since})"


def holder(settings: Settings) -> Holder | None:
    """The current holder of the writer lock, or ``None`` when nobody holds it (or no lock applies)."""
    path = writer_lock_path(settings)
    if path is None or not path.exists():
        return None
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        else:  # nobody holds it exclusively
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None
        handle.seek(0)
        text = handle.read()
    try:
        data: dict[str, Any] = json.loads(text)
        return Holder(
            int(data["pid"]),
            str(data["host"]),
            str(data["role"]),
            bool(data["takes_jobs"]),
            str(data["since"]),
        )
    except (ValueError, KeyError, TypeError):
        return Holder(0, "?", "unknown", False, "?")


class WriterLock:
    """The exclusive writer lock of one embedded warehouse (a no-op for other warehouses).

    ``acquire(wait=False)`` returns whether this process now holds it; with
    ``wait=True`` it blocks until it does. The lock is held until :meth:`release`
    or process exit.
    """

    def __init__(self, settings: Settings, *, role: str, takes_jobs: bool) -> None:
        self.path = writer_lock_path(settings)
        self.role = role
        self.takes_jobs = takes_jobs
        self._handle: IO[str] | None = None

    @property
    def applies(self) -> bool:
        return self.path is not None

    @property
    def held(self) -> bool:
        return self._handle is not None or self.path is None

    def acquire(self, *, wait: bool = False, poll_seconds: float = 0.2) -> bool:
        if self.path is None or self._handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    handle.close()
                    return False
                time.sleep(poll_seconds)
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "role": self.role,
                    "takes_jobs": self.takes_jobs,
                    "since": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
        )
        handle.flush()
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        handle.seek(0)
        handle.truncate()
        handle.flush()
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()

    def __enter__(self) -> WriterLock:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
