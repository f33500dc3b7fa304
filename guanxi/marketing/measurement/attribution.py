"""Attribution in the warehouse: purchases within the window after a send, per arm and by last touch.

Inputs are Ibis tables; nothing is read row by row in Python.

* ``exposures`` — one row per (customer, arm) a campaign reached or held out:
  ``customer_id``, ``arm`` (``control``, or the target group's name or A/B
  variant) and ``exposed_at`` (the send time, or for a control customer the
  time they would have been sent to). Several rows of one (customer, arm) —
  several waves — count from the first.
* ``orders`` — rows shaped like ``raw_orders`` with the golden
  ``customer_id`` attached (:func:`guanxi.models.inputs.attach_customer`).
  Purchases and their net amount are :mod:`guanxi.measures`' definitions.
* ``window`` — a purchase counts for an exposure when it was paid at or after
  ``exposed_at`` and before ``exposed_at + window``.

Customer ids are compared as strings (the app database keeps them as text).
Times are naive wall-clock times in ``Settings.timezone``, as the warehouse
holds them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import ibis
import ibis.expr.types as ir

from guanxi.errors import ValidationFailedError
from guanxi.marketing.measurement.uplift import Arm
from guanxi.measures import MONEY, purchases

CONTROL = "control"
"""The arm of the held-out customers."""

DEFAULT_WINDOW = timedelta(days=7)
"""The attribution window unless a campaign sets its own."""


def _checked(window: timedelta) -> ir.IntervalScalar:
    if window <= timedelta(0):
        raise ValidationFailedError(f"the attribution window must be positive, not {window}")
    return ibis.interval(seconds=int(window.total_seconds()))


def outcomes(exposures: ir.Table, orders: ir.Table, *, window: timedelta = DEFAULT_WINDOW) -> ir.Table:
    """One row per exposed (customer, arm): ``exposed_at``, ``orders`` and ``revenue`` within the window."""
    span = _checked(window)
    keyed = exposures.mutate(customer_id=exposures.customer_id.cast("string"))
    first = keyed.group_by(["customer_id", "arm"]).aggregate(exposed_at=keyed.exposed_at.min())
    bought = purchases(orders)
    bought = bought.select(
        buyer=bought.customer_id.cast("string"), paid_at=bought.paid_at, net_amount=bought.net_amount
    )
    joined = first.left_join(
        bought,
        [
            first.customer_id == bought.buyer,
            bought.paid_at >= first.exposed_at,
            bought.paid_at < first.exposed_at + span,
        ],
    )
    return joined.group_by(["customer_id", "arm", "exposed_at"]).aggregate(
        orders=joined.paid_at.count(),
        revenue=ibis.coalesce(joined.net_amount.sum(), ibis.literal(0).cast(MONEY)).cast(MONEY),
    )


def arms(exposures: ir.Table, orders: ir.Table, *, window: timedelta = DEFAULT_WINDOW) -> dict[str, Arm]:
    """Each arm's customers, converted customers and revenue distribution, by arm name."""
    found = outcomes(exposures, orders, window=window)
    spread = (
        found.group_by(["arm", "revenue"])
        .aggregate(customers=found.count(), converted=(found.orders > 0).cast("int64").sum())
        .to_pyarrow()
        .to_pylist()
    )
    customers: dict[str, int] = defaultdict(int)
    converted: dict[str, int] = defaultdict(int)
    revenue: dict[str, dict[float, int]] = defaultdict(dict)
    for row in spread:
        arm, value = row["arm"], float(row["revenue"])
        customers[arm] += row["customers"]
        converted[arm] += row["converted"]
        revenue[arm][value] = revenue[arm].get(value, 0) + row["customers"]
    return {arm: Arm(customers[arm], converted[arm], revenue[arm]) for arm in sorted(customers)}


def last_touch(sends: ir.Table, orders: ir.Table, *, window: timedelta = DEFAULT_WINDOW) -> ir.Table:
    """Each purchase credited to the latest send to its customer at or before it, within the window.

    ``sends`` has ``campaign``, ``customer_id`` and ``sent_at`` (every
    campaign's and journey's sends: last touch is across all of them; ties on
    the send time go to the campaign first in name order). Returns one row per
    credited purchase: ``source``, ``order_id``, ``customer_id``, ``paid_at``,
    ``net_amount``, ``campaign``, ``sent_at``. A purchase with no send in the
    window before it is credited to nothing and left out.
    """
    span = _checked(window)
    bought = purchases(orders)
    bought = bought.select("source", "order_id", "customer_id", "paid_at", "net_amount")
    touch = sends.select(
        touched=sends.customer_id.cast("string"), campaign=sends.campaign, sent_at=sends.sent_at
    )
    joined = bought.join(
        touch,
        [
            bought.customer_id.cast("string") == touch.touched,
            touch.sent_at <= bought.paid_at,
            bought.paid_at < touch.sent_at + span,
        ],
    )
    ranked = joined.mutate(
        rank=ibis.row_number().over(
            group_by=[joined.source, joined.order_id],
            order_by=[ibis.desc(joined.sent_at), joined.campaign],
        )
    )
    return ranked.filter(ranked["rank"] == 0).select(
        "source", "order_id", "customer_id", "paid_at", "net_amount", "campaign", "sent_at"
    )


def credited(sends: ir.Table, orders: ir.Table, *, window: timedelta = DEFAULT_WINDOW) -> ir.Table:
    """Per campaign, the purchases and revenue last touch credits to it: ``campaign``, ``orders``, ``revenue``."""
    found = last_touch(sends, orders, window=window)
    return found.group_by("campaign").aggregate(
        orders=found.count(), revenue=found.net_amount.sum().cast(MONEY)
    )
