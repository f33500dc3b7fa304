"""A plugin model for the tests: purchases in the last N days, declared the way a third party would.

``recent_orders`` adds ``orders_last_30d`` (int64, also kept in the snapshot;
0 for customers without a recent purchase) computed from the run's purchases,
with its own ``recent_orders`` section of models.yaml (``window_days``, default
30; it can be disabled).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import ibis.expr.types as ir
from pydantic import BaseModel, ConfigDict, Field

from guanxi.models.declared import ConfigSection, ModelDefinition, RunContext
from guanxi.plugins import hookimpl


class RecentOrdersConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    window_days: int = Field(30, gt=0)


TEMPLATE = """recent_orders:
  enabled: true
  window_days: 30           # purchases paid in the last N days, the as-of date included
"""


def recent_orders(ctx: RunContext[RecentOrdersConfig]) -> ir.Table:
    start = datetime.combine(ctx.as_of - timedelta(days=ctx.config.window_days - 1), time.min)
    recent = ctx.bought.filter(ctx.bought.paid_at >= start)
    return recent.group_by("customer_id").aggregate(orders_last_30d=recent.count())


RECENT_ORDERS = ModelDefinition(
    name="recent_orders",
    columns={"orders_last_30d": "int64"},
    compute=recent_orders,
    config=ConfigSection("recent_orders", RecentOrdersConfig, can_disable=True, template=TEMPLATE),
    snapshot=("orders_last_30d",),
    fill={"orders_last_30d": 0},
)


class ModelsPlugin:
    """A plugin object whose ``register_models`` returns the definitions it was given."""

    def __init__(self, *definitions: ModelDefinition[Any]) -> None:
        self.definitions = list(definitions)

    @hookimpl
    def register_models(self) -> list[ModelDefinition[Any]]:
        return self.definitions


def recent_orders_plugin() -> ModelsPlugin:
    return ModelsPlugin(RECENT_ORDERS)
