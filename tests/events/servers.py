"""Run ``guanxi serve`` as a real OS process on a free loopback port, and read what it stored."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import httpx
from sqlalchemy import func, select

from guanxi.appdb.database import make_engine, session_factory
from guanxi.config import Settings
from guanxi.events.spool import SpooledEvent
from guanxi.warehouse import duckdb_path

GUANXI = "from guanxi.cli.main import main; main()"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """The environment of a server process: the test's stores, a quick loader, no resolve, no schedules."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GUANXI_")}
    env.update(
        {
            "GUANXI_ENV": "test",
            "GUANXI_APP_DB_URL": settings.app_db_url,
            "GUANXI_WAREHOUSE_URL": settings.warehouse_url,
            "GUANXI_DATA_DIR": str(settings.data_dir),
            "GUANXI_EVENTS_LOAD_SECONDS": "0.2",
            "GUANXI_EVENTS_RESOLVE": "false",
            "GUANXI_JOBS_SCHEDULES": "false",
        }
    )
    env.update(overrides)
    return env


def wait_for(
    condition: Callable[[], bool], deadline_seconds: float, what: str, interval: float = 0.1
) -> None:
    """Poll ``condition`` until it holds; AssertionError naming ``what`` after the deadline."""
    pause = threading.Event()
    deadline = time.monotonic() + deadline_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_seconds}s waiting for {what}")
        pause.wait(interval)


class ServeProcess:
    """One ``guanxi serve --port P`` process; its output goes to a log file."""

    def __init__(self, env: dict[str, str], folder: Path, name: str = "serve") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"{name}-{self.port}.log"
        self._log = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", GUANXI, "serve", "--port", str(self.port), "--log-level", "warning"],
            env=env,
            cwd=folder,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._ready, 60, f"guanxi serve on port {self.port} (log: {self.log})")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"guanxi serve exited with {self.process.returncode}:\n{self.output()}")
        try:
            return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, nothing of the process's own clean-up."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self._log.close()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(60)
        self._log.close()
        return code


def spool_size(settings: Settings) -> int:
    engine = make_engine(settings)
    try:
        with session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(SpooledEvent)) or 0)
    finally:
        engine.dispose()


def stored_events(settings: Settings) -> list[tuple[Any, ...]]:
    """``(source, event_id)`` of every raw_events row, read from the warehouse file (no server running)."""
    with duckdb.connect(duckdb_path(settings.warehouse_url), read_only=True) as con:
        return con.execute("SELECT source, event_id FROM raw_events").fetchall()


def query(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(duckdb_path(settings.warehouse_url), read_only=True) as con:
        return con.execute(sql).fetchall()
