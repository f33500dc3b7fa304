"""Loyalty (how often and how regularly) and activity (how recently busy) scores, 0–100.

**Purchase days.** Rhythm is measured on purchase *days* (several orders on one
date are one visit), so split shipments do not look like a burst of loyalty.

**Loyalty** over the loyalty window:
``100 × (w_f · min(1, purchases / frequency_saturation) + w_r · regularity) / (w_f + w_r)``
where *purchases* counts purchase orders and *regularity* is
``1 / (1 + CV)`` of the gaps between consecutive purchase days (CV = population
standard deviation / mean). Regularity needs at least two gaps (three purchase
days); with fewer it is 0.

**Activity**:
``100 × (w_o · min(1, purchases in the order window / order_saturation)
+ w_e · min(1, events in the event window / event_saturation)) / (w_o + w_e)``.

**Two-factor group**: value score and activity score against ``high_score`` →
``high_value_active``, ``high_value_inactive``, ``low_value_active``,
``low_value_inactive``.

Declared as three models: :data:`LOYALTY`, :data:`ACTIVITY` and
:data:`VALUE_ACTIVITY` (the two-factor group, after value and activity, with
``activity.high_score``; a customer without either score counts 0 on it).
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from guanxi.errors import ConfigError
from guanxi.models.config import ActivityConfig, LoyaltyConfig
from guanxi.models.declared import ConfigSection, ModelDefinition, RunContext
from guanxi.models.inputs import cutoff, window_start
from guanxi.models.scoring import capped_ratio, score_100


def purchase_days(purchases: ir.Table) -> ir.Table:
    """customer_id, paid_date, orders, net_amount: one row per customer and purchase date."""
    return purchases.group_by("customer_id", "paid_date").aggregate(
        orders=purchases.count(), net_amount=purchases.net_amount.sum()
    )


def loyalty_scores(days: ir.Table, *, as_of: date, config: LoyaltyConfig) -> ir.Table:
    """customer_id, loyalty_purchases, regularity, loyalty_score for buyers in the window."""
    rows = days.filter(days.paid_date <= as_of)
    start = window_start(as_of, config.window_days)
    if start is not None:
        rows = rows.filter(rows.paid_date >= start.date())
    previous = rows.paid_date.lag().over(ibis.window(group_by=rows.customer_id, order_by=rows.paid_date))
    gaps = rows.mutate(_gap=rows.paid_date.delta(previous, unit="day").cast("float64"))
    per_customer = gaps.group_by("customer_id").aggregate(
        loyalty_purchases=gaps.orders.sum().cast("int64"),
        _gaps=gaps._gap.count(),
        _mean=gaps._gap.mean(),
        _std=gaps._gap.std(how="pop"),
    )
    cv = ibis.cases((per_customer._mean > 0, per_customer._std / per_customer._mean), else_=0.0)
    regularity = ibis.cases((per_customer._gaps >= 2, 1.0 / (1.0 + cv)), else_=0.0)
    frequency = capped_ratio(per_customer.loyalty_purchases, config.frequency_saturation)
    weights = config.frequency_weight + config.regularity_weight
    blended = (config.frequency_weight * frequency + config.regularity_weight * regularity) / weights
    return per_customer.select(
        "customer_id",
        "loyalty_purchases",
        regularity=regularity.round(4),
        loyalty_score=score_100(blended),
    )


def activity_scores(
    purchases: ir.Table, events: ir.Table, *, as_of: date, config: ActivityConfig
) -> ir.Table:
    """customer_id, recent_purchases, recent_events, activity_score for customers with either."""
    end = cutoff(as_of)
    order_start = window_start(as_of, config.order_window_days)
    event_start = window_start(as_of, config.event_window_days)
    recent_orders = purchases.filter((purchases.paid_at >= order_start) & (purchases.paid_at < end))
    recent_events = events.filter((events.occurred_at >= event_start) & (events.occurred_at < end))
    orders = recent_orders.group_by("customer_id").aggregate(recent_purchases=recent_orders.count())
    acts = recent_events.group_by("customer_id").aggregate(recent_events=recent_events.count())
    both = orders.outer_join(acts, "customer_id")
    both = both.select(
        customer_id=ibis.coalesce(both.customer_id, both.customer_id_right),
        recent_purchases=ibis.coalesce(both.recent_purchases, 0).cast("int64"),
        recent_events=ibis.coalesce(both.recent_events, 0).cast("int64"),
    )
    weights = config.order_weight + config.event_weight
    blended = (
        config.order_weight * capped_ratio(both.recent_purchases, config.order_saturation)
        + config.event_weight * capped_ratio(both.recent_events, config.event_saturation)
    ) / weights
    return both.mutate(activity_score=score_100(blended))


def two_factor_group(
    value_score: ir.FloatingValue, activity_score: ir.FloatingValue, high: float
) -> ir.StringValue:
    """The value × activity group for the two scores (nulls count as 0)."""
    high_value = ibis.coalesce(value_score, 0.0) >= high
    active = ibis.coalesce(activity_score, 0.0) >= high
    return ibis.cases(
        (high_value & active, "high_value_active"),
        (high_value, "high_value_inactive"),
        (active, "low_value_active"),
        else_="low_value_inactive",
    )


def _loyalty(ctx: RunContext[LoyaltyConfig]) -> ir.Table:
    return ctx.keep("loyalty", loyalty_scores(ctx.days, as_of=ctx.as_of, config=ctx.config))


def _activity(ctx: RunContext[ActivityConfig]) -> ir.Table:
    return ctx.keep("activity", activity_scores(ctx.bought, ctx.events, as_of=ctx.as_of, config=ctx.config))


def _value_activity(ctx: RunContext[None]) -> ir.Table | None:
    """The two-factor group of every customer with a value or an activity score (others: ``fill``)."""
    settings = ctx.models_config.section("activity")
    if not isinstance(settings, ActivityConfig):
        raise ConfigError("the two-factor group needs the activity section (ActivityConfig)")
    scored = [
        ctx.parts[name].select("customer_id", column)
        for name, column in (("value", "value_score"), ("activity", "activity_score"))
        if name in ctx.parts
    ]
    if not scored:
        return None
    both = scored[0]
    if len(scored) == 2:
        joined = scored[0].outer_join(scored[1], "customer_id")
        both = joined.select(
            customer_id=ibis.coalesce(joined.customer_id, joined.customer_id_right),
            value_score=joined.value_score,
            activity_score=joined.activity_score,
        )
    value_score = both.value_score if "value_score" in both.columns else ibis.null("float64")
    activity_score = both.activity_score if "activity_score" in both.columns else ibis.null("float64")
    return both.select(
        "customer_id", value_activity=two_factor_group(value_score, activity_score, settings.high_score)
    )


LOYALTY = ModelDefinition(
    name="loyalty",
    columns={"loyalty_purchases": "int64", "regularity": "float64", "loyalty_score": "float64"},
    compute=_loyalty,
    config=ConfigSection("loyalty", LoyaltyConfig),
)
"""Loyalty as a declared model (see :mod:`guanxi.models.declared`)."""

ACTIVITY = ModelDefinition(
    name="activity",
    columns={"recent_purchases": "int64", "recent_events": "int64", "activity_score": "float64"},
    compute=_activity,
    config=ConfigSection("activity", ActivityConfig),
    snapshot=("activity_score",),
    fill={"activity_score": 0.0},
)
"""Activity as a declared model (see :mod:`guanxi.models.declared`)."""

VALUE_ACTIVITY = ModelDefinition(
    name="value_activity",
    columns={"value_activity": "string"},
    compute=_value_activity,
    snapshot=("value_activity",),
    after=("value", "activity"),
    fill={"value_activity": "low_value_inactive"},  # neither score: both count as 0
)
"""The two-factor value × activity group as a declared model (reads ``activity.high_score``)."""
