"""Shared scoring rules: quantile scores with a stated tie rule, capped ratios.

**Tie rule.** A customer's quantile score in ``1..k`` is ``1 + ⌊k·w/n⌋``, where
``n`` is the number of scored customers and ``w`` the number of them with a
strictly *worse* value. Tied customers therefore share one score, the one the
first of them would get; no customer ever gets a different score from a
customer with the same value, and the result does not depend on row order.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def quantile_score(value: ir.Column, *, buckets: int, higher_is_better: bool = True) -> ir.IntegerValue:
    """``1..buckets`` by the tie rule above; a window over the whole table.

    ``value`` must not be null (filter first). Higher values score higher
    unless ``higher_is_better`` is false (recency: fewer days is better).
    """
    order = value if higher_is_better else ibis.desc(value)
    worse = ibis.rank().over(ibis.window(order_by=order))  # 0-based: rows strictly worse
    n = value.count().over(ibis.window())
    return ((worse * buckets).cast("float64") / n.cast("float64")).floor().cast("int64") + 1


def threshold_score(
    value: ir.NumericValue, cuts: tuple[float, ...], *, higher_is_better: bool = True
) -> ir.IntegerValue:
    """Score ``1..len(cuts)+1`` from ascending cut points (a value equal to a cut falls below it).

    With ``higher_is_better`` a value ``<= cuts[0]`` scores 1 and one above the
    last cut scores ``len(cuts) + 1``; otherwise the order is reversed.
    """
    top = len(cuts) + 1
    branches = [
        (value <= cut, ibis.literal((i + 1) if higher_is_better else (top - i), "int64"))
        for i, cut in enumerate(cuts)
    ]
    return ibis.cases(*branches, else_=ibis.literal(top if higher_is_better else 1, "int64"))


def capped_ratio(count: ir.NumericValue, saturation: float) -> ir.FloatingValue:
    """``min(1, count / saturation)`` as float64 (0 for a null count)."""
    ratio = ibis.coalesce(count, 0).cast("float64") / float(saturation)
    return ibis.least(ratio, 1.0)


def score_100(value: ir.FloatingValue) -> ir.FloatingValue:
    """A 0..1 fraction as a 0..100 score rounded to one decimal."""
    return (value * 100).round(1)
