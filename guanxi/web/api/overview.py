"""``/v1/me`` and ``/v1/overview``."""

from __future__ import annotations

from fastapi import APIRouter

from guanxi.appdb.roles import PERMISSIONS
from guanxi.web.api.schemas import MonthPublic, OverviewPublic, PrincipalPublic
from guanxi.web.auth import CanView, CurrentUser
from guanxi.web.overview import orders_per_month, overview
from guanxi.web.state import State

router = APIRouter(tags=["overview"])


@router.get("/me", summary="Who am I")
def me(principal: CurrentUser) -> PrincipalPublic:
    """Who the request is authenticated as, and what the role allows."""
    return PrincipalPublic(
        kind=principal.kind,
        name=principal.name,
        display_name=principal.display_name,
        role=principal.role,
        permissions=sorted(p.value for p in PERMISSIONS[principal.role]),
    )


@router.get("/overview", summary="Dashboard figures")
def dashboard_figures(principal: CanView, state: State) -> OverviewPublic:
    """The dashboard's figures: counts, paid revenue (defined once in guanxi.measures, see docs/web.md), orders per month."""
    with state.warehouse_connection() as con:
        figures = overview(con, state.settings)
        months = orders_per_month(con, state.settings)
    return OverviewPublic(
        customer_records=figures.customer_records,
        customers=figures.customers,
        orders=figures.orders,
        paid_revenue=figures.paid_revenue,
        currency=figures.currency,
        tickets=figures.tickets,
        events=figures.events,
        orders_per_month=[
            MonthPublic(month=m.month, orders=m.orders, paid_revenue=m.paid_revenue) for m in months
        ],
    )
