"""数据质量: the data-quality report of the warehouse, shown as tables."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guanxi.ingest.quality import quality_report
from guanxi.web.auth import CanView
from guanxi.web.pages import render
from guanxi.web.report_tables import report_sections
from guanxi.web.state import State

router = APIRouter()


@router.get("/quality")
def quality(request: Request, principal: CanView, state: State) -> Response:
    now = state.clock().astimezone(state.settings.zone).replace(tzinfo=None)
    with state.warehouse_connection() as con:
        report = quality_report(con, state.settings, now=now).to_dict()
    facts, tables = report_sections(report)
    return render(request, state, "quality.html", {"facts": facts, "tables": tables}, section="quality")
