"""Start ``guanxi worker`` as real OS processes and wait on database state with a deadline."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from guanxi.config import Settings
from guanxi.marketing.channels.webhook import WebhookSettings

GUANXI = "from guanxi.cli.main import main; main()"


def worker_env(settings: Settings, webhook: WebhookSettings, **overrides: str) -> dict[str, str]:
    """The environment of a worker process: the test's app database, webhook and outbox settings.

    The webhook settings travel as the variables users set (GUANXI_WEBHOOK_*).
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("GUANXI_")}
    env.update(
        {
            "GUANXI_ENV": "test",
            "GUANXI_APP_DB_URL": settings.app_db_url,
            "GUANXI_DATA_DIR": str(settings.data_dir),
            "GUANXI_WEBHOOK_URL": webhook.url or "",
            "GUANXI_WEBHOOK_SECRET": webhook.secret.get_secret_value() if webhook.secret else "",
            "GUANXI_OUTBOX_LEASE_SECONDS": str(settings.outbox_lease_seconds),
            "GUANXI_OUTBOX_RETRY_BASE_SECONDS": "1",
            "GUANXI_WEBHOOK_TIMEOUT_SECONDS": "60",
        }
    )
    env.update(overrides)
    return env


class WorkerProcess:
    """One ``guanxi worker --id NAME`` process; its stderr goes to a file."""

    def __init__(self, name: str, env: dict[str, str], folder: Path, *args: str) -> None:
        self.name = name
        self.log = folder / f"{name}.log"
        self._log = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", GUANXI, "worker", "--id", name, "--poll", "0.1", *args],
            env=env,
            cwd=folder,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def started(self) -> bool:
        return f"worker {self.name} started" in self.log.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(timeout)
        self._log.close()
        return code

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(30)
        self._log.close()


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
