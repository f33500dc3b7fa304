"""A customer model of the plugin: ``weekend_share``, the share of a buyer's purchases paid on Sat/Sun."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel, ConfigDict

from guanxi.models.declared import ConfigSection, ModelDefinition, RunContext


class WeekendConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True


def weekend_share(ctx: RunContext[WeekendConfig]) -> ir.Table:
    bought = ctx.bought
    weekend = bought.paid_at.day_of_week.index() >= 5  # Monday is 0
    flagged = bought.mutate(weekend=ibis.cases((weekend, 1), else_=0))
    return flagged.group_by("customer_id").aggregate(
        weekend_share=(flagged.weekend.sum() / flagged.count()).cast("float64")
    )


WEEKEND = ModelDefinition(
    name="weekend",
    columns={"weekend_share": "float64"},
    compute=weekend_share,
    config=ConfigSection(
        "weekend",
        WeekendConfig,
        can_disable=True,
        template="weekend:\n  enabled: true  # share of purchases paid on weekends\n",
    ),
)
