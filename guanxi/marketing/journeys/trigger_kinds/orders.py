"""Order triggers: unpaid, paid, shipped, delivered and refunded, over ``raw_orders``.

Each order trigger fires at a moment of the order plus an optional delay, and
enters the order's customer once per order: occurrence ``<source>:<order_id>``
(the key the ``order_paid`` exit goal matches), ``entered_at`` the firing
moment. "Paid" is the shared definition :func:`guanxi.measures.is_paid`.

* ``order_unpaid`` — fires at ``created_at + minutes`` while the order is still
  unpaid (status ``created``/``unpaid``, not paid) when the pass runs;
* ``order_paid`` / ``order_shipped`` / ``order_delivered`` — fire at
  ``paid_at`` / ``shipped_at`` / ``delivered_at`` + ``after_days`` +
  ``after_minutes`` (shipped and delivered whatever the status is now);
* ``order_refunded`` — an order with status ``refunded`` or a positive
  ``refund_amount`` fires at the row's ``ingested_at`` + delay: the platforms
  give no refund time, so the moment the refund became known stands for it (a
  later re-import that changes the row fires it again, same occurrence key).

A parcel's arrival (``order_arrived``) is a logistics event: see :mod:`.events`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import ibis.expr.types as ir
from ibis.backends import BaseBackend
from pydantic import Field

from guanxi import measures
from guanxi.config import Settings
from guanxi.marketing.journeys.trigger_kinds.moments import StrictParams
from guanxi.marketing.journeys.trigger_kinds.sources import (
    existing,
    no_entries,
    record_key,
    shifted,
    with_customer,
)
from guanxi.marketing.triggers import TriggerKind, local_window
from guanxi.tables import RAW_ORDERS


class UnpaidParams(StrictParams):
    minutes: int = Field(15, ge=1, le=43_200, description="Minutes after the order was placed (催付 delay).")


class DelayParams(StrictParams):
    after_days: int = Field(0, ge=0, le=3660, description="Days after the moment before it fires.")
    after_minutes: int = Field(
        0, ge=0, le=525_600, description="Minutes after the moment (added to the days)."
    )


def _delay(params: Mapping[str, Any]) -> timedelta:
    return timedelta(days=int(params.get("after_days", 0)), minutes=int(params.get("after_minutes", 0)))


def _orders_at(
    con: BaseBackend,
    column: str,
    delay: timedelta,
    since: datetime,
    until: datetime,
    settings: Settings,
    condition: Any = None,
) -> ir.Table:
    """Orders whose ``column + delay`` lies in the window (and ``condition(orders)``), as entries."""
    tables = existing(con, RAW_ORDERS.name, "identity_map")
    if tables is None:
        return no_entries()
    orders = tables[0]
    start, end = local_window(since, until, settings)
    moment = orders[column]
    due = orders.filter(moment >= start - delay, moment < end - delay)
    if condition is not None:
        due = due.filter(condition(due))
    keyed = due.select(
        "source",
        "source_customer_id",
        occurrence_key=record_key(due, "order_id"),
        entered_at=shifted(due[column], delay),
    )
    joined = with_customer(con, keyed)
    return joined.select("customer_id", "occurrence_key", "entered_at")


def order_unpaid(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    def unpaid(orders: ir.Table) -> ir.BooleanValue:
        return orders.status.isin(measures.UNPAID_STATUSES) & ~measures.is_paid(orders)

    delay = timedelta(minutes=int(params["minutes"]))
    return _orders_at(con, "created_at", delay, since, until, settings, unpaid)


def order_paid(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    return _orders_at(con, "paid_at", _delay(params), since, until, settings, measures.is_paid)


def order_shipped(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    return _orders_at(con, "shipped_at", _delay(params), since, until, settings)


def order_delivered(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    return _orders_at(con, "delivered_at", _delay(params), since, until, settings)


def order_refunded(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    def refunded(orders: ir.Table) -> ir.BooleanValue:
        return (orders.status == "refunded") | (orders.refund_amount > 0)

    return _orders_at(con, "ingested_at", _delay(params), since, until, settings, refunded)


def order_triggers() -> list[TriggerKind]:
    return [
        TriggerKind(
            "order_unpaid", order_unpaid, "An order still unpaid `minutes` after it was placed", UnpaidParams
        ),
        TriggerKind("order_paid", order_paid, "An order was paid (after an optional delay)", DelayParams),
        TriggerKind(
            "order_shipped", order_shipped, "An order was shipped (after an optional delay)", DelayParams
        ),
        TriggerKind(
            "order_delivered",
            order_delivered,
            "An order was delivered (after an optional delay)",
            DelayParams,
        ),
        TriggerKind(
            "order_refunded", order_refunded, "A refund of an order became known (after a delay)", DelayParams
        ),
    ]
