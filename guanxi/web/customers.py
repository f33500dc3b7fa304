"""Customers read from the warehouse: the golden-record list, search, and one customer's 360 view.

Filtering and paging run in the warehouse (Ibis expressions, no SQL text);
a page is at most ``per_page`` rows. Everything here is read-only, except that
looking a key up creates the (empty) identity tables when they are missing,
as :func:`guanxi.identity.find_customer` does.

A search names a customer by id, phone (any common spelling) or e-mail and is
answered by :func:`guanxi.identity.find_customer`; anything else is a name
prefix. Problems a person can fix (unknown key, a phone shared by several
customers, a split customer, an unreadable key) come back as a
:class:`CustomerSearch` with a catalogue key, never as an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import ibis
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.errors import NotFoundError
from guanxi.identity import (
    AmbiguousKeyError,
    CustomerRetiredError,
    IdentityInputError,
    customer_360,
    find_customer,
)
from guanxi.tables import CUSTOMERS
from guanxi.web.batches import Page

LIST_COLUMNS = ("customer_id", "name", "phone", "city", "sources", "record_count", "last_seen_at")
"""The golden-record columns the list shows."""

MAX_QUERY = 200
"""Longest search text accepted, in characters."""

_KEY_LIKE = re.compile(r"^(?:(?:id|phone|email)\s*:.*|.*@.*|[\d\s+\-().]+)$", re.IGNORECASE | re.DOTALL)


def has_customers(con: BaseBackend) -> bool:
    """Whether the golden-record table exists (``guanxi resolve`` has run at least once)."""
    return CUSTOMERS.name in con.list_tables()


def no_customers_error() -> NotFoundError:
    return NotFoundError("there are no customers yet; run `guanxi resolve` first")


def mask_phone(phone: str | None) -> str:
    """A phone for lists, middle digits hidden: ``+8613812345678`` → ``138****5678``.

    A mainland number loses its ``+86``; other numbers keep their first three
    and last four digits (``+44 20 7946 0958`` → ``442****0958``); seven
    digits or fewer keep only the last two. ``None`` or no digits → ``—``.
    """
    if not phone:
        return "—"
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not digits:
        return "—"
    if len(digits) <= 7:
        return "*" * max(len(digits) - 2, 0) + digits[-2:]
    return f"{digits[:3]}****{digits[-4:]}"


def looks_like_key(query: str) -> bool:
    """Whether a search text names one customer (id, phone, e-mail, or an ``id:``/``phone:``/``email:`` prefix)
    rather than the start of a name."""
    return bool(_KEY_LIKE.match(query.strip()))


def list_customers(
    con: BaseBackend,
    *,
    name_prefix: str | None = None,
    customer_ids: list[int] | None = None,
    page: int = 1,
    per_page: int = 25,
) -> Page[dict[str, Any]]:
    """Golden records, most recently seen first (then by id), optionally only names starting
    with ``name_prefix`` or only ``customer_ids``. Raises :class:`NotFoundError` before the first resolve."""
    if not has_customers(con):
        raise no_customers_error()
    customers = con.table(CUSTOMERS.name)
    if name_prefix:
        customers = customers.filter(customers.name.startswith(name_prefix))
    if customer_ids is not None:
        customers = customers.filter(customers.customer_id.isin(customer_ids))
    total = int(customers.count().execute())
    ordered = customers.order_by(
        [ibis.desc(customers.last_seen_at, nulls_first=False), customers.customer_id]
    ).select(*LIST_COLUMNS)
    rows: list[dict[str, Any]] = (
        ordered.limit(per_page, offset=(page - 1) * per_page).to_pyarrow().to_pylist()
    )
    return Page(rows, page, per_page, total)


@dataclass(frozen=True)
class CustomerSearch:
    """What a search found: one customer (``customer_id``), a page of customers, or a problem.

    ``problem`` is a catalogue key (``customers.not_found``, ``customers.ambiguous``,
    ``customers.split``, ``customers.bad_key``) and ``detail`` the underlying
    message; ``results`` then lists the candidates, if any.
    """

    query: str
    results: Page[dict[str, Any]] | None = None
    customer_id: int | None = None
    problem: str | None = None
    detail: str = ""
    candidates: list[int] = field(default_factory=list)


def search_customers(
    con: BaseBackend, settings: Settings, query: str, *, page: int = 1, per_page: int = 25
) -> CustomerSearch:
    """Answer a search box (see the module docstring). Raises :class:`NotFoundError` before the first resolve."""
    if not has_customers(con):
        raise no_customers_error()
    text = query.strip()[:MAX_QUERY]
    if not text:
        return CustomerSearch(text, list_customers(con, page=page, per_page=per_page))
    if not looks_like_key(text):
        return CustomerSearch(text, list_customers(con, name_prefix=text, page=page, per_page=per_page))
    try:
        customer_id, _ = find_customer(con, settings, text)
    except AmbiguousKeyError as err:
        found = list_customers(con, customer_ids=err.candidates, page=page, per_page=per_page)
        return CustomerSearch(text, found, None, "customers.ambiguous", err.message, err.candidates)
    except CustomerRetiredError as err:
        found = list_customers(con, customer_ids=err.successors, page=page, per_page=per_page)
        return CustomerSearch(text, found, None, "customers.split", err.message, err.successors)
    except IdentityInputError as err:
        return CustomerSearch(text, problem="customers.bad_key", detail=err.message)
    except NotFoundError as err:
        return CustomerSearch(text, problem="customers.not_found", detail=err.message)
    return CustomerSearch(text, customer_id=customer_id)


def customer_view(con: BaseBackend, settings: Settings, customer_id: int) -> dict[str, Any]:
    """``customer_360(…).to_dict()`` for the id ``customer_id`` (read as an id, never as a phone).

    A merged id answers with its survivor (``redirected_from`` set). Raises
    :class:`NotFoundError` (also before the first resolve) and
    :class:`CustomerRetiredError` for a split id.
    """
    if not has_customers(con):
        raise no_customers_error()
    view: dict[str, Any] = customer_360(con, settings, f"id:{customer_id}").to_dict()
    return view
