"""仪表盘: headline counts, orders per month, the latest imports."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guanxi.web import display
from guanxi.web.auth import CanView
from guanxi.web.charts import Bar, bar_chart
from guanxi.web.i18n import translator
from guanxi.web.overview import orders_per_month, overview, recent_batches
from guanxi.web.pages import locale_of, render
from guanxi.web.state import State

router = APIRouter()


@router.get("/")
def dashboard(request: Request, principal: CanView, state: State) -> Response:
    with state.warehouse_connection() as con:
        figures = overview(con, state.settings)
        months = orders_per_month(con, state.settings)
        batches = recent_batches(con)
    t = translator(locale_of(request, state))
    bars = [
        Bar(
            label=f"{m.month:%Y-%m}",
            value=m.orders,
            hint=t(
                "dashboard.chart_hint",
                month=f"{m.month:%Y-%m}",
                orders=display.format_count(m.orders),
                revenue=display.format_money(m.paid_revenue, state.settings.currency),
            ),
        )
        for m in months
    ]
    chart = bar_chart(bars, title=t("dashboard.orders_per_month"), empty_text=t("dashboard.no_orders"))
    return render(
        request,
        state,
        "dashboard.html",
        {"figures": figures, "chart": chart, "months": months, "batches": batches},
        section="dashboard",
    )
