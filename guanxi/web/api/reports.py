"""``/v1/reports``: every registered report, and one report's rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from guanxi.reports.definition import ReportDefinition, ReportParams
from guanxi.reports.registry import get_report, registered_reports, run_report
from guanxi.web.auth import CanView
from guanxi.web.pages import locale_of
from guanxi.web.state import State

router = APIRouter(tags=["reports"])


class ReportColumnPublic(BaseModel):
    key: str
    kind: str
    title: str


class ReportPublic(BaseModel):
    name: str
    title: str
    description: str
    tags: list[str]
    columns: list[ReportColumnPublic]


class ReportRowsPublic(BaseModel):
    report: ReportPublic
    start: date | None
    end: date | None
    months: int
    rows: list[dict[str, Any]]


def _public(definition: ReportDefinition, locale: str) -> ReportPublic:
    return ReportPublic(
        name=definition.name,
        title=definition.title(locale),
        description=definition.description(locale),
        tags=list(definition.tags),
        columns=[
            ReportColumnPublic(key=c.key, kind=c.kind, title=c.title(locale)) for c in definition.columns
        ],
    )


def _json(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


@router.get("/reports", summary="Reports")
def list_reports(request: Request, principal: CanView, state: State) -> list[ReportPublic]:
    """Every report guanxi and its plugins define, titled in the caller's language."""
    locale = locale_of(request, state)
    return [_public(definition, locale) for definition in registered_reports().values()]


@router.get("/reports/{name}", summary="One report's rows")
def report_rows(
    name: str,
    request: Request,
    principal: CanView,
    state: State,
    start: date | None = None,
    end: date | None = None,
    months: Annotated[int, Query(ge=1, le=240)] = 12,
) -> ReportRowsPublic:
    """The report's table for a period (money as decimal strings, dates as ISO dates)."""
    definition = get_report(name)
    params = ReportParams(start=start, end=end, months=months)
    with state.warehouse_connection() as con:
        result = run_report(definition, con, state.settings, params)
    return ReportRowsPublic(
        report=_public(definition, locale_of(request, state)),
        start=start,
        end=end,
        months=months,
        rows=[{k: _json(v) for k, v in row.items()} for row in result.records()],
    )
