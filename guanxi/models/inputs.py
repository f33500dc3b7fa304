"""What the models read: raw rows joined to customers, with money normalised.

Every raw row reaches a customer through ``identity_map`` on
``(source, source_customer_id)``; rows of records not in the map (not yet
resolved) are left out. Timestamps are naive wall-clock times in
``Settings.timezone``; a run *as of* a date sees everything before the end of that
date (``< as_of + 1 day``).

What a **paid order** is, its **amount**, **refund** and **net amount**, and what a
**purchase** is are defined once in :mod:`guanxi.measures` (the dashboard counts the
same); this module puts them in columns (``is_paid``, ``amount``, ``refund``,
``net_amount``) so every model reads them from one normalised table. In short: paid =
``paid_at`` set and status ``paid``, ``shipped``, ``delivered`` or ``refunded``; amount
= ``paid_amount``, else total − discount; refund capped at the amount (the whole amount
for a ``refunded`` order without one); a purchase is a paid order with a positive net
amount, so a fully refunded order is a paid order but not a purchase.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi import measures
from guanxi.errors import NotFoundError
from guanxi.measures import MONEY, PAID_STATUSES, UNPAID_STATUSES, cutoff, window_start

__all__ = [
    "MONEY",
    "PAID_STATUSES",
    "UNPAID_STATUSES",
    "attach_customer",
    "customer_events",
    "customer_items",
    "customer_orders",
    "customer_tickets",
    "cutoff",
    "keyed_items",
    "normalised_orders",
    "orders_before",
    "paid_orders",
    "purchases",
    "table",
    "window_start",
]
"""``MONEY``, the statuses, ``cutoff`` and ``window_start`` come from :mod:`guanxi.measures`."""


def table(con: BaseBackend, name: str) -> ir.Table:
    """A warehouse table, or :class:`NotFoundError` naming what must run first."""
    if name not in con.list_tables():
        producer = "guanxi resolve" if name in {"identity_map", "customers"} else "guanxi import"
        raise NotFoundError(f"the warehouse has no table {name!r}; run `{producer}` first")
    return con.table(name)


def attach_customer(raw: ir.Table, identity_map: ir.Table) -> ir.Table:
    """``raw`` rows with their ``customer_id`` (inner join on the record)."""
    ids = identity_map.select("source", "source_customer_id", "customer_id")
    return raw.join(ids, ["source", "source_customer_id"])


def normalised_orders(raw_orders: ir.Table, identity_map: ir.Table) -> ir.Table:
    """Every order of a resolved customer with money normalised, whatever its dates.

    Same columns as :func:`customer_orders`; ``is_paid`` ignores the as-of
    cut-off (apply :func:`orders_before` for a run). Independent of the as-of
    date, so it can be kept between runs and updated per record.
    """
    o = raw_orders
    shaped = o.select(
        "source",
        "source_customer_id",
        "order_id",
        "status",
        "created_at",
        "paid_at",
        "delivered_at",
        "channel",
        is_paid=measures.is_paid(o),
        amount=measures.order_amount(o),
        refund=measures.order_refund(o),
        net_amount=measures.net_amount(o),
        discount=ibis.coalesce(o.discount_amount, ibis.literal(0).cast(MONEY)).cast(MONEY),
    )
    joined = attach_customer(shaped, identity_map)
    return joined.mutate(paid_date=joined.paid_at.date())


def orders_before(orders: ir.Table, before: datetime) -> ir.Table:
    """:func:`normalised_orders` as seen at ``before``: created (or paid) earlier, paid only if paid earlier."""
    seen = orders.filter(ibis.coalesce(orders.created_at, orders.paid_at) < before)
    return seen.mutate(is_paid=seen.is_paid & (seen.paid_at < before))


def customer_orders(raw_orders: ir.Table, identity_map: ir.Table, *, before: datetime) -> ir.Table:
    """Every order created (or paid) before ``before``, with money normalised.

    Columns: customer_id, source, source_customer_id, order_id, status,
    created_at, paid_at, delivered_at, paid_date, is_paid, amount, refund,
    net_amount, discount, channel. Amount columns are ``decimal(18, 2)``; ``discount`` is
    ``discount_amount`` (0 when missing).
    """
    return orders_before(normalised_orders(raw_orders, identity_map), before)


def paid_orders(orders: ir.Table) -> ir.Table:
    """The paid orders among :func:`customer_orders` (fully refunded ones included)."""
    return orders.filter(orders.is_paid)


def purchases(orders: ir.Table) -> ir.Table:
    """Paid orders with a positive net amount: what RFM, CLV and lifecycle count."""
    return orders.filter(measures.counts_as_purchase(orders.is_paid, orders.net_amount))


def customer_items(raw_order_items: ir.Table, paid: ir.Table) -> ir.Table:
    """Items of paid orders, with the order's customer, paid time and refund share.

    Columns: customer_id, paid_at, category, brand, quantity, price,
    item_amount, kept_share.

    ``kept_share`` is the order's net/amount ratio (float), used to net item
    amounts of partly refunded orders; ``amount`` is the item amount
    (``quantity × price`` when missing).
    """
    return keyed_items(raw_order_items, paid).drop("source", "order_id")


def keyed_items(raw_order_items: ir.Table, paid: ir.Table) -> ir.Table:
    """:func:`customer_items` with the order key (``source``, ``order_id``) kept."""
    items = raw_order_items
    item_amount = ibis.coalesce(items.amount, (items.price * items.quantity).cast(MONEY))
    shaped = items.select(
        "source",
        "order_id",
        "category",
        "brand",
        "quantity",
        "price",
        item_amount=item_amount.cast(MONEY),
    )
    orders = paid.select(
        "source",
        "order_id",
        "customer_id",
        "paid_at",
        kept_share=ibis.cases(
            (paid.amount > 0, paid.net_amount.cast("float64") / paid.amount.cast("float64")),
            else_=0.0,
        ),
    )
    joined = shaped.join(orders, ["source", "order_id"])
    return joined.select(
        "customer_id",
        "source",
        "order_id",
        "paid_at",
        "category",
        "brand",
        "quantity",
        "price",
        "item_amount",
        "kept_share",
    )


def customer_events(raw_events: ir.Table, identity_map: ir.Table, *, before: datetime) -> ir.Table:
    """Events of resolved customers that occurred before ``before``."""
    events = raw_events.filter(raw_events.occurred_at < before).select(
        "source", "source_customer_id", "event_id", "type", "event", "occurred_at", "channel"
    )
    return attach_customer(events, identity_map)


def customer_tickets(raw_tickets: ir.Table, identity_map: ir.Table, *, before: datetime) -> ir.Table:
    """Service tickets of resolved customers created before ``before``."""
    tickets = raw_tickets.filter(raw_tickets.created_at < before).select(
        "source", "source_customer_id", "ticket_id", "order_id", "kind", "created_at"
    )
    return attach_customer(tickets, identity_map)
