"""Run every benchmark at one size, print one table of ratios, write ``bench/results.json``.

    .venv/bin/python bench/run.py --orders 1e6 [--only ingest,identity,models,clv,pipeline,scale]
                                  [--out bench/results.json]

Each benchmark runs in its own process (``bench/<name>.py ... --json PATH``), so
its wall time and peak RSS (``ru_maxrss`` of that child, via ``os.wait4``) are
its own; baselines that run in a process of their own report their peak RSS
too. Every baseline is measured in the same run as guanxi. For a timed figure
the ratio is ``guanxi seconds / baseline seconds`` of those two measured
numbers, and a goal ``≤ g×`` is met when the ratio is at most ``g``.

``results.json`` holds the machine (cores, RAM, Python, library versions), the
date, the sizes, every figure with its baseline and ratio, peak memory and
warnings; keys are sorted and benchmarks come in a fixed order, so two runs
diff cleanly. A benchmark that fails is recorded with its error and the others
still run; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from process import ROOT, ChildFailed, run_script
from rich.console import Console
from rich.table import Table

BENCHMARKS = ("ingest", "identity", "models", "clv", "pipeline", "scale")
SIZE_FLAG = {
    "ingest": "--orders",
    "identity": "--records",
    "models": "--orders",
    "clv": "--orders",
    "pipeline": "--orders",
    "scale": "--orders",
}
"""The identity benchmark resolves as many synthetic customer records as there are orders."""
PACKAGES = (
    "guanxi",
    "duckdb",
    "ibis-framework",
    "pandas",
    "numpy",
    "scipy",
    "pyarrow",
    "splink",
    "lifetimes",
)


def machine() -> dict[str, Any]:
    """Cores, RAM, OS, Python and the versions of the libraries the figures depend on."""
    ram = None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = round(int(line.split()[1]) / 2**20, 1)
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
            ).stdout.strip()
            or None
        )
    except OSError:
        commit = None
    return {
        "cores": os.cpu_count(),
        "ram_gib": ram,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def complete(figure: dict[str, Any]) -> dict[str, Any]:
    """Add ``ratio``, ``goal`` and ``met`` to a timed figure from its two measured numbers."""
    if figure.get("kind") != "timed":
        return figure
    guanxi, baseline, goal = figure["guanxi_seconds"], figure["baseline_seconds"], figure.get("goal_ratio")
    ratio = round(guanxi / baseline, 2) if baseline > 0 else None
    return {
        **figure,
        "ratio": ratio,
        "goal": f"≤ {goal:g}×" if goal is not None else None,
        "met": (ratio <= goal) if goal is not None and ratio is not None else None,
    }


def run_benchmark(name: str, orders: int) -> dict[str, Any]:
    """One benchmark in its own process: its result with wall seconds and peak RSS added."""
    try:
        child = run_script(name, [SIZE_FLAG[name], str(orders)])
    except ChildFailed as err:
        reason = err.reason
        return {
            "benchmark": name,
            "error": reason,
            "figures": [{"figure": "(benchmark failed)", "kind": "unavailable", "note": reason}],
            "warnings": [f"{name} failed: {reason}"],
        }
    result = dict(child.result)
    result["figures"] = [complete(f) for f in result.get("figures", [])]
    result["seconds"] = child.seconds
    result["peak_rss_mib"] = child.peak_rss_mib
    return result


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _met(value: bool | None) -> str:
    return {True: "[green]yes[/]", False: "[red]no[/]", None: ""}[value]


def table(results: list[dict[str, Any]], orders: int) -> Table:
    """The one table: benchmark, figure, guanxi s, baseline, baseline s, ratio, goal, met?, peak RSS."""
    out = Table(title=f"guanxi benchmarks at {orders:,} orders", show_lines=False)
    for column in (
        "benchmark",
        "figure",
        "guanxi",
        "baseline",
        "baseline s",
        "ratio",
        "goal",
        "met?",
        "peak RSS MiB",
    ):
        out.add_column(column, justify="right" if column in ("baseline s", "ratio") else "left")
    for result in results:
        name = result["benchmark"]
        for index, fig in enumerate(result["figures"]):
            kind = fig.get("kind")
            label = name if index == 0 else ""
            if kind == "unavailable":
                out.add_row(label, fig["figure"], "not available", fig.get("note") or "", "", "", "", "", "")
                continue
            peak = fig.get("guanxi_peak_rss_mib")
            base_peak = fig.get("baseline_peak_rss_mib")
            rss = f"{peak:,.0f}" if peak is not None else ("—" if base_peak is not None else "")
            if base_peak is not None:
                rss += f" / {base_peak:,.0f}"
            if kind == "timed":
                out.add_row(
                    label,
                    fig["figure"],
                    _seconds(fig["guanxi_seconds"]) + " s",
                    fig["baseline"],
                    _seconds(fig["baseline_seconds"]),
                    f"{fig['ratio']:.2f}×" if fig.get("ratio") is not None else "",
                    fig.get("goal") or "—",
                    _met(fig.get("met")),
                    rss,
                )
            else:
                out.add_row(
                    label,
                    fig["figure"],
                    fig["value"],
                    fig.get("baseline") or "",
                    "",
                    "",
                    fig.get("goal") or "—",
                    _met(fig.get("met")),
                    rss,
                )
        if "peak_rss_mib" in result:
            out.add_row(
                "",
                f"[dim]{name}: whole process[/]",
                f"[dim]{_seconds(result['seconds'])} s[/]",
                "",
                "",
                "",
                "",
                "",
                f"[dim]{result['peak_rss_mib']:,.0f}[/]",
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=float, default=1e6, help="size: orders (1e6, 1e7, 5e7)")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated benchmarks to run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmarks {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    orders = int(args.orders)
    console = Console(width=None if sys.stdout.isatty() else 200)
    started = datetime.now(UTC)
    results = []
    for name in BENCHMARKS:
        if name in chosen:
            console.rule(f"{name} · {orders:,}")
            results.append(run_benchmark(name, orders))
    document = {
        "date": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "sizes": {"orders": orders, **{r["benchmark"]: r.get("sizes", {}) for r in results}},
        "benchmarks": results,
        "warnings": [f"{r['benchmark']}: {w}" for r in results for w in r.get("warnings", [])],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
    )
    console.print(table(results, orders))
    for warning in document["warnings"]:
        console.print(f"[yellow]warning[/] {warning}")
    console.print(f"written: {args.out}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
