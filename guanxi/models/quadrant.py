"""Frequency × average order value quadrant (groups A–E) and migration between snapshots.

Over purchases paid in the window, each buyer has a purchase **frequency** and an
**average order value** (net amount / purchases). With thresholds (configured,
or the mean / median over the window's buyers), "at or above" is high:

=====  ===================================  ======================================
group  rule                                 reading
=====  ===================================  ======================================
A      high frequency, high order value     core customers: keep and reward
B      high frequency, low order value      loyal small baskets: cross-sell, bundle
C      low frequency, high order value      big occasional buyers: bring back sooner
D      low frequency, low order value       casual buyers: nurture or leave
E      bought before the window, not in it  lapsed: win back
=====  ===================================  ======================================

Customers who never bought get no group.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from guanxi.models.config import QuadrantConfig
from guanxi.models.declared import ConfigSection, ModelDefinition, RunContext
from guanxi.models.inputs import MONEY, cutoff, window_start

NO_VALUE = "(none)"
"""How a missing value shows in a migration matrix (a customer new or gone)."""


def quadrant_groups(purchases: ir.Table, *, as_of: date, config: QuadrantConfig) -> ir.Table:
    """customer_id, quadrant_frequency, average_order_value, quadrant_group for every buyer ever."""
    ever = purchases.filter(purchases.paid_at < cutoff(as_of))
    start = window_start(as_of, config.window_days)
    in_window = ever.paid_at >= start if start is not None else ibis.literal(True)
    per = ever.group_by("customer_id").aggregate(
        _freq=ever.count(where=in_window),
        _spend=ever.net_amount.sum(where=in_window),
    )
    buyers = per.filter(per._freq > 0)
    aov = per._spend.cast("float64") / per._freq.cast("float64")
    per = per.mutate(_aov=ibis.cases((per._freq > 0, aov), else_=ibis.null("float64")))
    buyer_aov = buyers._spend.cast("float64") / buyers._freq.cast("float64")
    if config.split == "mean":
        freq_cut = buyers._freq.cast("float64").mean()
        aov_cut = buyer_aov.mean()
    else:
        freq_cut = buyers._freq.cast("float64").median()
        aov_cut = buyer_aov.median()
    f_threshold = (
        ibis.literal(config.frequency_threshold) if config.frequency_threshold else freq_cut.as_scalar()
    )
    a_threshold = ibis.literal(config.aov_threshold) if config.aov_threshold else aov_cut.as_scalar()
    high_f = per._freq.cast("float64") >= f_threshold
    high_a = per._aov >= a_threshold
    group = ibis.cases(
        (per._freq == 0, "E"),
        (high_f & high_a, "A"),
        (high_f, "B"),
        (high_a, "C"),
        else_="D",
    )
    return per.select(
        "customer_id",
        quadrant_frequency=per._freq.cast("int64"),
        average_order_value=per._aov.round(2).cast(MONEY),
        quadrant_group=group,
    )


def migration_matrix(before: ir.Table, after: ir.Table, *, column: str) -> ir.Table:
    """How many customers moved from each value of ``column`` to each other value.

    ``before`` and ``after`` are snapshots (customer_id and ``column``); a
    customer present in only one of them moves from / to ``(none)``. Columns:
    from_value, to_value, customers, share_of_from (of the from_value's
    customers, 0..1), ordered by from_value, to_value.
    """
    b = before.select("customer_id", from_value=before[column].cast("string"))
    a = after.select("customer_id", to_value=after[column].cast("string"))
    joined = b.outer_join(a, "customer_id")
    pairs = joined.select(
        from_value=ibis.coalesce(joined.from_value, NO_VALUE),
        to_value=ibis.coalesce(joined.to_value, NO_VALUE),
    )
    counts = pairs.group_by("from_value", "to_value").aggregate(customers=pairs.count())
    per_from = counts.customers.sum().over(ibis.window(group_by=counts.from_value))
    return counts.mutate(
        share_of_from=(counts.customers.cast("float64") / per_from.cast("float64")).round(4)
    ).order_by("from_value", "to_value")


def _compute(ctx: RunContext[QuadrantConfig]) -> ir.Table:
    return ctx.keep("quadrant", quadrant_groups(ctx.bought, as_of=ctx.as_of, config=ctx.config))


MODEL = ModelDefinition(
    name="quadrant",
    columns={
        "quadrant_frequency": "int64",
        "average_order_value": "decimal(18, 2)",
        "quadrant_group": "string",
    },
    compute=_compute,
    config=ConfigSection("quadrant", QuadrantConfig),
    snapshot=("quadrant_group",),
)
"""The frequency × order value quadrant as a declared model (see :mod:`guanxi.models.declared`)."""
