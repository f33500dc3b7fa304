"""Benchmark: the whole pipeline at a size — demo data → import → resolve → models run.

Each stage runs in its own process (``--stage``), so its wall time and peak RSS
are its own; the stages share one DuckDB warehouse in a work folder. The goal:
50,000,000 orders through the whole pipeline on a 24 GiB, 2-core machine
without running out of memory.

* ``generate`` — :func:`guanxi.demo.run_demo` with ``import_files=False`` (the
  platform export files, as a shop would download them), seed 42, fixed end;
* ``import``  — every written file through :func:`guanxi.ingest.api.import_file`
  with the preset the demo planned for it;
* ``resolve`` — :func:`guanxi.identity.resolve`;
* ``models``  — :func:`guanxi.models.run_models`.

Whether the demo generator streams is checked too: its peak RSS at the size
against a probe at a tenth of the size gives the marginal bytes per order and a
projected peak at 50M orders.

    .venv/bin/python bench/pipeline.py --orders 100000 [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import figures
from process import run_measured, run_stages

from guanxi.config import Settings, get_settings
from guanxi.demo.spec import MAX_ORDERS, MIN_ORDERS

STAGES = ("generate", "import", "resolve", "models")
END = datetime(2024, 12, 31, 20, 0)
"""The demo's export moment (naive, in the configured zone); models run as of its date."""
GOAL_ORDERS = 50_000_000
PLAN = "plan.json"


def _settings(folder: Path) -> Settings:
    return get_settings(
        env="test",
        data_dir=folder,
        warehouse_url=f"duckdb://{folder / 'warehouse.duckdb'}",
        models_config=folder / "absent-models.yaml",
        progress=False,
    )


def stage_generate(folder: Path, orders: int) -> dict[str, Any]:
    from guanxi.demo import run_demo
    from guanxi.demo.run import planned_imports

    result = run_demo(
        _settings(folder), orders=orders, seed=42, out_dir=folder / "demo", end=END, import_files=False
    )
    plan = [
        {"path": str(f.path), "kind": p.kind, "preset": p.preset, "source": p.source}
        for f, p in planned_imports(result.files)
    ]
    (folder / PLAN).write_text(json.dumps(plan, ensure_ascii=False))
    return {
        "people": result.people,
        "records": result.records,
        "files": len(result.files),
        "bytes": sum(f.size_bytes for f in result.files),
        "generate_seconds": result.generate_seconds,
        "write_seconds": result.write_seconds,
    }


def stage_import(folder: Path, orders: int) -> dict[str, Any]:
    from guanxi.ingest.api import import_file
    from guanxi.warehouse import connect

    settings = _settings(folder)
    con = connect(settings)
    loaded = quarantined = 0
    try:
        for item in json.loads((folder / PLAN).read_text()):
            report = import_file(
                con, settings, item["kind"], Path(item["path"]), preset=item["preset"], source=item["source"]
            )
            loaded += report.rows_loaded
            quarantined += report.rows_quarantined
    finally:
        con.disconnect()
    return {"rows_loaded": loaded, "rows_quarantined": quarantined}


def stage_resolve(folder: Path, orders: int) -> dict[str, Any]:
    from guanxi.identity import resolve
    from guanxi.warehouse import connect

    settings = _settings(folder)
    con = connect(settings)
    try:
        report = resolve(con, settings, now=END)
    finally:
        con.disconnect()
    return {"records": report.records, "customers": report.customers}


def stage_models(folder: Path, orders: int) -> dict[str, Any]:
    from guanxi.models import ModelsConfig, run_models
    from guanxi.warehouse import connect

    settings = _settings(folder)
    con = connect(settings)
    try:
        report = run_models(con, settings, as_of=END.date(), config=ModelsConfig())
    finally:
        con.disconnect()
    return {"customers": report.customers, "buyers": report.buyers, "warnings": list(report.warnings)}


RUNNERS = {
    "generate": stage_generate,
    "import": stage_import,
    "resolve": stage_resolve,
    "models": stage_models,
}


def measure(orders: float, folder: Path | None = None) -> dict[str, Any]:
    """Run every stage at ``orders`` in its own process; stop at the first stage that fails."""
    n = int(orders)
    with tempfile.TemporaryDirectory(prefix="guanxi-bench-pipeline-") as tmp:
        work = folder or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for leftover in ("warehouse.duckdb", "warehouse.duckdb.wal", PLAN):
            (work / leftover).unlink(missing_ok=True)
        return _measure(n, work)


def _stage(stage: str, orders: int, work: Path) -> dict[str, Any]:
    """One stage in its own process: its JSON result with ``seconds`` and ``peak_rss_mib``."""
    out = work / f"{stage}.json"
    argv = [sys.executable, __file__, "--stage", stage, "--orders", str(orders), "--dir", str(work)]
    child = run_measured([*argv, "--json", str(out)], json_path=out, quiet=True)
    return {"stage": stage, "seconds": child.seconds, "peak_rss_mib": child.peak_rss_mib, **child.result}


def generator_growth(orders: int, work: Path, full: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Does the demo generator stream? Its peak RSS at ``orders`` against a probe at a tenth of the size.

    The marginal memory per order (peak difference over order difference) projects the
    peak at the 50M goal; a generator that streams has a marginal cost near zero.
    """
    probe_orders = orders // 10
    probe_dir = work / "probe"
    probe_dir.mkdir(exist_ok=True)
    probe = _stage("generate", probe_orders, probe_dir)
    marginal = max(full["peak_rss_mib"] - probe["peak_rss_mib"], 0.0) * 2**20 / (orders - probe_orders)
    projected_gib = (probe["peak_rss_mib"] * 2**20 + marginal * (GOAL_ORDERS - probe_orders)) / 2**30
    streams = marginal < 50  # bytes per order: a streaming generator's peak barely moves with size
    figure = figures.value(
        "demo generator: peak RSS growth",
        value=f"{marginal:,.0f} B/order → {projected_gib:,.1f} GiB at {GOAL_ORDERS / 1e6:.0f}M",
        goal="streams (peak RSS sub-linear in orders)",
        met=streams,
        guanxi_peak_rss_mib=full["peak_rss_mib"],
        note=f"peak {probe['peak_rss_mib']:,.0f} MiB at {probe_orders:,} vs {full['peak_rss_mib']:,.0f} MiB at {orders:,}",
    )
    warnings = []
    if not streams:
        warnings.append(
            f"the demo generator holds the data set in memory: ~{marginal:,.0f} bytes per order, "
            f"a projected {projected_gib:,.1f} GiB peak at {GOAL_ORDERS:,} orders"
        )
    return figure, warnings


def _measure(orders: int, work: Path) -> dict[str, Any]:
    warnings: list[str] = []
    if orders > MAX_ORDERS:
        warnings.append(f"guanxi.demo generates at most {MAX_ORDERS:,} orders; asked for {orders:,}")
    run = run_stages("pipeline", STAGES, lambda stage: _stage(stage, orders, work))
    stages, failed = run.done, run.failed
    warnings += run.warnings
    result_figures = [
        figures.value(
            f"pipeline: {s['stage']}",
            value=f"{s['seconds']:.1f} s",
            guanxi_seconds=s["seconds"],
            guanxi_peak_rss_mib=s["peak_rss_mib"],
        )
        for s in stages
    ]
    peak = max((s["peak_rss_mib"] for s in stages), default=0.0)
    total = sum(s["seconds"] for s in stages)
    done = failed is None
    result_figures.append(
        figures.value(
            "pipeline: all stages",
            value=f"{total:.1f} s" if done else "failed",
            goal=f"{GOAL_ORDERS:,} orders without running out of memory (24 GiB, 2 cores)",
            met=(done and orders >= GOAL_ORDERS) or (False if not done else None),
            guanxi_seconds=total if done else None,
            guanxi_peak_rss_mib=peak,
            note=failed or f"{orders:,} orders; the goal is judged at {GOAL_ORDERS:,}",
        )
    )
    generate = next((s for s in stages if s["stage"] == "generate"), None)
    details: dict[str, Any] = {"stages": stages}
    if generate and orders // 10 >= MIN_ORDERS:
        print("  demo generator probe at a tenth of the size …", flush=True)
        growth, more = generator_growth(orders, work, generate)
        result_figures.append(growth)
        warnings += more
    return {
        "benchmark": "pipeline",
        "sizes": {"orders": orders},
        "figures": result_figures,
        "details": details,
        "warnings": warnings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=float, default=1e5)
    parser.add_argument(
        "--dir", type=Path, default=None, help="work folder (its warehouse is replaced; default: temp)"
    )
    parser.add_argument("--stage", choices=STAGES, default=None, help="run one stage in this process")
    parser.add_argument("--json", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args()
    if args.stage:
        started = time.perf_counter()
        result = RUNNERS[args.stage](args.dir, int(args.orders))
        result["stage_seconds"] = round(time.perf_counter() - started, 3)
    else:
        result = measure(args.orders, args.dir)
        for fig in result["figures"]:
            print(f"{fig['figure']:<24} {fig['value']:<12} peak RSS {fig['guanxi_peak_rss_mib']:,.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
