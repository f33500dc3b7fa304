"""``/v1/quality``: the data-quality report as JSON."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from guanxi.ingest.quality import quality_report
from guanxi.web.auth import CanView
from guanxi.web.state import State

router = APIRouter(tags=["quality"])


@router.get("/quality", summary="Data-quality report")
def quality(principal: CanView, state: State) -> dict[str, Any]:
    """Every section of the warehouse's data-quality report (completeness, invalid and duplicate contacts …)."""
    now = state.clock().astimezone(state.settings.zone).replace(tzinfo=None)
    with state.warehouse_connection() as con:
        report: dict[str, Any] = quality_report(con, state.settings, now=now).to_dict()
    return report
