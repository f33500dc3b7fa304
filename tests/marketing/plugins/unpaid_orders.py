"""A third-party plugin module adding the journey trigger ``order_unpaid_example`` (an order unpaid N minutes on).

It reads its own ``orders`` table (not the canonical ``raw_orders``), so it
shows what a plugin does: a params model, the window turned into the
warehouse's naive local time with :func:`local_window`, an unexecuted table.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import ibis.expr.types as ir
from ibis.backends import BaseBackend
from pydantic import BaseModel, ConfigDict, Field

from guanxi.config import Settings
from guanxi.marketing.triggers import TriggerKind, local_window
from guanxi.plugins import hookimpl

KIND = "order_unpaid_example"


class UnpaidParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minutes: int = Field(30, ge=1, description="Minutes after the order was placed.")


def unpaid_orders(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    """Orders created ``minutes`` before the window and still unpaid: one entry per order."""
    delay = timedelta(minutes=int(params["minutes"]))
    start, end = local_window(since, until, settings)
    orders = con.table("orders")
    due = orders.filter(
        orders.created_at >= start - delay,
        orders.created_at < end - delay,
        orders.paid_at.isnull(),
    )
    return due.select(
        customer_id=due.customer_id, occurrence_key=due.order_id, entered_at=due.created_at + delay
    )


@hookimpl
def register_journey_triggers() -> list[TriggerKind]:
    return [
        TriggerKind(KIND, unpaid_orders, "An order still unpaid `minutes` after it was placed", UnpaidParams)
    ]
