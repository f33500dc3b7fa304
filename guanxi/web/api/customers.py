"""``/v1/customers``: the golden-record list with search, and one customer's 360 view."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from guanxi.errors import NotFoundError
from guanxi.identity import IdentityInputError
from guanxi.web.api.imports import page_public
from guanxi.web.api.schemas import PagePublic
from guanxi.web.auth import CanView
from guanxi.web.customers import MAX_QUERY, customer_view, list_customers, search_customers
from guanxi.web.state import State

router = APIRouter(tags=["customers"])
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
PerPage = Annotated[int, Query(ge=1, le=500)]
CustomerId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/customers", summary="List or search customers")
def customers(
    principal: CanView,
    state: State,
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
    page: PageNumber = 1,
    per_page: PerPage = 25,
) -> PagePublic:
    """Golden records, most recently seen first. ``q``: a customer id, phone or e-mail (the one customer it
    names, or the candidates when it names several) or the start of a name."""
    with state.warehouse_connection() as con:
        found = search_customers(con, state.settings, q, page=page, per_page=per_page)
        if found.customer_id is not None:
            return page_public(list_customers(con, customer_ids=[found.customer_id], per_page=per_page))
    if found.problem == "customers.bad_key":
        raise IdentityInputError(found.detail)
    if found.results is None:
        raise NotFoundError(found.detail or f"no customer for {q!r}")
    return page_public(found.results)


@router.get("/customers/{customer_id}", summary="Customer 360")
def customer(principal: CanView, state: State, customer_id: CustomerId) -> dict[str, Any]:
    """Everything about one customer: golden record, source records, identifiers, values per source,
    timeline, companies, merge history and per-customer scores, segments and tags. A merged id answers
    with its survivor and ``redirected_from``; a split id is a ``customer_retired`` error."""
    with state.warehouse_connection() as con:
        return customer_view(con, state.settings, customer_id)
