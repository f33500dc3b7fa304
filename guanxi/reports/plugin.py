"""The built-in reports, registered through the same ``register_reports`` hook as a plugin's."""

from __future__ import annotations

from guanxi.plugins import hookimpl
from guanxi.reports.definition import ReportDefinition
from guanxi.reports.sales import MONTHLY_SALES


@hookimpl
def register_reports() -> list[ReportDefinition]:
    return [MONTHLY_SALES]
