"""客户: the customer list with its search box, and one customer's 360 page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from guanxi.identity import CustomerRetiredError
from guanxi.web.auth import CanView
from guanxi.web.customers import (
    MAX_QUERY,
    has_customers,
    mask_phone,
    search_customers,
)
from guanxi.web.customers import customer_view as load_customer
from guanxi.web.pages import flash, locale_of, render
from guanxi.web.report_tables import table_of
from guanxi.web.state import DbSession, State
from guanxi.web.ui.journeys import customer_journeys

router = APIRouter()
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
CustomerId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PROFILE_ORDER = ("customer_scores", "customer_segments", "segment_memberships", "customer_tags")
"""Profile tables shown first; the others follow in the order the 360 view gives them."""


@router.get("/customers")
def customers(
    request: Request,
    principal: CanView,
    state: State,
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
    page: PageNumber = 1,
) -> Response:
    """The list; a search that names exactly one customer goes straight to its page."""
    with state.warehouse_connection() as con:
        if not has_customers(con):
            return render(request, state, "customers.html", {"ready": False, "q": q}, section="customers")
        found = search_customers(con, state.settings, q, page=page)
    if found.customer_id is not None:
        return RedirectResponse(f"/customers/{found.customer_id}", status_code=303)
    context: dict[str, object] = {
        "ready": True,
        "q": found.query,
        "search": found,
        "customers": found.results,
        "mask_phone": mask_phone,
    }
    return render(request, state, "customers.html", context, section="customers")


@router.get("/customers/{customer_id}")
def customer(
    request: Request, principal: CanView, state: State, session: DbSession, customer_id: CustomerId
) -> Response:
    """Customer 360 (with the customer's journeys); a merged id is redirected to its survivor, a split id to
    a list of its parts."""
    try:
        with state.warehouse_connection() as con:
            view = load_customer(con, state.settings, customer_id)
    except CustomerRetiredError:
        return RedirectResponse(f"/customers?q=id%3A{customer_id}", status_code=303)
    if view["redirected_from"] is not None:
        flash(request, "info", "customers.redirected", old=customer_id, new=view["customer_id"])
        return RedirectResponse(f"/customers/{view['customer_id']}", status_code=303)
    profile = view["profile"]
    names = [n for n in PROFILE_ORDER if n in profile] + [n for n in profile if n not in PROFILE_ORDER]
    context: dict[str, object] = {
        "c": view,
        "g": view["golden"],
        "profile": [table_of(name, name, profile[name]) for name in names],
        "source_values": table_of("source_values", "source_values", view["source_values"]),
        "history": table_of("history", "history", view["history"]),
        "sources": sorted({str(r["source"]) for r in view["records"]}),
        "journeys": customer_journeys(session, str(view["customer_id"]), locale_of(request, state)),
    }
    return render(request, state, "customers_360.html", context, section="customers")
