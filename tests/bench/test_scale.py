"""The warehouse-scale pipeline benchmark at a tiny size: every stage runs on what the generator wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

ORDERS = 4000


def _run(folder: Path, *extra: str) -> dict[str, Any]:
    out = folder / "scale.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "scale.py"),
            "--orders",
            str(ORDERS),
            "--dir",
            str(folder),
            "--json",
            str(out),
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.read_text())
    return result


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("scale")
    return {**_run(folder), "folder": str(folder)}


def _stage(result: dict[str, Any], name: str) -> dict[str, Any]:
    (stage,) = [s for s in result["details"]["stages"] if s["stage"] == name]
    return stage


def test_every_stage_runs_in_its_own_measured_process(result: dict[str, Any]) -> None:
    stages = result["details"]["stages"]
    assert [s["stage"] for s in stages] == ["generate", "resolve", "models", "segments"]
    for stage in stages:
        assert stage["seconds"] > 0
        assert stage["peak_rss_mib"] > 50  # a Python process with guanxi loaded, measured, not invented


def test_generated_records_are_resolved_into_fewer_customers(result: dict[str, Any]) -> None:
    generate, resolve = _stage(result, "generate"), _stage(result, "resolve")
    assert generate["rows"]["raw_orders"] == ORDERS
    assert generate["rows"]["raw_order_items"] >= ORDERS
    records = generate["rows"]["raw_customers"]
    assert resolve["records"] == records
    # People with records in several sources share a phone or e-mail: resolution merges them.
    assert generate["people"] <= resolve["customers"] < records


def test_models_and_segments_run_on_the_resolved_customers(result: dict[str, Any]) -> None:
    models, segments = _stage(result, "models"), _stage(result, "segments")
    assert models["customers"] == _stage(result, "resolve")["customers"]
    assert 0 < models["buyers"] <= models["customers"]
    assert models["warnings"] == [] or all("skipped" in w for w in models["warnings"])
    assert segments["segments"], "no example segment was refreshed"
    assert sum(segments["segments"].values()) > 0


def test_the_memory_goal_is_judged_on_measured_peaks(result: dict[str, Any]) -> None:
    (goal,) = [f for f in result["figures"] if f["figure"].startswith("peak RSS")]
    assert goal["met"] is True
    peak = max(s["peak_rss_mib"] for s in result["details"]["stages"])
    assert f"{peak / 1024:.2f} GiB" in goal["value"]


DIGEST = (
    "SELECT count(*), sum(hash(order_id, source_customer_id, status, paid_at, paid_amount)) FROM raw_orders"
)


def _orders_digest(folder: Path) -> tuple[Any, ...]:
    con = duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True)
    row = con.sql(DIGEST).fetchone()
    con.close()
    assert row is not None
    return tuple(row)


def test_the_data_set_does_not_depend_on_the_chunk_size(
    result: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Generated in chunks of 1,000 rows, the raw orders are those generated in one chunk (the run above)."""
    folder = tmp_path_factory.mktemp("chunked")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "scale.py"),
            "--orders",
            str(ORDERS),
            "--dir",
            str(folder),
            "--stage",
            "generate",
            "--chunk",
            "1000",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    chunked = _orders_digest(folder)
    assert chunked[0] == ORDERS
    assert chunked == _orders_digest(Path(result["folder"]))
