"""``run_demo``: generate a demo data set, write its exports, import them.

The files are imported through the same path a user's files take
(:func:`guanxi.ingest.api.import_file`), kind by kind in the order
customers → orders → order-items → tickets → events, each with its platform
preset. ``truth.parquet`` is written but not imported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from guanxi.config import Settings
from guanxi.demo.dataset import generate
from guanxi.demo.exports import IMPORT_ORDER, TRUTH_FILE, ExportedFile, PlannedImport, write_exports
from guanxi.demo.spec import DemoSpec, default_end
from guanxi.ingest.report import ImportReport

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoImport:
    """One import the demo ran: the file, how it was read, what the import reported."""

    file: ExportedFile
    plan: PlannedImport
    report: ImportReport


@dataclass(frozen=True)
class DemoResult:
    """What ``run_demo`` did: the spec, files written, imports run, and timings (seconds)."""

    spec: DemoSpec
    out_dir: Path
    files: list[ExportedFile]
    people: int
    records: int
    generate_seconds: float
    write_seconds: float
    imports: list[DemoImport] = field(default_factory=list)
    import_seconds: float = 0.0

    @property
    def rows_quarantined(self) -> int:
        return sum(i.report.rows_quarantined for i in self.imports)


def planned_imports(files: list[ExportedFile]) -> list[tuple[ExportedFile, PlannedImport]]:
    """Every (file, import) pair in import order: by kind as in IMPORT_ORDER, then by file."""
    return [(f, plan) for kind in IMPORT_ORDER for f in files for plan in f.imports if plan.kind == kind]


def run_demo(
    settings: Settings,
    *,
    orders: int,
    seed: int,
    out_dir: Path,
    end: datetime | None = None,
    import_files: bool = True,
    broken_fraction: float = 0.002,
    on_step: Progress | None = None,
) -> DemoResult:
    """Write a demo data set of ``orders`` orders (seed ``seed``) to ``out_dir`` and import it.

    ``end`` (naive wall clock in ``settings.timezone``) is when the exports were
    taken, by default now. Deterministic for a given ``(orders, seed, end)``.
    Overwrites the demo files in ``out_dir``; importing twice loads nothing new
    the second time (imports are idempotent). Raises ConfigError for invalid
    sizes and whatever :func:`import_file` raises for a file it cannot read.
    """
    step = on_step or (lambda _label: None)
    spec = DemoSpec(
        orders=orders, seed=seed, end=end or default_end(settings), broken_fraction=broken_fraction
    )
    step("generate")
    started = time.perf_counter()
    data = generate(spec)
    generated = time.perf_counter()
    step("write")
    offset = settings.zone.utcoffset(spec.end)
    files = write_exports(data, out_dir, utc_offset=int(offset.total_seconds()) if offset is not None else 0)
    written = time.perf_counter()
    result = DemoResult(
        spec=spec,
        out_dir=out_dir,
        files=files,
        people=len(data.people),
        records=next(f.rows for f in files if f.path.name == TRUTH_FILE),
        generate_seconds=round(generated - started, 3),
        write_seconds=round(written - generated, 3),
    )
    if not import_files:
        return result
    from guanxi.ingest.api import import_file
    from guanxi.warehouse import connect

    con = connect(settings)
    imports: list[DemoImport] = []
    try:
        for exported, plan in planned_imports(files):
            step(f"import {exported.path.name} ({plan.kind})")
            report = import_file(
                con, settings, plan.kind, exported.path, preset=plan.preset, source=plan.source
            )
            imports.append(DemoImport(exported, plan, report))
    finally:
        con.disconnect()
    return replace(result, imports=imports, import_seconds=round(time.perf_counter() - written, 3))
