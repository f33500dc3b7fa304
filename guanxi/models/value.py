"""Customer value: contribution, the Pareto curve, the value pyramid, a 0–100 score.

* **contribution** — net revenue of purchases paid in the window (refunds
  subtracted), or its gross margin: each item's net amount (the order's refunded
  share taken off) times its category's margin rate.
* **Pareto** — customers ranked by contribution (largest first, ties broken by
  customer_id); ``pareto_cum_share`` is the running share of total contribution
  up to and including the customer; ``pareto_top`` marks the customers needed to
  reach ``pareto_share`` (their running share *before* them is below it).
* **pyramid** — a customer whose rank (1 + the number of customers with a
  strictly larger contribution; ties share the better rank) is within
  ``⌈n · cumulative share⌉`` of a tier's cumulative share falls in that tier.
* **value score** — ``100 × cume_dist(contribution)``: the share of buyers with a
  contribution no larger than the customer's (the top buyer scores 100).

Customers with no contribution in the window (no purchase, or not positive) get no
row; the run (:data:`MODEL`) writes them with score 0 and no tier, and reports the
share of customers that make the Pareto share.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from guanxi.errors import ConfigError
from guanxi.models.config import ValueConfig
from guanxi.models.declared import ConfigSection, ModelDefinition, RunContext
from guanxi.models.inputs import MONEY, cutoff, window_start


def _in_window(rows: ir.Table, as_of: date, window_days: int | None) -> ir.Table:
    start = window_start(as_of, window_days)
    rows = rows.filter(rows.paid_at < cutoff(as_of))
    return rows if start is None else rows.filter(rows.paid_at >= start)


def contribution(purchases: ir.Table, items: ir.Table, *, as_of: date, config: ValueConfig) -> ir.Table:
    """customer_id, contribution (decimal(18, 2)) for customers with a positive contribution."""
    if config.contribution == "revenue":
        rows = _in_window(purchases, as_of, config.window_days)
        sums = rows.group_by("customer_id").aggregate(contribution=rows.net_amount.sum())
    else:
        rows = _in_window(items, as_of, config.window_days)
        rate = ibis.literal(config.default_margin_rate, "float64")
        if config.margin_rates:
            rate = ibis.cases(
                *(
                    (rows.category == name, ibis.literal(r, "float64"))
                    for name, r in config.margin_rates.items()
                ),
                else_=rate,
            )
        margin = rows.item_amount.cast("float64") * rows.kept_share * rate
        sums = rows.group_by("customer_id").aggregate(contribution=margin.sum())
    sums = sums.filter(sums.contribution > 0)
    return sums.select("customer_id", contribution=sums.contribution.cast(MONEY))


def value_scores(contributions: ir.Table, *, config: ValueConfig) -> ir.Table:
    """Pareto position, pyramid tier and value score for each contributing customer.

    Columns: customer_id, contribution, value_rank, pareto_cum_share,
    pareto_top, value_tier, value_score.
    """
    c = contributions
    amount = c.contribution.cast("float64")
    running = ibis.window(order_by=[ibis.desc(c.contribution), c.customer_id], preceding=None, following=0)
    everyone = ibis.window()
    total = amount.sum().over(everyone)
    cum = amount.sum().over(running)
    n = c.count().over(everyone)
    rank = ibis.rank().over(ibis.window(order_by=ibis.desc(c.contribution))) + 1
    shaped = c.mutate(
        value_rank=rank.cast("int64"),
        pareto_cum_share=cum / total,
        pareto_top=(cum - amount) / total < config.pareto_share,
        value_score=(ibis.cume_dist().over(ibis.window(order_by=c.contribution)) * 100).round(1),
        _n=n,
    )
    bounds: list[tuple[str, float]] = []
    running_share = 0.0
    for tier in config.pyramid:
        running_share += tier.share
        bounds.append((tier.name, running_share))
    tier = ibis.cases(
        *(
            (shaped.value_rank <= (shaped._n.cast("float64") * share).ceil(), ibis.literal(name))
            for name, share in bounds[:-1]
        ),
        else_=ibis.literal(bounds[-1][0]),
    )
    return shaped.select(
        "customer_id",
        "contribution",
        "value_rank",
        "pareto_cum_share",
        "pareto_top",
        value_tier=tier,
        value_score="value_score",
    )


def pareto_customer_share(values: ir.Table) -> ir.FloatingScalar:
    """The share of contributing customers needed to reach the Pareto share (0..1)."""
    return values.count(where=values.pareto_top).cast("float64") / values.count().cast("float64")


def pareto_curve(values: ir.Table, *, points: int = 20) -> ir.Table:
    """The Pareto curve at ``points`` evenly spaced customer shares.

    Columns: customer_share (0..1, the top k/points of customers) and
    revenue_share (their share of total contribution).
    """
    if points < 1:
        raise ConfigError(f"a Pareto curve needs at least one point, got {points}")
    n = values.count().over(ibis.window())
    position = (
        ibis.row_number().over(ibis.window(order_by=[ibis.desc(values.contribution), values.customer_id])) + 1
    )
    bucket = ((position * points).cast("float64") / n.cast("float64")).ceil().cast("int64")
    shaped = values.mutate(_bucket=bucket, _share=values.contribution.cast("float64"))
    per_bucket = shaped.group_by("_bucket").aggregate(_amount=shaped._share.sum())
    running = ibis.window(order_by=per_bucket._bucket, preceding=None, following=0)
    return per_bucket.select(
        customer_share=per_bucket._bucket.cast("float64") / points,
        revenue_share=per_bucket._amount.sum().over(running) / per_bucket._amount.sum().over(ibis.window()),
    ).order_by("customer_share")


def _compute(ctx: RunContext[ValueConfig]) -> ir.Table:
    amounts = contribution(ctx.bought, ctx.items, as_of=ctx.as_of, config=ctx.config)
    return ctx.keep("value", value_scores(amounts, config=ctx.config))


def _summarise(ctx: RunContext[ValueConfig], scores: ir.Table) -> None:
    """The share of contributing customers that make the Pareto share, in the report."""
    values = ctx.parts.get("value")
    if values is None:
        return
    with ctx.ws.timed("report"):
        share = pareto_customer_share(values).execute()
    ctx.report.pareto_customer_share = None if share is None or share != share else round(float(share), 4)


MODEL = ModelDefinition(
    name="value",
    columns={
        "contribution": "decimal(18, 2)",
        "value_rank": "int64",
        "pareto_cum_share": "float64",
        "pareto_top": "boolean",
        "value_tier": "string",
        "value_score": "float64",
    },
    compute=_compute,
    config=ConfigSection("value", ValueConfig),
    snapshot=("value_tier", "value_score"),
    fill={"value_score": 0.0},
    after_write=_summarise,
)
"""Customer value as a declared model (see :mod:`guanxi.models.declared`)."""
