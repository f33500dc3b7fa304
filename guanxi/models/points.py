"""The points ledger: earn per yuan, promotions, bonuses, refunds, expiry, redemption.

The ledger (table ``points_ledger``) is append-only; a balance is the sum of a
customer's entries. Every entry has an ``entry_id`` that says what caused it, so
re-running never double-counts and a lost run is made up by the next:

==================  ================================  ==========================================
kind                entry_id                          points
==================  ================================  ==========================================
earn                ``earn:{source}:{order_id}:{n}``  ⌊amount × earn_per_yuan × multiplier⌋,
                                                      the best promotion on the earning day
refund              ``refund:{source}:{order_id}:{n}``  ⌊net × rate × mult⌋ − ⌊amount × rate × mult⌋
first_purchase      ``first_purchase:{customer_id}``  ``first_purchase_bonus``
event               ``event:{source}:{event_id}``     ``event_bonus[event]``
expire              ``expire:{customer_id}:{date}``   − points whose expiry date has come
redeem              ``redeem:{reference}``            − points spent (:func:`redeem_points`)
==================  ================================  ==========================================

Order entries are *deltas*: a run computes what an order should have earned (or
reversed) and writes only the difference from what the ledger already holds for
it, numbered ``n`` = the entries the order already has of that kind. A corrected
amount therefore adjusts instead of duplicating, and an unchanged order writes
nothing. Orders earn when paid (or when delivered, with ``earn_on: delivered``).

**Expiry.** Credits expire ``expiry_months`` after they are earned. Debits
(refund reversals, redemptions) consume the oldest points first, so by an expiry
date ``e`` the points expired in total are ``C(e) = max over e' ≤ e of (credits
expiring by e' − debits before e')``, never negative; each expiry date writes
``C(e) − C(previous e)``. A balance can go negative when an order is refunded
after its points were spent or expired.

Balances follow identity merges: order and event entries carry the record
``(source, source_customer_id)`` and are summed under the customer that record
resolves to today.

As a declared model (:data:`MODEL`, can be disabled) a run brings the ledger up
to date and scores ``points_balance``; an incremental run with unchanged points
rules checks only the orders rebuilt and those reached since the last run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.errors import GuanxiError, ValidationFailedError
from guanxi.models.config import PointsConfig
from guanxi.models.declared import ConfigSection, ModelDefinition, RunContext
from guanxi.models.inputs import cutoff
from guanxi.models.outputs import POINTS_LEDGER, create_missing
from guanxi.tables import conform

CREDIT_KINDS = ("earn", "first_purchase", "event")


class InsufficientPointsError(GuanxiError):
    """A redemption asked for more points than the customer holds."""

    code = "points_insufficient"
    http_status = 409


def _multiplier(day: ir.DateValue, config: PointsConfig) -> ir.FloatingValue:
    best: ir.FloatingValue = ibis.literal(1.0)
    for promo in config.promotions:
        active = (day >= promo.start) & (day <= promo.end)
        best = ibis.greatest(best, ibis.cases((active, promo.multiplier), else_=1.0))
    return best


def _expiry(day: ir.DateValue, config: PointsConfig) -> ir.DateValue:
    if config.expiry_months is None:
        return ibis.null("date")
    return (day + ibis.interval(months=config.expiry_months)).cast("date")


def _existing(ledger: ir.Table, kind: str) -> ir.Table:
    rows = ledger.filter(ledger.kind == kind)
    return rows.group_by("source", "order_id").aggregate(_held=rows.points.sum(), _entries=rows.count())


def order_entries(
    orders: ir.Table, ledger: ir.Table, *, as_of: date, config: PointsConfig, subset: bool = False
) -> ir.Table:
    """New earn and refund entries (deltas against ``ledger``) for paid orders up to ``as_of``.

    ``orders`` is :func:`guanxi.models.inputs.customer_orders` output plus
    ``source_customer_id``. Returns ledger-shaped rows (without run columns).
    ``subset=True`` says ``orders`` is a small part of the history: the ledger
    is narrowed to those orders before it is summed (same result, less work).
    """
    end = cutoff(as_of)
    if config.earn_on == "paid":
        earned_at = orders.paid_at
        eligible = orders.is_paid
    else:
        earned_at = orders.delivered_at
        eligible = orders.is_paid & orders.delivered_at.notnull() & (orders.delivered_at < end)
    rows = orders.filter(eligible).mutate(_at=earned_at)
    if config.start_date is not None:
        rows = rows.filter(rows._at >= datetime.combine(config.start_date, time()))
    rate = _multiplier(rows._at.date(), config) * config.earn_per_yuan
    rows = rows.mutate(
        _earn=(rows.amount.cast("float64") * rate + 1e-9).floor().cast("int64"),
        _keep=(rows.net_amount.cast("float64") * rate + 1e-9).floor().cast("int64"),
        _expires=_expiry(rows._at.date(), config),
    )
    if subset:
        ledger = ledger.semi_join(orders.select("source", "order_id"), ["source", "order_id"])
    frames = []
    for kind, target in (("earn", rows._earn), ("refund", rows._keep - rows._earn)):
        held = _existing(ledger, kind)
        shaped = rows.mutate(_target=target).left_join(held, ["source", "order_id"])
        shaped = shaped.mutate(
            _delta=shaped._target - ibis.coalesce(shaped._held, 0),
            _n=ibis.coalesce(shaped._entries, 0),
        )
        new = shaped.filter(shaped._delta != 0)
        frames.append(
            new.select(
                entry_id=ibis.literal(f"{kind}:")
                + new.source
                + ":"
                + new.order_id
                + ":"
                + new._n.cast("string"),
                customer_id=new.customer_id,
                source=new.source,
                source_customer_id=new.source_customer_id,
                kind=ibis.literal(kind),
                points=new._delta.cast("int64"),
                order_id=new.order_id,
                reference=ibis.null("string"),
                occurred_at=new._at,
                expires_on=new._expires if kind == "earn" else ibis.null("date"),
            )
        )
    return ibis.union(*frames, distinct=False)


def bonus_entries(
    purchases: ir.Table, events: ir.Table, ledger: ir.Table, *, as_of: date, config: PointsConfig
) -> ir.Table | None:
    """New first-purchase and event bonus entries not yet in ``ledger`` (None if none configured)."""
    frames = []
    start = datetime.combine(config.start_date, time()) if config.start_date else None
    if config.first_purchase_bonus > 0:
        rows = purchases.filter(purchases.paid_at < cutoff(as_of))
        if start is not None:
            rows = rows.filter(rows.paid_at >= start)
        first = rows.group_by("customer_id").aggregate(_at=rows.paid_at.min())
        frames.append(
            first.select(
                entry_id=ibis.literal("first_purchase:") + first.customer_id.cast("string"),
                customer_id=first.customer_id,
                source=ibis.null("string"),
                source_customer_id=ibis.null("string"),
                kind=ibis.literal("first_purchase"),
                points=ibis.literal(config.first_purchase_bonus, "int64"),
                order_id=ibis.null("string"),
                reference=ibis.null("string"),
                occurred_at=first._at,
                expires_on=_expiry(first._at.date(), config),
            )
        )
    if config.event_bonus:
        rows = events.filter(
            events.event.isin(list(config.event_bonus)) & (events.occurred_at < cutoff(as_of))
        )
        if start is not None:
            rows = rows.filter(rows.occurred_at >= start)
        points = ibis.cases(*((rows.event == name, value) for name, value in config.event_bonus.items()))
        frames.append(
            rows.select(
                entry_id=ibis.literal("event:") + rows.source + ":" + rows.event_id,
                customer_id=rows.customer_id,
                source=rows.source,
                source_customer_id=rows.source_customer_id,
                kind=ibis.literal("event"),
                points=points.cast("int64"),
                order_id=ibis.null("string"),
                reference=rows.event,
                occurred_at=rows.occurred_at,
                expires_on=_expiry(rows.occurred_at.date(), config),
            )
        )
    if not frames:
        return None
    new = ibis.union(*frames, distinct=False)
    written = ledger.filter(ledger.kind.isin(["first_purchase", "event"]))  # entry ids start with the kind
    return new.anti_join(written.select("entry_id"), "entry_id")


def expiry_entries(ledger: ir.Table, *, as_of: date, customers: ir.Table | None = None) -> ir.Table:
    """New ``expire`` entries for expiry dates up to ``as_of`` (FIFO rule in the module docstring).

    ``customers`` (a ``customer_id`` column) limits the work to those
    customers' entries; every other customer must have nothing new to expire.
    """
    written = ledger.filter(ledger.kind == "expire").select("entry_id")
    if customers is not None:
        ledger = ledger.semi_join(customers, "customer_id")
    credits = ledger.filter((ledger.points > 0) & ledger.expires_on.notnull() & (ledger.expires_on <= as_of))
    by_date = credits.group_by("customer_id", "expires_on").aggregate(_credit=credits.points.sum())
    running = ibis.window(
        group_by=by_date.customer_id, order_by=by_date.expires_on, preceding=None, following=0
    )
    by_date = by_date.mutate(_expiring=by_date._credit.sum().over(running))
    debits = ledger.filter((ledger.points < 0) & (ledger.kind != "expire"))
    joined = by_date.left_join(
        debits,
        (by_date.customer_id == debits.customer_id)
        & (debits.occurred_at < by_date.expires_on.cast("timestamp")),
    )
    per_date = joined.group_by("customer_id", "expires_on", "_expiring").aggregate(
        _debited=ibis.coalesce(-joined.points.sum(), 0)
    )
    candidate = ibis.greatest(per_date._expiring - per_date._debited, 0)
    per_date = per_date.mutate(_candidate=candidate)
    cumulative = per_date._candidate.max().over(
        ibis.window(group_by=per_date.customer_id, order_by=per_date.expires_on, preceding=None, following=0)
    )
    per_date = per_date.mutate(_cum=cumulative)
    previous = per_date._cum.lag().over(
        ibis.window(group_by=per_date.customer_id, order_by=per_date.expires_on)
    )
    per_date = per_date.mutate(_amount=per_date._cum - ibis.coalesce(previous, 0))
    due = per_date.filter(per_date._amount > 0)
    entries = due.select(
        entry_id=ibis.literal("expire:")
        + due.customer_id.cast("string")
        + ":"
        + due.expires_on.cast("string"),
        customer_id=due.customer_id,
        source=ibis.null("string"),
        source_customer_id=ibis.null("string"),
        kind=ibis.literal("expire"),
        points=(-due._amount).cast("int64"),
        order_id=ibis.null("string"),
        reference=ibis.null("string"),
        occurred_at=due.expires_on.cast("timestamp"),
        expires_on=ibis.null("date"),
    )
    return entries.anti_join(written, "entry_id")


def balances(ledger: ir.Table, identity_map: ir.Table) -> ir.Table:
    """customer_id, points_balance, with record-carrying entries under today's customer."""
    ids = identity_map.select("source", "source_customer_id", _now=identity_map.customer_id)
    joined = ledger.left_join(ids, ["source", "source_customer_id"])
    owner = ibis.coalesce(joined._now, joined.customer_id)
    rows = joined.select(customer_id=owner, points=joined.points)
    return rows.group_by("customer_id").aggregate(points_balance=rows.points.sum().cast("int64"))


def append_entries(con: BaseBackend, entries: ir.Table, *, run_id: str, recorded_at: datetime) -> int:
    """Insert ``entries`` into the ledger in one statement, stamped with the run; returns how many."""
    stamped = entries.mutate(run_id=ibis.literal(run_id), recorded_at=ibis.literal(recorded_at, "timestamp"))
    ledger = con.table(POINTS_LEDGER.name)
    before = int(ledger.count().execute())
    con.insert(POINTS_LEDGER.name, conform(stamped, POINTS_LEDGER))
    return int(con.table(POINTS_LEDGER.name).count().execute()) - before


def update_ledger(
    con: BaseBackend,
    orders: ir.Table,
    purchases: ir.Table,
    events: ir.Table,
    *,
    as_of: date,
    config: PointsConfig,
    run_id: str,
    recorded_at: datetime,
    keep: Callable[[str, ir.Table], ir.Table] | None = None,
    since: date | None = None,
) -> int:
    """Bring the ledger up to date as of ``as_of``: order deltas, bonuses, then expiry.

    Idempotent: a second call with the same data writes nothing. ``keep``
    optionally materialises each batch before it is inserted (the run's
    workspace). Returns the number of entries written.

    ``since`` is the as-of date of the last update with the same points rules,
    given when ``orders`` holds only the orders whose entries can have changed
    since then (see :func:`guanxi.models.run.run_models` with ``incremental``):
    first-purchase bonuses are then looked for only among those orders'
    customers, and expiry only for them and for customers with credits expiring
    after ``since`` — everyone else's entries are already written. The entries
    written are the same as with the whole history.
    """
    create_missing(con, [POINTS_LEDGER])

    def staged(name: str, expr: ir.Table) -> ir.Table:
        return keep(name, expr) if keep is not None else expr

    written = 0
    ledger = con.table(POINTS_LEDGER.name)
    subset = since is not None
    new = staged("ledger_orders", order_entries(orders, ledger, as_of=as_of, config=config, subset=subset))
    written += append_entries(con, new, run_id=run_id, recorded_at=recorded_at)
    if subset:
        purchases = purchases.semi_join(orders.select("customer_id"), "customer_id")
    bonus = bonus_entries(purchases, events, con.table(POINTS_LEDGER.name), as_of=as_of, config=config)
    if bonus is not None:
        written += append_entries(con, staged("ledger_bonus", bonus), run_id=run_id, recorded_at=recorded_at)
    if config.expiry_months is not None:
        ledger = con.table(POINTS_LEDGER.name)
        customers = None
        if since is not None:
            due = ledger.filter(
                (ledger.points > 0) & (ledger.expires_on > since) & (ledger.expires_on <= as_of)
            )
            touched = ledger.filter(ledger.run_id == run_id)
            customers = ibis.union(due.select("customer_id"), touched.select("customer_id"), distinct=True)
        expired = staged("ledger_expiry", expiry_entries(ledger, as_of=as_of, customers=customers))
        written += append_entries(con, expired, run_id=run_id, recorded_at=recorded_at)
    return written


def redeem_points(
    con: BaseBackend,
    *,
    customer_id: int,
    points: int,
    reference: str,
    at: datetime,
    run_id: str = "redeem",
) -> int:
    """Spend ``points`` of a customer's balance; returns the balance afterwards.

    Idempotent per ``reference`` (an order or coupon id): redeeming the same
    reference again changes nothing and returns the current balance. Raises
    :class:`InsufficientPointsError` when the balance is too small and
    :class:`~guanxi.errors.ValidationFailedError` (``points_invalid``) for a non-positive amount.
    """
    if points <= 0:
        raise ValidationFailedError("points to redeem must be positive", code="points_invalid")
    ledger = con.table(POINTS_LEDGER.name)
    identity_map = con.table("identity_map")
    balance_row = balances(ledger, identity_map).filter(lambda t: t.customer_id == customer_id)
    current = balance_row.points_balance.sum().execute()
    balance = int(current) if current is not None else 0
    entry_id = f"redeem:{reference}"
    if ledger.filter(ledger.entry_id == entry_id).count().execute() > 0:
        return balance
    if points > balance:
        raise InsufficientPointsError(
            f"customer {customer_id} holds {balance} points, cannot redeem {points}"
        )
    entry = ibis.memtable(
        {
            "entry_id": [entry_id],
            "customer_id": [customer_id],
            "source": [None],
            "source_customer_id": [None],
            "kind": ["redeem"],
            "points": [-points],
            "order_id": [None],
            "reference": [reference],
            "occurred_at": [at],
            "expires_on": [None],
        },
        schema={
            "entry_id": "string",
            "customer_id": "int64",
            "source": "string",
            "source_customer_id": "string",
            "kind": "string",
            "points": "int64",
            "order_id": "string",
            "reference": "string",
            "occurred_at": "timestamp",
            "expires_on": "date",
        },
    )
    append_entries(con, entry, run_id=run_id, recorded_at=at)
    return balance - points


def ledger_candidates(orders: ir.Table, refreshed: ir.Table, since: date) -> ir.Table:
    """Orders whose ledger entries can have changed since the run as of ``since``.

    Those refreshed in this run, plus every order paid or delivered since the
    start of ``since`` (the cut-off moved past them).
    """
    start = datetime.combine(since, time.min)
    recent = orders.filter((orders.paid_at >= start) | (orders.delivered_at >= start))
    changed = orders.semi_join(refreshed, ["source", "order_id"])
    return ibis.union(recent, changed, distinct=True)


def _compute(ctx: RunContext[PointsConfig]) -> ir.Table:
    orders, since, rebuilt = ctx.orders, ctx.incremental_since(), ctx.refresh.orders
    if since is not None and rebuilt is not None:
        orders = ctx.keep("ledger_candidates", ledger_candidates(ctx.orders, rebuilt, since))
    else:
        since = None
    with ctx.ws.timed("ledger"):
        ctx.report.ledger_entries = update_ledger(
            ctx.con,
            orders,
            ctx.bought,
            ctx.events,
            as_of=ctx.as_of,
            config=ctx.config,
            run_id=ctx.run_id,
            recorded_at=ctx.started_at,
            keep=ctx.ws.keep,
            since=since,
        )
    return ctx.keep("balances", balances(ctx.con.table(POINTS_LEDGER.name), ctx.inputs.identity_map))


MODEL = ModelDefinition(
    name="points",
    columns={"points_balance": "int64"},
    compute=_compute,
    config=ConfigSection("points", PointsConfig, can_disable=True),
)
"""The points ledger and balances as a declared model (see :mod:`guanxi.models.declared`)."""
