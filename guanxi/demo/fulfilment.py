"""What happened to each order after it was placed, as seen at the end instant.

6.5 % of orders are never paid and close when the platform gives up (Taobao
after 72 hours, JD after 24, Youzan after one, Shopify after 1–7 days); 2 % of
Shopify orders stay ``pending`` (bank transfers that never arrive). The rest
are paid after a median 90 seconds (8 % only hours later, after a reminder),
shipped after a median 20 hours
(twice as long around the shopping festivals), and confirmed 1–5 days of
transit later, or by the platform's automatic confirmation after 10 days.
4.5 % of paid orders are refunded in full (before shipping, in transit, or as
after-sales); 5 % of multi-line delivered orders get one line refunded.
Anything later than the end instant has not happened yet: an order placed an
hour ago may still be unpaid or waiting to ship.

Times are naive wall-clock seconds; :data:`NO_TIME` marks "did not happen".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from guanxi.demo.accounts import SHOPIFY
from guanxi.tables import ORDER_STATUSES

NO_TIME = -1
CREATED, UNPAID, PAID, SHIPPED, DELIVERED, REFUNDED, CANCELLED = range(len(ORDER_STATUSES))
HOUR, DAY = 3_600, 86_400
CANCEL_SHARE = 0.065
PENDING_SHARE = 0.02
REFUND_SHARE = 0.045
PARTIAL_REFUND_SHARE = 0.05
DEFERRED_SHARE = 0.08
CLOSE_AFTER = np.array([72 * HOUR, 24 * HOUR, HOUR, 7 * DAY], dtype=np.int64)
"""How long each platform (TAOBAO, JD, YOUZAN, SHOPIFY) waits for payment before closing an order."""


@dataclass(frozen=True)
class Fulfilment:
    """Per order: canonical status index (into ORDER_STATUSES) and event times."""

    status: npt.NDArray[np.int64]
    paid: npt.NDArray[np.int64]
    shipped: npt.NDArray[np.int64]
    delivered: npt.NDArray[np.int64]
    closed: npt.NDArray[np.int64]
    """When an unpaid order was closed, or a refunded one refunded."""
    partial_refund: npt.NDArray[np.bool_]
    """One line of a delivered order was refunded (by the end instant)."""


def fulfil(
    rng: np.random.Generator,
    created: npt.NDArray[np.int64],
    end: int,
    *,
    platform: npt.NDArray[np.int64],
    festival: npt.NDArray[np.bool_],
    multi_line: npt.NDArray[np.bool_],
) -> Fulfilment:
    """Statuses and times for orders ``created`` (seconds), as of ``end`` (seconds)."""
    n = len(created)
    shopify = platform == SHOPIFY
    u = rng.random(n)
    cancel = u < CANCEL_SHARE
    pending = shopify & (u >= CANCEL_SHARE) & (u < CANCEL_SHARE + PENDING_SHARE)
    pays = ~cancel & ~pending

    pay_delay = np.clip(np.exp(rng.normal(np.log(90.0), 1.4, n)), 5, 48 * HOUR).astype(np.int64)
    deferred = rng.random(n) < DEFERRED_SHARE
    pay_delay = np.where(deferred, rng.integers(HOUR, 30 * HOUR, n), pay_delay)
    pay_delay = np.minimum(pay_delay, CLOSE_AFTER[platform] - 60)
    paid = created + pay_delay
    ship_delay = np.exp(rng.normal(np.log(20.0 * HOUR), 0.6, n)) * np.where(festival, 2.0, 1.0)
    shipped = paid + np.clip(ship_delay, HOUR, 8 * DAY).astype(np.int64)
    transit = rng.integers(DAY, 5 * DAY, n)
    confirm = np.where(rng.random(n) < 0.5, rng.integers(0, 2 * DAY, n), 10 * DAY - transit)
    delivered = shipped + transit + np.maximum(confirm, 0)
    close_after = np.where(shopify, rng.integers(DAY, 7 * DAY, n), CLOSE_AFTER[platform])
    closed = np.where(cancel | pending, created + close_after, NO_TIME)

    refund = pays & (rng.random(n) < REFUND_SHARE)
    refund_at = paid + rng.integers(HOUR, 20 * DAY, n)
    closed = np.where(refund, refund_at, closed)
    shipped = np.where(refund & (refund_at < shipped), NO_TIME, shipped)
    delivered = np.where(refund & (refund_at < delivered), NO_TIME, delivered)
    partial_at = delivered + rng.integers(DAY, 10 * DAY, n)
    partial = pays & ~refund & multi_line & (rng.random(n) < PARTIAL_REFUND_SHARE)

    status = np.full(n, PAID, dtype=np.int64)
    status = np.where(cancel, np.where(closed <= end, CANCELLED, UNPAID), status)
    status = np.where(pending, UNPAID, status)
    happened_paid = pays & (paid <= end)
    status = np.where(pays & ~happened_paid, UNPAID, status)
    reached_ship = happened_paid & (shipped != NO_TIME) & (shipped <= end)
    reached_delivery = reached_ship & (delivered != NO_TIME) & (delivered <= end)
    status = np.where(reached_ship, SHIPPED, status)
    status = np.where(reached_delivery, DELIVERED, status)
    status = np.where(refund & (refund_at <= end) & happened_paid, REFUNDED, status)

    def until_end(times: npt.NDArray[np.int64], happened: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        return np.where(happened & (times != NO_TIME) & (times <= end), times, NO_TIME)

    return Fulfilment(
        status=status,
        paid=until_end(paid, happened_paid),
        shipped=until_end(shipped, happened_paid),
        delivered=until_end(delivered, happened_paid),
        closed=until_end(closed, cancel | refund),
        partial_refund=partial & reached_delivery & (partial_at <= end),
    )
