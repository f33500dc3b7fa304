"""``guanxi models …``: run the customer models, show a customer, show migrations.

Parse, call :mod:`guanxi.models`, print. Errors print as ``code: message`` and
exit with status 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from ibis.backends import BaseBackend
from rich.console import Console
from rich.table import Table

from guanxi.cli.jobs import run_job
from guanxi.config import get_settings
from guanxi.errors import GuanxiError
from guanxi.models import history
from guanxi.models.config import default_config_text
from guanxi.models.jobs import report_from_dict
from guanxi.models.quadrant import NO_VALUE
from guanxi.warehouse import connect

app = typer.Typer(
    help="Customer models: RFM, value, lifecycle, CLV, points, portrait …", no_args_is_help=True
)
console = Console()

DateOption = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="As-of date (YYYY-MM-DD).")]


@contextmanager
def _warehouse() -> Iterator[tuple[Any, BaseBackend]]:
    try:
        settings = get_settings()
        con = connect(settings)
    except GuanxiError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from err
    try:
        yield settings, con
    except GuanxiError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from err
    finally:
        con.disconnect()


@app.command("run")
def run_command(
    as_of: DateOption = None,
    config: Annotated[
        Path | None, typer.Option(help="A models.yaml to use instead of GUANXI_MODELS_CONFIG.")
    ] = None,
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental",
            help="Rebuild order tables only for records changed since the last run (same result as a full run).",
        ),
    ] = False,
) -> None:
    """Run every model as of a date (default today) and write scores, snapshots, ledger, tags.

    While ``guanxi serve`` or ``guanxi worker`` holds the warehouse, it runs there as a job.
    """
    if config is not None and not config.exists():
        console.print(f"[red]config_invalid: no such models file {config}[/red]")
        raise typer.Exit(1)
    params = {
        "as_of": as_of.date().isoformat() if as_of else None,
        "incremental": incremental,
        "config": str(config.absolute()) if config else None,
    }
    try:
        report = report_from_dict(run_job("models.run", params, title="models"))
    except GuanxiError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from err
    summary = Table(title=f"models run {report.run_id} as of {report.as_of}", show_header=False)
    summary.add_row("customers", f"{report.customers:,}")
    summary.add_row("buyers", f"{report.buyers:,}")
    if report.incremental:
        summary.add_row(
            "incremental: records / customers rebuilt",
            f"{report.refreshed_records or 0:,} / {report.refreshed_customers or 0:,}",
        )
    if report.pareto_customer_share is not None:
        summary.add_row("customers making 80 % of value", f"{report.pareto_customer_share:.1%}")
    if report.clv:
        c = report.clv
        summary.add_row("BG/NBD", f"r={c['r']:.3f} α={c['alpha']:.3f} a={c['a']:.3f} b={c['b']:.3f}")
        summary.add_row("Gamma-Gamma", f"p={c['p']:.3f} q={c['q']:.3f} γ={c['gamma']:.3f}")
    summary.add_row("points ledger entries written", f"{report.ledger_entries:,}")
    summary.add_row("lifecycle transitions", f"{report.lifecycle_transitions:,}")
    summary.add_row("tier changes", f"{report.tier_changes:,}")
    summary.add_row("seconds", f"{report.seconds:.2f}")
    console.print(summary)
    if report.segments:
        segments = Table(title="RFM segments")
        segments.add_column("segment")
        segments.add_column("customers", justify="right")
        for name, count in sorted(report.segments.items(), key=lambda kv: -kv[1]):
            segments.add_row(name, f"{count:,}")
        console.print(segments)
    if report.clusters:
        clusters = Table(title=f"portrait clusters (silhouette {report.silhouette})")
        clusters.add_column("cluster", justify="right")
        clusters.add_column("customers", justify="right")
        clusters.add_column("description")
        for cluster in report.clusters:
            clusters.add_row(str(cluster["cluster"]), f"{cluster['customers']:,}", str(cluster["label"]))
        console.print(clusters)
    for warning in report.warnings:
        console.print(f"[yellow]warning: {warning}[/yellow]")


@app.command("show")
def show_command(customer_id: Annotated[int, typer.Argument(help="The customer id.")]) -> None:
    """Show a customer's latest scores, tags, points and lifecycle history."""
    with _warehouse() as (_, con):
        profile = history.customer_profile(con, customer_id)
        scores = Table(title=f"customer {customer_id}", show_header=False)
        for name, value in profile.scores.items():
            if value is not None and name != "customer_id":
                scores.add_row(name, str(value))
        scores.add_row("points balance", f"{profile.points_balance:,}")
        console.print(scores)
        if profile.tags:
            tags = Table(title="tags")
            for column in ("model", "tag", "value", "weight"):
                tags.add_column(column)
            for tag in profile.tags:
                tags.add_row(str(tag["model"]), str(tag["tag"]), str(tag["value"]), f"{tag['weight']:.4g}")
            console.print(tags)
        if profile.ledger:
            ledger = Table(title="latest points entries")
            for column in ("occurred_at", "kind", "points", "entry_id", "expires_on"):
                ledger.add_column(column)
            for entry in profile.ledger:
                ledger.add_row(
                    *(str(entry[c]) for c in ("occurred_at", "kind", "points", "entry_id", "expires_on"))
                )
            console.print(ledger)
        if profile.transitions:
            moves = Table(title="lifecycle transitions")
            for column in ("from_as_of", "as_of", "from_stage", "to_stage"):
                moves.add_column(column)
            for move in profile.transitions:
                moves.add_row(*(str(move[c]) for c in ("from_as_of", "as_of", "from_stage", "to_stage")))
            console.print(moves)


@app.command("migration")
def migration_command(
    from_: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="Earlier snapshot date.")],
    to: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Later snapshot date.")],
    by: Annotated[
        str,
        typer.Option(
            help="Dimension: a label column of score_snapshots (quadrant_group, lifecycle_stage, rfm_segment …)."
        ),
    ] = "quadrant_group",
) -> None:
    """Show how many customers moved between groups from one snapshot to another."""
    with _warehouse() as (_, con):
        start, end = from_.date(), to.date()
        frame = history.migration(con, from_date=start, to_date=end, dimension=by).to_pandas()
        print_matrix(frame, title=f"{by}: {start} → {end}")


def print_matrix(frame: Any, *, title: str) -> None:
    """Print a long migration frame (from_value, to_value, customers) as a from × to matrix."""
    labels = sorted(set(frame.from_value) | set(frame.to_value), key=lambda v: (v == NO_VALUE, v))
    counts = {(r.from_value, r.to_value): int(r.customers) for r in frame.itertuples()}
    table = Table(title=title)
    table.add_column("from \\ to")
    for label in labels:
        table.add_column(label, justify="right")
    table.add_column("total", justify="right")
    for source in labels:
        row = [counts.get((source, target), 0) for target in labels]
        if any(row):
            table.add_row(source, *(f"{n:,}" if n else "·" for n in row), f"{sum(row):,}")
    console.print(table)


@app.command("defaults")
def defaults_command(
    write: Annotated[
        bool, typer.Option(help="Write the template to GUANXI_MODELS_CONFIG if it does not exist.")
    ] = False,
) -> None:
    """Print the models.yaml template: the shipped defaults and each plugin model's section (or write it)."""
    text = default_config_text()
    if not write:
        console.print(text, markup=False, highlight=False)
        return
    path = Path(get_settings().models_config)
    if path.exists():
        console.print(f"[red]config_invalid: {path} already exists; edit it or move it away first[/red]")
        raise typer.Exit(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    console.print(f"wrote {path}")
