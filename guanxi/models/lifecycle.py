"""Lifecycle stage: acquisition → growth → maturity → decline → churned.

Judged on all purchases up to the as-of date (no window):

* **acquisition** — a customer (lead) with no purchase;
* **churned** — no purchase for more than ``churn_factor`` expected intervals;
* **decline** — no purchase for more than ``decline_factor`` expected intervals;
* **growth** — otherwise, with at most ``growth_max_purchases`` purchases;
* **maturity** — otherwise.

The **expected interval** is the customer's own mean gap between purchase days
(``(last − first) / (days − 1)``) when they have at least
``own_interval_min_purchases`` purchase days, else the population's: the median
of the own mean gaps of customers with two or more purchase days
(``default_interval_days`` when there are none). It is never below
``min_interval_days``. "More than" is strict: a customer exactly at
``decline_factor`` intervals is not yet declining.

Transitions compare a run's stages with the latest earlier snapshot (see
:func:`stage_transitions`); the declared model (:data:`MODEL`) writes them to
``lifecycle_transitions`` after the scores (a re-run for a date replaces that
date's rows; the first run records none).
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from guanxi import portable
from guanxi.models.config import LifecycleConfig
from guanxi.models.declared import ConfigSection, ModelDefinition, RunContext
from guanxi.models.outputs import LIFECYCLE_TRANSITIONS
from guanxi.tables import conform

STAGES = ("acquisition", "growth", "maturity", "decline", "churned")


def purchase_rhythm(days: ir.Table, *, as_of: date) -> ir.Table:
    """customer_id, purchases, purchase_days, first_date, last_date, own_interval_days (null below 2 days)."""
    rows = days.filter(days.paid_date <= as_of)
    per = rows.group_by("customer_id").aggregate(
        purchases=rows.orders.sum().cast("int64"),
        purchase_days=rows.count().cast("int64"),
        first_date=rows.paid_date.min(),
        last_date=rows.paid_date.max(),
    )
    span = per.last_date.delta(per.first_date, unit="day").cast("float64")
    own = ibis.cases(
        (per.purchase_days >= 2, span / (per.purchase_days - 1).cast("float64")), else_=ibis.null("float64")
    )
    return per.mutate(own_interval_days=own)


def population_interval(rhythm: ir.Table, config: LifecycleConfig) -> ir.FloatingScalar:
    """Median own interval of customers with two or more purchase days (default when none)."""
    repeaters = rhythm.filter(rhythm.own_interval_days.notnull())
    return ibis.coalesce(repeaters.own_interval_days.median(), config.default_interval_days)


def lifecycle_stages(
    customers: ir.Table, rhythm: ir.Table, *, as_of: date, config: LifecycleConfig
) -> ir.Table:
    """One row per customer in ``customers`` (needs a customer_id column).

    Columns: customer_id, lifecycle_stage, purchases, days_since_last_purchase,
    expected_interval_days, interval_basis (own | population | null).
    """
    population = population_interval(rhythm, config).as_scalar()
    joined = customers.select("customer_id").left_join(rhythm, "customer_id")
    joined = joined.select("customer_id", "purchases", "purchase_days", "last_date", "own_interval_days")
    uses_own = joined.purchase_days >= config.own_interval_min_purchases
    interval = ibis.greatest(
        ibis.cases((uses_own, joined.own_interval_days), else_=population), config.min_interval_days
    )
    since = ibis.literal(as_of).delta(joined.last_date, unit="day").cast("int64")
    bought = joined.last_date.notnull()
    shaped = joined.mutate(
        _since=since,
        _interval=ibis.cases((bought, interval), else_=ibis.null("float64")),
        _basis=ibis.cases((bought & uses_own, "own"), (bought, "population"), else_=ibis.null("string")),
    )
    stage = ibis.cases(
        (~bought, "acquisition"),
        (shaped._since.cast("float64") > config.churn_factor * shaped._interval, "churned"),
        (shaped._since.cast("float64") > config.decline_factor * shaped._interval, "decline"),
        (shaped.purchases <= config.growth_max_purchases, "growth"),
        else_="maturity",
    )
    return shaped.select(
        "customer_id",
        lifecycle_stage=stage,
        purchases=ibis.coalesce(shaped.purchases, 0).cast("int64"),
        days_since_last_purchase=shaped._since,
        expected_interval_days=shaped._interval.round(2),
        interval_basis=shaped._basis,
    )


def stage_transitions(current: ir.Table, previous: ir.Table, *, column: str = "lifecycle_stage") -> ir.Table:
    """Customers whose ``column`` differs from the previous snapshot.

    ``current``: customer_id and ``column``; ``previous``: customer_id and
    ``column`` from the latest earlier snapshot. A customer absent from the
    previous snapshot transitions from null. Columns: customer_id, from_value,
    to_value.
    """
    prev = previous.select("customer_id", from_value=previous[column])
    joined = current.select("customer_id", to_value=current[column]).left_join(prev, "customer_id")
    joined = joined.select("customer_id", "from_value", "to_value")
    changed = joined.from_value.isnull() | (joined.from_value != joined.to_value)
    return joined.filter(changed & joined.to_value.notnull())


def _compute(ctx: RunContext[LifecycleConfig]) -> ir.Table:
    rhythm = purchase_rhythm(ctx.days, as_of=ctx.as_of)
    return ctx.keep("lifecycle", lifecycle_stages(ctx.customers, rhythm, as_of=ctx.as_of, config=ctx.config))


def _write_transitions(ctx: RunContext[LifecycleConfig], scores: ir.Table) -> None:
    """Replace the as-of date's rows of ``lifecycle_transitions``; the count goes in the report."""
    with ctx.ws.timed("write_transitions"):
        portable.delete_where(ctx.con, LIFECYCLE_TRANSITIONS.name, as_of=ctx.as_of)
        if ctx.previous_date is None:
            ctx.report.lifecycle_transitions = 0
            return
        moved = stage_transitions(scores, ctx.previous)
        rows = moved.select(
            "customer_id",
            from_stage=moved.from_value,
            to_stage=moved.to_value,
            from_as_of=ibis.literal(ctx.previous_date),
            as_of=ibis.literal(ctx.as_of),
            run_id=ibis.literal(ctx.run_id),
        )
        ctx.con.insert(LIFECYCLE_TRANSITIONS.name, conform(rows, LIFECYCLE_TRANSITIONS))
        written = ctx.con.table(LIFECYCLE_TRANSITIONS.name)
        ctx.report.lifecycle_transitions = int(written.filter(written.as_of == ctx.as_of).count().execute())


MODEL = ModelDefinition(
    name="lifecycle",
    columns={
        "lifecycle_stage": "string",
        "purchases": "int64",
        "days_since_last_purchase": "int64",
        "expected_interval_days": "float64",
        "interval_basis": "string",
    },
    compute=_compute,
    config=ConfigSection("lifecycle", LifecycleConfig),
    snapshot=("lifecycle_stage",),
    after_write=_write_transitions,
)
"""The lifecycle stage as a declared model (see :mod:`guanxi.models.declared`)."""
