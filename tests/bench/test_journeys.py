"""The journey-trigger benchmark at a tiny size: it runs, and guanxi and the SQL agree on every count."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

TRIGGERS = [
    "order_unpaid",
    "order_paid",
    "order_delivered",
    "birthday",
    "first_order_anniversary",
    "after_first_order",
    "holiday",
]


def test_the_journeys_benchmark_agrees_with_hand_written_sql(tmp_path: Path) -> None:
    out = tmp_path / "journeys.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "journeys.py"), "--customers", "3000", "--orders", "60000",
         "--repeat", "1", "--dir", str(tmp_path / "work"), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "guanxi journeys benchmark: 3,000 customers, 60,000 orders" in done.stdout
    result = json.loads(out.read_text())
    assert [f["trigger"] for f in result["triggers"]] == TRIGGERS
    assert all(f["same_rows"] for f in result["triggers"])
    rows = {f["trigger"]: f["rows"] for f in result["triggers"]}
    assert rows["holiday"] == 3000  # every customer
    assert rows["order_paid"] > 0
    assert rows["birthday"] > 0
    assert result["goal_met"] is True
