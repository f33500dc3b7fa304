"""The benchmark harness end to end at a tiny size: one subprocess per benchmark, one JSON document."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The text of results.json after ``bench/run.py --orders 2000 --only models``."""
    out = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--orders",
            "2000",
            "--only",
            "models",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "guanxi benchmarks at 2,000 orders" in done.stdout
    return out.read_text()


@pytest.fixture(scope="module")
def results(written: str) -> dict:
    return json.loads(written)


def test_results_describe_the_machine_and_the_size(results: dict) -> None:
    machine = results["machine"]
    assert machine["cores"] >= 1
    assert machine["ram_gib"] > 0
    assert machine["python"].count(".") == 2
    assert machine["versions"]["duckdb"]
    assert machine["versions"]["ibis-framework"]
    assert results["sizes"]["orders"] == 2000
    assert results["sizes"]["models"] == {"orders": 2000, "customers": 250}
    assert results["date"] <= results["finished"]


def test_only_the_chosen_benchmark_runs_in_its_own_measured_process(results: dict) -> None:
    [models] = results["benchmarks"]
    assert models["benchmark"] == "models"
    assert models["seconds"] > 0
    assert models["peak_rss_mib"] > 10  # a Python process with DuckDB loaded


def test_timed_ratios_are_computed_from_the_two_measured_numbers(results: dict) -> None:
    figures = results["benchmarks"][0]["figures"]
    timed = [f for f in figures if f["kind"] == "timed"]
    names = {f["figure"] for f in timed}
    assert {
        "RFM: Ibis vs hand-written SQL",
        "RFM: Ibis vs pandas (incl. load)",
        "all models vs SQL RFM",
    } <= names
    for figure in timed:
        assert figure["guanxi_seconds"] > 0
        assert figure["baseline_seconds"] > 0
        assert figure["ratio"] == round(figure["guanxi_seconds"] / figure["baseline_seconds"], 2)
        if figure["goal_ratio"] is None:
            assert figure["met"] is None
        else:
            assert figure["met"] == (figure["ratio"] <= figure["goal_ratio"])
    pandas = next(f for f in timed if f["baseline"] == "pandas RFM")
    assert pandas["baseline_peak_rss_mib"] > 10  # the baseline ran in a process of its own


def test_quality_and_unavailable_figures_carry_no_invented_numbers(results: dict) -> None:
    figures = {f["figure"]: f for f in results["benchmarks"][0]["figures"]}
    agree = figures["RFM tables agree row for row"]
    assert agree["kind"] == "value"
    assert agree["met"] is True
    incremental = figures["models after +1 % orders: incremental vs full"]
    if incremental["kind"] == "unavailable":
        assert set(incremental) == {"figure", "kind", "note"}
    else:
        assert incremental["ratio"] == round(
            incremental["guanxi_seconds"] / incremental["baseline_seconds"], 2
        )


def test_the_document_is_written_with_sorted_keys_for_clean_diffs(written: str, results: dict) -> None:
    assert written == json.dumps(results, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
