"""``guanxi import KIND FILE`` and ``guanxi quality``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from guanxi.cli.context import console, fails_cleanly, settings, warehouse
from guanxi.cli.jobs import run_job
from guanxi.ingest.fields import REASONS
from guanxi.ingest.jobs import report_from_dict
from guanxi.ingest.preset import KINDS, available_presets
from guanxi.ingest.quality import quality_report
from guanxi.ingest.report import ImportReport


def _print_report(report: ImportReport) -> None:
    table = Table(title=f"导入报告 import report · batch {report.batch_id}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    rows = [
        ("文件 file", f"{report.file_name} ({report.file_format}, {report.encoding or '-'})"),
        ("类型 kind / 来源 source", f"{report.kind} / {report.source}"),
        ("映射 mapping", report.preset),
        ("读取 rows read", f"{report.rows_read:,}"),
        ("载入 loaded", f"{report.rows_loaded:,}"),
        ("  新增 inserted", f"{report.rows_inserted:,}"),
        ("  更新 updated", f"{report.rows_updated:,}"),
        ("  未变 unchanged", f"{report.rows_unchanged:,}"),
        ("  合并 combined duplicates", f"{report.rows_combined:,}"),
        ("隔离 quarantined rows", f"{report.rows_quarantined:,}"),
        ("警告 warnings (cells dropped)", f"{report.warnings:,}"),
        ("耗时 seconds", f"{report.seconds:.2f}"),
    ]
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
    if report.reasons:
        reasons = Table(title="隔离原因 quarantine reasons")
        reasons.add_column("reason")
        reasons.add_column("entries", justify="right")
        reasons.add_column("meaning")
        for reason, count in report.reasons.items():
            reasons.add_row(reason, f"{count:,}", REASONS.get(reason, ""))
        console.print(reasons)


@fails_cleanly
def import_command(
    kind: Annotated[str, typer.Argument(help=f"What the file holds: {', '.join(KINDS)}")],
    file: Annotated[Path, typer.Argument(help="CSV/TSV, .xlsx/.xls, .parquet or .jsonl file", exists=False)],
    preset: Annotated[
        str | None, typer.Option(help="Built-in preset, e.g. taobao-orders (default: detect)")
    ] = None,
    mapping: Annotated[Path | None, typer.Option(help="YAML mapping file (see docs/ingest.md)")] = None,
    source: Annotated[str | None, typer.Option(help="Override the source name stored with each row")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Import one file; bad rows are quarantined, good rows load, all in one transaction.

    While ``guanxi serve`` or ``guanxi worker`` holds the warehouse, the import
    runs there as a job and this command follows it to the same report.
    """
    params = {
        "kind": kind,
        "path": str(file.absolute()),
        "preset": preset,
        "mapping": str(mapping.absolute()) if mapping else None,
        "source": source,
    }
    result = run_job("import", params, title=file.name, show_progress=not as_json)
    report = report_from_dict(result)
    if as_json:
        console.print_json(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        _print_report(report)


@fails_cleanly
def presets_command() -> None:
    """List the column-mapping presets (built-in and from plugins)."""
    table = Table(title="内置映射 built-in presets")
    for column in ("name", "kind", "source", "description"):
        table.add_column(column)
    for preset in available_presets().values():
        table.add_row(preset.name, preset.kind, preset.source, preset.description)
    console.print(table)


@fails_cleanly
def quality_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    stale_months: Annotated[
        int | None, typer.Option(help="Months without activity that make a record stale")
    ] = None,
) -> None:
    """The data-quality report: completeness, invalid and duplicate contacts, stale records, orphans."""
    current = settings()
    if stale_months is not None:
        current = current.model_copy(update={"stale_months": stale_months})
    with warehouse(current) as con:
        report = quality_report(con, current)
    data = report.to_dict()
    if as_json:
        console.print_json(json.dumps(data, ensure_ascii=False))
        return
    for section in data["sections"].values():
        rows = section["rows"]
        table = Table(title=section["title"])
        if not rows:
            console.print(f"[bold]{section['title']}[/]: 无 none")
            continue
        for column in rows[0]:
            table.add_column(
                str(column), justify="right" if isinstance(rows[0][column], int | float) else "left"
            )
        for row in rows:
            table.add_row(
                *["" if v is None else (f"{v:.2%}" if k == "share" else str(v)) for k, v in row.items()]
            )
        console.print(table)
