"""``guanxi report …``: list the reports every plugin registers, run one as a table, CSV or JSON.

Parse, call :mod:`guanxi.reports.registry`, print. Errors print as
``error [code]: message`` and exit with status 2.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from guanxi.cli.context import console, fails_cleanly, settings, warehouse
from guanxi.reports.definition import ReportColumn, ReportParams
from guanxi.reports.registry import ReportResult, get_report, registered_reports, run_report

app = typer.Typer(help="Reports: list them, run one as a table, CSV or JSON.", no_args_is_help=True)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


DateOption = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"])]
LangOption = Annotated[str | None, typer.Option("--lang", help="zh-CN or en (default: GUANXI_LOCALE).")]


@app.command("list")
@fails_cleanly
def list_command(lang: LangOption = None) -> None:
    """Every report, with its title and what it shows."""
    locale = lang or settings().locale
    table = Table(title="reports")
    for heading in ("name", "title", "description"):
        table.add_column(heading)
    for report in registered_reports().values():
        table.add_row(report.name, report.title(locale), report.description(locale))
    console.print(table)


def _shown(value: Any, column: ReportColumn, currency: str) -> str:
    if value is None:
        return "—"
    if column.kind == "money":
        return f"{Decimal(str(value)):,.2f} {currency}"
    if column.kind == "count":
        return f"{int(value):,}"
    if column.kind == "share":
        return f"{float(value):.1%}"
    if column.kind == "number":
        return f"{float(value):,.4g}"
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _print(result: ReportResult, output: Format, locale: str, currency: str) -> None:
    columns = result.definition.columns
    if output is Format.json:
        records = [{k: _json_value(v) for k, v in row.items()} for row in result.records()]
        sys.stdout.write(json.dumps({"report": result.definition.name, "rows": records}, ensure_ascii=False))
        sys.stdout.write("\n")
    elif output is Format.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow([column.key for column in columns])
        writer.writerows([[_json_value(v) for v in row] for row in result.rows])
    else:
        table = Table(title=result.definition.title(locale))
        for column in columns:
            table.add_column(
                column.title(locale), justify="left" if column.kind in ("text", "date") else "right"
            )
        for row in result.rows:
            table.add_row(*[_shown(v, c, currency) for v, c in zip(row, columns, strict=True)])
        console.print(table)


@app.command("show")
@fails_cleanly
def show_command(
    name: Annotated[str, typer.Argument(help="The report's name (see `guanxi report list`).")],
    output: Annotated[Format, typer.Option("--format", help="table, csv or json.")] = Format.table,
    start: DateOption = None,
    end: DateOption = None,
    months: Annotated[int, typer.Option(help="Months in a monthly series.")] = 12,
    lang: LangOption = None,
) -> None:
    """Run one report in the warehouse and print it."""
    current = settings()
    definition = get_report(name)
    params = ReportParams(
        start=start.date() if start else None, end=end.date() if end else None, months=months
    )
    with warehouse(current) as con:
        result = run_report(definition, con, current, params)
    _print(result, output, lang or current.locale, current.currency)
