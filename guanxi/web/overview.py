"""The dashboard's figures, computed in the warehouse with Ibis.

Each figure is one aggregate query; only the small results (a few numbers, at
most one row per month) come back to Python.

*Paid revenue* is :func:`guanxi.measures.paid_revenue` — the net amount of the
paid orders, exactly as the customer models count it — over the orders in the
configured currency (or naming none, :func:`guanxi.measures.in_currency`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import ibis
from ibis.backends import BaseBackend

from guanxi import measures
from guanxi.config import Settings
from guanxi.tables import CUSTOMERS, IMPORT_BATCHES, RAW_CUSTOMERS, RAW_EVENTS, RAW_ORDERS, RAW_TICKETS


@dataclass(frozen=True)
class Overview:
    """Headline counts. ``customers`` is ``None`` until identity resolution has run."""

    customer_records: int
    customers: int | None
    orders: int
    paid_revenue: Decimal
    tickets: int
    events: int
    currency: str


@dataclass(frozen=True)
class MonthlyOrders:
    month: date
    """First day of the month (wall-clock, configured zone)."""
    orders: int
    paid_revenue: Decimal


def _count(con: BaseBackend, name: str) -> int:
    return int(con.table(name).count().execute())


def _in_currency(orders: ibis.Table, settings: Settings) -> ibis.Table:
    return orders.filter(measures.in_currency(orders, settings.currency))


def overview(con: BaseBackend, settings: Settings) -> Overview:
    """Counts of customer records, orders, tickets, events and the paid revenue."""
    orders = con.table(RAW_ORDERS.name)
    revenue = measures.paid_revenue(_in_currency(orders, settings)).to_pyarrow().as_py()
    customers = _count(con, CUSTOMERS.name) if CUSTOMERS.name in con.list_tables() else None
    return Overview(
        customer_records=_count(con, RAW_CUSTOMERS.name),
        customers=customers,
        orders=int(orders.count().execute()),
        paid_revenue=Decimal(str(revenue)) if revenue is not None else Decimal("0.00"),
        tickets=_count(con, RAW_TICKETS.name),
        events=_count(con, RAW_EVENTS.name),
        currency=settings.currency,
    )


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def orders_per_month(con: BaseBackend, settings: Settings, *, months: int = 12) -> list[MonthlyOrders]:
    """Orders created per month (and their paid revenue) for the ``months`` months up to the latest order.

    A month's paid revenue is that of the orders *created* in it (so the bar and its
    revenue describe the same orders), by :func:`guanxi.measures.paid_revenue`'s rules.

    Months without orders appear with zero, so the series has exactly
    ``months`` entries — or none when there are no orders.
    """
    orders = con.table(RAW_ORDERS.name)
    dated = orders.filter(orders.created_at.notnull())
    latest = dated.created_at.max().to_pyarrow().as_py()
    if latest is None:
        return []
    last = date(latest.year, latest.month, 1)
    first = add_months(last, -(months - 1))
    window = dated.filter(dated.created_at >= ibis.timestamp(first.isoformat() + " 00:00:00"))
    window = window.mutate(month=window.created_at.truncate("M"))
    counts = window.group_by("month").aggregate(orders=window.count())
    paid = measures.paid_orders(_in_currency(window, settings))
    revenue = paid.group_by("month").aggregate(paid_revenue=paid.net_amount.sum())
    by_month: dict[date, dict[str, Any]] = {}
    for row in counts.to_pyarrow().to_pylist():
        by_month.setdefault(_month_key(row["month"]), {})["orders"] = row["orders"]
    for row in revenue.to_pyarrow().to_pylist():
        by_month.setdefault(_month_key(row["month"]), {})["paid_revenue"] = row["paid_revenue"]
    series = []
    for offset in range(months):
        month = add_months(first, offset)
        found = by_month.get(month, {})
        series.append(
            MonthlyOrders(
                month=month,
                orders=int(found.get("orders") or 0),
                paid_revenue=Decimal(str(found.get("paid_revenue") or "0.00")),
            )
        )
    return series


def _month_key(value: Any) -> date:
    return date(value.year, value.month, 1)


def recent_batches(con: BaseBackend, *, limit: int = 5) -> list[dict[str, Any]]:
    """The newest import batches, newest first."""
    batches = con.table(IMPORT_BATCHES.name)
    newest = batches.order_by([batches.started_at.desc(), batches.batch_id.desc()]).limit(limit)
    rows: list[dict[str, Any]] = newest.to_pyarrow().to_pylist()
    return rows
