"""The sending benchmark end to end at a tiny size: it runs, and every count adds up (never times)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_the_sending_benchmark_delivers_every_queued_message_once(tmp_path: Path) -> None:
    out = tmp_path / "sending.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "sending.py"),
            "--customers",
            "300",
            "--no-postgres",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "guanxi sending benchmark: 300 customers" in done.stdout
    results = json.loads(out.read_text())
    [run] = results["runs"]
    assert (run["app_db"], run["workers"]) == ("sqlite", 1)
    assert (run["revoked"], run["suppressed"], run["capped"]) == (15, 3, 9)
    # webhook: no consent needed; 3 suppressed, 9 at the cap. e-mail: 15 revoked as well
    for channel, queued in (("webhook", 288), ("email", 273)):
        build, delivery = run[channel]["build"], run[channel]["delivery"]
        assert build["queued"] == queued
        assert build["counts"]["audience"] == 300
        assert delivery["messages"] == queued
        assert delivery["sink"] == {"raw": queued, "distinct": queued}
        assert run[channel]["ratio"] > 0
    assert {name: base["messages"] for name, base in results["baselines"].items()} == {
        "httpx": 288,
        "httpx_8_threads": 288,
        "smtplib_session_per_message": 288,
        "smtplib_one_session": 288,
    }
