"""The business measures, defined once: paid order, paid revenue, active, new and returning customers.

Every measure is an Ibis expression over rows shaped like ``raw_orders`` (the dashboard passes
the raw table; the customer models pass it before normalising it in
:func:`guanxi.models.inputs.normalised_orders`), so the dashboard, the models, segments and
reports count the same orders and the same money, in the warehouse, on every backend.

Columns read: ``status``, ``paid_at``, ``paid_amount``, ``total_amount``, ``discount_amount``,
``refund_amount`` (and ``currency`` for :func:`in_currency`; the customer key columns for the
customer measures). Timestamps are naive wall-clock times in ``Settings.timezone``, as the
warehouse stores them; dates are calendar dates in that zone. Money is ``decimal(18, 2)`` in the
order's own currency; nothing converts currencies. Nothing reads the clock: the as-of date or
the cut-off instant is always an argument.

**Paid order** — ``paid_at`` is set (and before the cut-off, when one is given) *and* the status
is ``paid``, ``shipped``, ``delivered`` or ``refunded``. Both are needed: a paid-like status
without ``paid_at`` is not paid (it cannot be dated), and ``created``, ``unpaid`` and
``cancelled`` orders never count, even with a ``paid_at``.

**Amount** — ``paid_amount``; else ``total_amount − discount_amount`` (a missing discount is 0);
else 0.

**Refund** — ``refund_amount`` (never below 0) capped at the amount, so an over-refund refunds
the amount and no more; the whole amount for a ``refunded`` order without a refund amount.

**Net amount** — amount − refund (between 0 and the amount).

**Paid revenue** — Σ net amount over paid orders; 0.00 when there are none.

**Paid orders** — the number of paid orders, fully refunded ones included.

**Purchase** — a paid order with a positive net amount (a fully refunded order is paid but is
not a purchase). "Bought" below means made a purchase.

**Active customer** as of date D over N days — bought in the N calendar days ending with D
(paid at or after D − (N − 1) 00:00 and before D + 1 00:00).

**New customer** in the period start … end (calendar dates, both included) — the customer's first
purchase falls in the period.

**Returning customer** in the period — bought in the period and bought before it started.
New and returning customers of a period are disjoint; together they are the customers who
bought in it.

Customers are told apart by the key columns ``by`` (``customer_id`` — orders joined to
``identity_map``, as :func:`guanxi.models.inputs.attach_customer` does — or e.g.
``("source", "source_customer_id")`` for records before resolution). Orders with a NULL key
belong to no customer (NULL matches nothing, as in :mod:`guanxi.portable`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import ibis
import ibis.expr.types as ir

PAID_STATUSES = ("paid", "shipped", "delivered", "refunded")
"""Statuses of an order that was paid (a refunded order was paid first)."""

UNPAID_STATUSES = ("created", "unpaid")
"""Statuses of an order still waiting for payment."""

MONEY = "decimal(18, 2)"
"""The type of every amount."""

CUSTOMER: tuple[str, ...] = ("customer_id",)
"""The default customer key of the customer measures."""


def cutoff(as_of: date) -> datetime:
    """The first instant after ``as_of`` (naive, wall clock): rows strictly before it count."""
    return datetime.combine(as_of + timedelta(days=1), time())


def window_start(as_of: date, window_days: int | None) -> datetime | None:
    """The first instant of a window of ``window_days`` days ending with ``as_of`` (None = unbounded).

    A 365-day window as of 2024-12-31 starts at 2024-01-02 00:00, so it holds
    exactly 365 calendar days including the as-of date.
    """
    if window_days is None:
        return None
    return datetime.combine(as_of - timedelta(days=window_days - 1), time())


def _zero() -> ir.DecimalValue:
    return ibis.literal(0).cast(MONEY)


def is_paid(orders: ir.Table, *, before: datetime | None = None) -> ir.BooleanValue:
    """Whether each order is a paid order (paid before ``before`` when given)."""
    paid = orders.paid_at.notnull() & orders.status.isin(PAID_STATUSES)
    return paid if before is None else paid & (orders.paid_at < before)


def order_amount(orders: ir.Table) -> ir.DecimalValue:
    """What each order is for: ``paid_amount``, else total − discount, else 0."""
    zero = _zero()
    fallback = orders.total_amount - ibis.coalesce(orders.discount_amount, zero)
    return ibis.coalesce(orders.paid_amount, fallback, zero).cast(MONEY)


def order_refund(orders: ir.Table) -> ir.DecimalValue:
    """What was given back: ``refund_amount`` within 0 … amount; the amount for a refunded order without one."""
    amount = order_amount(orders)
    zero = _zero()
    refund = ibis.cases(
        ((orders.status == "refunded") & orders.refund_amount.isnull(), amount),
        else_=ibis.least(ibis.coalesce(orders.refund_amount, zero), amount),
    ).cast(MONEY)
    return ibis.greatest(refund, zero)


def net_amount(orders: ir.Table) -> ir.DecimalValue:
    """Amount − refund of each order (what it brought in if it is paid)."""
    return (order_amount(orders) - order_refund(orders)).cast(MONEY)


def counts_as_purchase(paid: ir.BooleanValue, net: ir.NumericValue) -> ir.BooleanValue:
    """The purchase rule on computed columns: a paid order with a positive net amount."""
    return paid & (net > 0)


def is_purchase(orders: ir.Table, *, before: datetime | None = None) -> ir.BooleanValue:
    """Whether each order is a purchase (paid before ``before`` when given)."""
    return counts_as_purchase(is_paid(orders, before=before), net_amount(orders))


def in_currency(orders: ir.Table, currency: str) -> ir.BooleanValue:
    """Whether each order is in ``currency`` (case-insensitive) or names no currency."""
    return orders.currency.isnull() | (orders.currency.upper() == currency.upper())


def paid_orders(orders: ir.Table, *, before: datetime | None = None) -> ir.Table:
    """The paid orders among ``orders``, with their ``net_amount`` added."""
    paid = orders.filter(is_paid(orders, before=before))
    return paid.mutate(net_amount=net_amount(paid))


def paid_revenue(orders: ir.Table, *, before: datetime | None = None) -> ir.DecimalScalar:
    """Σ net amount of the paid orders among ``orders`` (0.00 when none)."""
    paid = paid_orders(orders, before=before)
    return ibis.coalesce(paid.net_amount.sum(), _zero())


def paid_order_count(orders: ir.Table, *, before: datetime | None = None) -> ir.IntegerScalar:
    """The number of paid orders among ``orders``, fully refunded ones included."""
    return orders.filter(is_paid(orders, before=before)).count()


def purchases(orders: ir.Table, *, before: datetime | None = None) -> ir.Table:
    """The purchases among ``orders``, with their ``net_amount`` added."""
    bought = orders.filter(is_purchase(orders, before=before))
    return bought.mutate(net_amount=net_amount(bought))


def _buyers(orders: ir.Table, before: datetime, by: Sequence[str]) -> ir.Table:
    """One row per customer who bought before ``before``: key, ``first_paid_at``, ``last_paid_at``."""
    if not by:
        raise ValueError("the customer measures need at least one key column")
    bought = purchases(orders, before=before)
    bought = bought.filter(*[bought[c].notnull() for c in by])
    return bought.group_by(list(by)).aggregate(
        first_paid_at=bought.paid_at.min(), last_paid_at=bought.paid_at.max()
    )


def active_customers(orders: ir.Table, *, as_of: date, days: int, by: Sequence[str] = CUSTOMER) -> ir.Table:
    """The customers (columns ``by``) who bought in the ``days`` days ending with ``as_of``.

    Raises ``ValueError`` when ``days`` is below 1.
    """
    if days < 1:
        raise ValueError(f"an activity window is at least 1 day, not {days}")
    buyers = _buyers(orders, cutoff(as_of), by)
    return buyers.filter(buyers.last_paid_at >= window_start(as_of, days)).select(*by)


def _period(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start:
        raise ValueError(f"a period ends on or after its start ({start} … {end})")
    return datetime.combine(start, time()), cutoff(end)


def new_customers(orders: ir.Table, *, start: date, end: date, by: Sequence[str] = CUSTOMER) -> ir.Table:
    """The customers (columns ``by``) whose first purchase falls in ``start`` … ``end`` (both included).

    Raises ``ValueError`` when ``end`` is before ``start``.
    """
    begin, before = _period(start, end)
    buyers = _buyers(orders, before, by)
    return buyers.filter(buyers.first_paid_at >= begin).select(*by)


def returning_customers(
    orders: ir.Table, *, start: date, end: date, by: Sequence[str] = CUSTOMER
) -> ir.Table:
    """The customers (columns ``by``) who bought in ``start`` … ``end`` and had bought before ``start``.

    Raises ``ValueError`` when ``end`` is before ``start``.
    """
    begin, before = _period(start, end)
    buyers = _buyers(orders, before, by)
    return buyers.filter(buyers.first_paid_at < begin, buyers.last_paid_at >= begin).select(*by)
