"""A plugin module adding the journey trigger ``order_unpaid`` (催付: an order still unpaid N minutes on)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.marketing.triggers import TriggerKind
from guanxi.plugins import hookimpl


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)  # the warehouse keeps UTC timestamps


def unpaid_orders(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any]
) -> ir.Table:
    """Orders created ``minutes`` before the window and still unpaid: one entry per order."""
    delay = timedelta(minutes=int(params.get("minutes", 30)))
    orders = con.table("orders")
    due = orders.filter(
        orders.created_at >= _utc(since - delay),
        orders.created_at < _utc(until - delay),
        orders.paid_at.isnull(),
    )
    return due.select(customer_id=due.customer_id, occurrence_key=due.order_id)


@hookimpl
def register_journey_triggers() -> list[TriggerKind]:
    return [TriggerKind("order_unpaid", unpaid_orders, "An order still unpaid `minutes` after it was placed")]
