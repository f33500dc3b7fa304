"""Finding and running reports: every plugin's definitions, by name.

:func:`registered_reports` collects the ``register_reports`` hook (built-ins
first; two reports of the same name are refused). :func:`run_report` runs one
in the warehouse and returns its rows as plain values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pluggy
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.errors import ConfigError, NotFoundError, ValidationFailedError
from guanxi.plugins import collect, plugin_manager
from guanxi.reports.definition import ReportDefinition, ReportParams

NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

Cell = str | int | float | Decimal | date | datetime | bool | None


@dataclass(frozen=True)
class ReportResult:
    """A report's rows, each a tuple in the order of ``definition.columns``."""

    definition: ReportDefinition
    params: ReportParams
    rows: list[tuple[Cell, ...]]

    def records(self) -> list[dict[str, Cell]]:
        keys = [column.key for column in self.definition.columns]
        return [dict(zip(keys, row, strict=True)) for row in self.rows]


def registered_reports(pm: pluggy.PluginManager | None = None) -> dict[str, ReportDefinition]:
    """Every report by name, in plugin order. Raises :class:`ConfigError` for a bad or repeated name."""
    pm = pm or plugin_manager()
    found: dict[str, ReportDefinition] = collect(
        pm.hook.register_reports, what="report", name=lambda report: report.name, pm=pm
    )
    for name in found:
        if not NAME.match(name):
            raise ConfigError(f"report name {name!r} must be lower-case letters, digits and _")
    return found


def get_report(name: str, pm: pluggy.PluginManager | None = None) -> ReportDefinition:
    """The report called ``name``; :class:`NotFoundError` lists the known ones."""
    reports = registered_reports(pm)
    if name not in reports:
        raise NotFoundError(f"no report {name!r}; choose one of {', '.join(reports) or 'none'}")
    return reports[name]


def _plain(value: Any) -> Cell:
    if value is None or isinstance(value, str | int | float | Decimal | date | datetime | bool):
        return value if not (isinstance(value, float) and value != value) else None
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return str(value)


def run_report(
    definition: ReportDefinition, con: BaseBackend, settings: Settings, params: ReportParams | None = None
) -> ReportResult:
    """Run ``definition`` in the warehouse; the rows with exactly its columns, sorted by ``order_by``.

    Raises :class:`ValidationFailedError` for a period that ends before it
    starts or a series of fewer than one month, :class:`ConfigError` when the
    report's table lacks a declared column.
    """
    params = params or ReportParams()
    if params.start and params.end and params.end < params.start:
        raise ValidationFailedError(f"the period ends ({params.end}) before it starts ({params.start})")
    if params.months < 1 or params.months > 240:
        raise ValidationFailedError("months must be between 1 and 240")
    table = definition.build(con, settings, params)
    keys = [column.key for column in definition.columns]
    missing = [key for key in keys if key not in table.columns]
    if missing:
        raise ConfigError(f"report {definition.name!r} does not compute {', '.join(missing)}")
    table = table.select(*keys)
    if definition.order_by:
        table = table.order_by(list(definition.order_by))
    rows = [tuple(_plain(v) for v in row.values()) for row in table.to_pyarrow().to_pylist()]
    return ReportResult(definition, params, rows)
