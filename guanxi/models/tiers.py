"""Membership tiers: qualify by spend or points, upgrade at once, downgrade after a hold.

A customer *qualifies* for the highest level whose ``min`` is at or below their
net spend (``basis: spend``, yuan) or earned points (``basis: points``) over the
window ending on the as-of date. Against their tier in the latest earlier
snapshot:

* qualifying higher → **upgrade** now (``tier_since`` = the as-of date);
* qualifying lower → **downgrade** only once the tier has been held
  ``downgrade_after_days`` days, by at most ``downgrade_steps`` levels
  (``tier_since`` restarts); until then the tier is kept;
* otherwise the tier and its ``tier_since`` are kept.

A customer without an earlier tier (or with a tier no longer configured) takes
the qualifying tier from the as-of date. The declared model (:data:`MODEL`, can be
disabled, after ``points`` because it may read the ledger) records every change
in ``tier_changes`` (a re-run for a date replaces that date's rows).
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from guanxi import portable
from guanxi.models.config import TiersConfig
from guanxi.models.declared import ConfigSection, ModelDefinition, RunContext
from guanxi.models.inputs import cutoff, window_start
from guanxi.models.outputs import POINTS_LEDGER, TIER_CHANGES
from guanxi.tables import conform


def qualifying_amounts(
    purchases: ir.Table, ledger: ir.Table, *, as_of: date, config: TiersConfig
) -> ir.Table:
    """customer_id, tier_basis: spend (yuan) or earned points in the window."""
    start = window_start(as_of, config.window_days)
    end = cutoff(as_of)
    if config.basis == "spend":
        rows = purchases.filter((purchases.paid_at >= start) & (purchases.paid_at < end))
        return rows.group_by("customer_id").aggregate(tier_basis=rows.net_amount.sum().cast("float64"))
    rows = ledger.filter(
        (ledger.points > 0)
        & (ledger.kind != "expire")
        & (ledger.occurred_at >= start)
        & (ledger.occurred_at < end)
    )
    return rows.group_by("customer_id").aggregate(tier_basis=rows.points.sum().cast("float64"))


def _index_of(name: ir.StringValue, config: TiersConfig) -> ir.IntegerValue:
    return ibis.cases(
        *((name == level.name, ibis.literal(i, "int64")) for i, level in enumerate(config.levels)),
        else_=ibis.null("int64"),
    )


def _name_of(index: ir.IntegerValue, config: TiersConfig) -> ir.StringValue:
    return ibis.cases(*((index == i, ibis.literal(level.name)) for i, level in enumerate(config.levels)))


def member_tiers(
    customers: ir.Table, amounts: ir.Table, previous: ir.Table, *, as_of: date, config: TiersConfig
) -> ir.Table:
    """One row per customer: customer_id, member_tier, tier_since, tier_change (upgrade | downgrade | null).

    ``previous`` holds customer_id, member_tier, tier_since from the latest
    earlier snapshot (may be empty).
    """
    prev = previous.select("customer_id", _prev=previous.member_tier, _since=previous.tier_since)
    joined = customers.select("customer_id").left_join(amounts, "customer_id").left_join(prev, "customer_id")
    joined = joined.select("customer_id", "tier_basis", "_prev", "_since")
    basis = ibis.coalesce(joined.tier_basis, 0.0)
    qualified = ibis.cases(
        *(
            (basis >= level.min, ibis.literal(i, "int64"))
            for i, level in reversed(list(enumerate(config.levels)))
        ),
        else_=ibis.literal(0, "int64"),
    )
    current = _index_of(joined._prev, config)
    held_days = ibis.literal(as_of).delta(joined._since, unit="day")
    may_drop = held_days >= config.downgrade_after_days
    floor = (
        qualified
        if config.downgrade_steps is None
        else ibis.greatest(qualified, current - config.downgrade_steps)
    )
    shaped = joined.mutate(_q=qualified, _cur=current)
    new_index = ibis.cases(
        (shaped._cur.isnull() | shaped._since.isnull(), shaped._q),
        (shaped._q > shaped._cur, shaped._q),
        ((shaped._q < shaped._cur) & may_drop, floor),
        else_=shaped._cur,
    )
    shaped = shaped.mutate(_new=new_index)
    changed = shaped._cur.isnull() | shaped._since.isnull() | (shaped._new != shaped._cur)
    return shaped.select(
        "customer_id",
        member_tier=_name_of(shaped._new, config),
        tier_since=ibis.cases((changed, ibis.literal(as_of)), else_=shaped._since),
        tier_change=ibis.cases(
            (shaped._cur.notnull() & (shaped._new > shaped._cur), "upgrade"),
            (shaped._cur.notnull() & (shaped._new < shaped._cur), "downgrade"),
            else_=ibis.null("string"),
        ),
        previous_tier=shaped._prev,
    )


def _compute(ctx: RunContext[TiersConfig]) -> ir.Table:
    amounts = qualifying_amounts(
        ctx.bought, ctx.con.table(POINTS_LEDGER.name), as_of=ctx.as_of, config=ctx.config
    )
    return ctx.keep(
        "tiers", member_tiers(ctx.customers, amounts, ctx.previous, as_of=ctx.as_of, config=ctx.config)
    )


def _write_changes(ctx: RunContext[TiersConfig], scores: ir.Table) -> None:
    """Replace the as-of date's rows of ``tier_changes``; the count goes in the report."""
    tiers = ctx.parts.get("tiers")
    if tiers is None:
        return
    with ctx.ws.timed("write_transitions"):
        portable.delete_where(ctx.con, TIER_CHANGES.name, as_of=ctx.as_of)
        changed = tiers.filter(tiers.tier_change.notnull())
        rows = changed.select(
            "customer_id",
            from_tier=changed.previous_tier,
            to_tier=changed.member_tier,
            direction=changed.tier_change,
            as_of=ibis.literal(ctx.as_of),
            run_id=ibis.literal(ctx.run_id),
        )
        ctx.con.insert(TIER_CHANGES.name, conform(rows, TIER_CHANGES))
        written = ctx.con.table(TIER_CHANGES.name)
        ctx.report.tier_changes = int(written.filter(written.as_of == ctx.as_of).count().execute())


MODEL = ModelDefinition(
    name="tiers",
    columns={"member_tier": "string", "tier_since": "date"},
    compute=_compute,
    config=ConfigSection("tiers", TiersConfig, can_disable=True),
    snapshot=("member_tier", "tier_since"),
    after=("points",),
    after_write=_write_changes,
)
"""Membership tiers as a declared model (see :mod:`guanxi.models.declared`)."""
