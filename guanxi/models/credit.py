"""Credit: unpaid orders, refunds and returns, complaints → a score, a level, a restriction.

Over orders created in the window (and tickets created in it):

* **unpaid rate** — abandoned orders / (paid orders + abandoned orders). An order
  is abandoned when it was never paid and is ``cancelled``, or still
  ``created`` / ``unpaid`` more than ``unpaid_grace_hours`` after creation
  (younger ones are still pending and do not count either way);
* **refund rate** — returned orders / paid orders, where a paid order is returned
  if it has a refund or a ``return`` ticket names it; a return ticket that names
  no order adds one more return. Capped at 1; 0 without paid orders;
* **complaints** — ``complaint`` tickets.

``credit_score = max(0, 100 − unpaid_weight · unpaid_rate − refund_weight ·
refund_rate − min(complaint_cap, complaint_points · complaints))``;
``credit_level`` is ``good`` (≥ watch_below), ``watch`` (≥ restrict_below) or
``restricted``. ``no_cash_coupon`` is true for restricted customers and for
serial refunders (at least ``serial_refunder_min_orders`` paid orders and a
refund rate ≥ ``serial_refunder_rate``): campaigns must not give them cash
coupons. A customer with at least ``do_not_disturb_complaints`` complaints is
do-not-disturb: marketing campaigns leave them out (transactional messages
still go). A customer with no orders and no tickets scores 100 (good).

The declared model (:data:`MODEL`) also replaces the ``credit`` tags after the
scores are written: ``restriction = no_cash_coupon`` (weight: the refund rate)
and ``restriction = do_not_disturb`` (weight: the complaints).
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from guanxi import portable
from guanxi.models.config import CreditConfig
from guanxi.models.declared import ConfigSection, ModelDefinition, RunContext
from guanxi.models.inputs import UNPAID_STATUSES, cutoff, window_start
from guanxi.models.outputs import CUSTOMER_TAGS
from guanxi.tables import conform


def credit_scores(
    customers: ir.Table, orders: ir.Table, tickets: ir.Table, *, as_of: date, config: CreditConfig
) -> ir.Table:
    """One row per customer: customer_id, paid_orders, unpaid_rate, refund_rate, complaints,
    credit_score, credit_level, no_cash_coupon."""
    end = cutoff(as_of)
    start = window_start(as_of, config.window_days)
    placed = orders.filter(orders.created_at < end)
    if start is not None:
        placed = placed.filter(placed.created_at >= start)
    pending_before = end - timedelta(hours=config.unpaid_grace_hours)
    never_paid = placed.paid_at.isnull() | ~placed.is_paid
    placed = placed.mutate(
        _abandoned=never_paid
        & (
            (placed.status == "cancelled")
            | (placed.status.isin(UNPAID_STATUSES) & (placed.created_at < pending_before))
        )
    )
    ticket_rows = tickets.filter(tickets.created_at < end)
    if start is not None:
        ticket_rows = ticket_rows.filter(ticket_rows.created_at >= start)
    returns = ticket_rows.filter(ticket_rows.kind == "return")
    returned_orders = (
        returns.filter(returns.order_id.notnull())
        .select("source", "order_id", _return_ticket=ibis.literal(True))
        .distinct()
    )
    with_returns = placed.left_join(returned_orders, ["source", "order_id"]).select(
        placed, _return_ticket=ibis.coalesce(returned_orders._return_ticket, False)
    )
    with_returns = with_returns.mutate(
        _returned=with_returns.is_paid & ((with_returns.refund > 0) | with_returns._return_ticket)
    )
    per_orders = with_returns.group_by("customer_id").aggregate(
        _paid=with_returns.count(where=with_returns.is_paid),
        _abandoned=with_returns.count(where=with_returns._abandoned),
        _returned=with_returns.count(where=with_returns._returned),
    )
    per_tickets = ticket_rows.group_by("customer_id").aggregate(
        _complaints=ticket_rows.count(where=ticket_rows.kind == "complaint"),
        _loose_returns=ticket_rows.count(
            where=(ticket_rows.kind == "return") & ticket_rows.order_id.isnull()
        ),
    )
    base = customers.select("customer_id")
    joined = base.left_join(per_orders, "customer_id").left_join(per_tickets, "customer_id")
    joined = joined.select(
        "customer_id",
        paid=ibis.coalesce(joined._paid, 0),
        abandoned_=ibis.coalesce(joined._abandoned, 0),
        returned_=ibis.coalesce(joined._returned, 0) + ibis.coalesce(joined._loose_returns, 0),
        complaints=ibis.coalesce(joined._complaints, 0).cast("int64"),
    )
    decided = (joined.paid + joined.abandoned_).cast("float64")
    unpaid_rate = ibis.cases((decided > 0, joined.abandoned_.cast("float64") / decided), else_=0.0)
    refund_rate = ibis.cases(
        (joined.paid > 0, ibis.least(joined.returned_.cast("float64") / joined.paid.cast("float64"), 1.0)),
        else_=0.0,
    )
    shaped = joined.mutate(unpaid_rate=unpaid_rate.round(4), refund_rate=refund_rate.round(4))
    complaint_penalty = ibis.least(
        shaped.complaints.cast("float64") * config.complaint_points, config.complaint_cap
    )
    score = ibis.greatest(
        100.0
        - config.unpaid_weight * shaped.unpaid_rate
        - config.refund_weight * shaped.refund_rate
        - complaint_penalty,
        0.0,
    ).round(1)
    shaped = shaped.mutate(credit_score=score)
    level = ibis.cases(
        (shaped.credit_score >= config.watch_below, "good"),
        (shaped.credit_score >= config.restrict_below, "watch"),
        else_="restricted",
    )
    serial = (shaped.paid >= config.serial_refunder_min_orders) & (
        shaped.refund_rate >= config.serial_refunder_rate
    )
    return shaped.select(
        "customer_id",
        paid_orders=shaped.paid.cast("int64"),
        unpaid_rate="unpaid_rate",
        refund_rate="refund_rate",
        complaints="complaints",
        credit_score="credit_score",
        credit_level=level,
        no_cash_coupon=serial | (level == "restricted"),
    )


def _compute(ctx: RunContext[CreditConfig]) -> ir.Table:
    scores = credit_scores(ctx.customers, ctx.orders, ctx.tickets, as_of=ctx.as_of, config=ctx.config)
    return ctx.keep("credit", scores)


def _write_tags(ctx: RunContext[CreditConfig], scores: ir.Table) -> None:
    """Replace the credit tags (a restriction per customer the marketing side must respect)."""
    with ctx.ws.timed("write_tags"):
        restricted = scores.filter(scores.no_cash_coupon)
        coupons = restricted.select(
            "customer_id",
            tag=ibis.literal("restriction"),
            value=ibis.literal("no_cash_coupon"),
            weight=restricted.refund_rate,
            model=ibis.literal("credit"),
            run_id=ibis.literal(ctx.run_id),
            as_of=ibis.literal(ctx.as_of),
        )
        complained = scores.filter(scores.complaints >= ctx.config.do_not_disturb_complaints)
        quiet = complained.select(
            "customer_id",
            tag=ibis.literal("restriction"),
            value=ibis.literal("do_not_disturb"),
            weight=complained.complaints.cast("float64"),
            model=ibis.literal("credit"),
            run_id=ibis.literal(ctx.run_id),
            as_of=ibis.literal(ctx.as_of),
        )
        rows = coupons.union(quiet)
        portable.delete_where(ctx.con, CUSTOMER_TAGS.name, model="credit")
        ctx.con.insert(CUSTOMER_TAGS.name, conform(rows, CUSTOMER_TAGS))


MODEL = ModelDefinition(
    name="credit",
    columns={
        "paid_orders": "int64",
        "unpaid_rate": "float64",
        "refund_rate": "float64",
        "complaints": "int64",
        "credit_score": "float64",
        "credit_level": "string",
        "no_cash_coupon": "boolean",
    },
    compute=_compute,
    config=ConfigSection("credit", CreditConfig),
    snapshot=("credit_level",),
    after_write=_write_tags,
)
"""Credit as a declared model (see :mod:`guanxi.models.declared`)."""
