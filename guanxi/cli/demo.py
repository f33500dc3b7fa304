"""``guanxi demo``: write a seeded demo shop as platform exports and import it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from guanxi.cli.context import console, fails_cleanly, settings, warehouse
from guanxi.cli.users import app_db
from guanxi.demo import DemoResult, run_demo
from guanxi.demo.consent import FILE, load_demo_consent
from guanxi.errors import ConfigError

app = typer.Typer(help="Demo data: a seeded Chinese e-commerce shop as real platform exports.")


def _size(n_bytes: int) -> str:
    """Bytes as B / KB / MB / GB (1024-based)."""
    size = float(n_bytes)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} GB"


def _print_files(result: DemoResult) -> None:
    table = Table(title=f"演示数据 demo files · {result.out_dir}")
    table.add_column("file")
    table.add_column("what")
    table.add_column("format")
    table.add_column("rows", justify="right")
    table.add_column("size", justify="right")
    table.add_column("read as")
    for f in result.files:
        read_as = ", ".join(f"{p.kind} ({p.preset}{', ' + p.source if p.source else ''})" for p in f.imports)
        table.add_row(f.path.name, f.title, f.file_format, f"{f.rows:,}", _size(f.size_bytes), read_as or "—")
    console.print(table)


def _print_imports(result: DemoResult) -> None:
    table = Table(title="导入 imports")
    for name, justify in (
        ("file", "left"),
        ("kind", "left"),
        ("source", "left"),
        ("read", "right"),
        ("loaded", "right"),
        ("inserted", "right"),
        ("updated", "right"),
        ("unchanged", "right"),
        ("quarantined", "right"),
        ("warnings", "right"),
        ("s", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for done in result.imports:
        r = done.report
        table.add_row(
            done.file.path.name,
            r.kind,
            r.source,
            f"{r.rows_read:,}",
            f"{r.rows_loaded:,}",
            f"{r.rows_inserted:,}",
            f"{r.rows_updated:,}",
            f"{r.rows_unchanged:,}",
            f"{r.rows_quarantined:,}",
            f"{r.warnings:,}",
            f"{r.seconds:.1f}",
        )
    console.print(table)


def _end_of(day: str | None) -> datetime | None:
    if day is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(day), time(23, 59, 59))
    except ValueError as err:
        raise ConfigError(f"--end-date must be a date like 2025-11-30, got {day!r}") from err


@fails_cleanly
def demo_command(
    orders: Annotated[int, typer.Option(help="Number of orders (200 – 10,000,000)")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files")] = 42,
    out: Annotated[Path | None, typer.Option(help="Folder for the files (default: <data dir>/demo)")] = None,
    end_date: Annotated[
        str | None, typer.Option(help="Last day of history, YYYY-MM-DD (default: now in the configured zone)")
    ] = None,
    no_import: Annotated[bool, typer.Option("--no-import", help="Only write the files")] = False,
) -> None:
    """Write a realistic demo shop (Taobao, JD, Youzan, Shopify exports, CRM, WeChat, tickets, events)
    with two years of history and import it through the normal import path.

    Also writes truth.parquet (source, source_customer_id, person_id) to score identity resolution.
    """
    current = settings()
    target = out if out is not None else current.data_dir / "demo"
    end = _end_of(end_date)
    if current.progress:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
        ) as bar:
            task = bar.add_task("demo", total=None)
            result = run_demo(
                current,
                orders=orders,
                seed=seed,
                out_dir=target,
                end=end,
                import_files=not no_import,
                on_step=lambda label: bar.update(task, description=label),
            )
    else:
        result = run_demo(
            current, orders=orders, seed=seed, out_dir=target, end=end, import_files=not no_import
        )
    _print_files(result)
    if result.imports:
        _print_imports(result)
        with warehouse(current) as con, app_db(current) as session:
            ledger = load_demo_consent(con, session, current, target, now=datetime.now(UTC))
        console.print(f"consent ledger {FILE}: {ledger.recorded:,} recorded, {ledger.unchanged:,} unchanged")
    console.print(
        f"{result.spec.orders:,} orders · {result.people:,} people · {result.records:,} records · "
        f"history to {result.spec.end:%Y-%m-%d %H:%M} · generated in {result.generate_seconds:.1f}s, "
        f"written in {result.write_seconds:.1f}s"
        + (
            f", imported in {result.import_seconds:.1f}s ({result.rows_quarantined:,} rows quarantined)"
            if result.imports
            else ""
        )
    )


app.command("demo")(demo_command)
