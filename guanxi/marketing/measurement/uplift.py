"""Uplift statistics: what the target group did beyond the control group, with confidence intervals.

Pure functions over counts; the warehouse side is :mod:`.attribution`.

* **Conversion uplift** — the difference of the conversion rates target −
  control, with Newcombe's hybrid score interval (method 10 of Newcombe 1998;
  statsmodels ``confint_proportions_2indep``), which keeps its coverage with
  small counts and rates near 0, and the two-sided p-value of the
  Agresti–Caffo test of no difference (``test_proportions_2indep``).
* **Revenue uplift** — the difference of the mean revenue per customer, with
  Welch's t interval (statsmodels ``CompareMeans``, unequal variances). Revenue
  is given as a distribution — each distinct per-customer revenue with how many
  customers had it — so most customers (who bought nothing) are one row.
* **Incremental** conversions and revenue — the per-customer differences
  times the target group's size, and their intervals scaled the same way.

A figure that cannot be computed (an empty arm, fewer than two customers in
an arm for the revenue interval, no variation at all) is ``None``, never a
made-up 0; :attr:`Uplift.significant` is False then.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from guanxi.errors import ValidationFailedError

CONFIDENCE = 0.95
"""The confidence level of every interval unless told otherwise."""


@dataclass(frozen=True)
class Arm:
    """One group's outcome: how many customers, how many converted, and their revenue.

    ``revenue`` maps a per-customer revenue to the number of customers with it;
    the customers who bought nothing are under 0. When it is empty, the revenue
    figures are not computed.
    """

    customers: int
    converted: int
    revenue: Mapping[float, int]

    @property
    def rate(self) -> float | None:
        """Converted ÷ customers (None for an empty arm)."""
        return self.converted / self.customers if self.customers else None

    @property
    def revenue_total(self) -> float:
        """Σ revenue of the arm's customers."""
        return sum(value * count for value, count in self.revenue.items())

    @property
    def revenue_per_customer(self) -> float | None:
        """Revenue ÷ customers (None for an empty arm)."""
        return self.revenue_total / self.customers if self.customers else None


@dataclass(frozen=True)
class Interval:
    """A confidence interval ``[low, high]``."""

    low: float
    high: float

    def covers(self, value: float) -> bool:
        """Whether ``value`` lies in the interval (ends included)."""
        return self.low <= value <= self.high

    def scaled(self, factor: float) -> Interval:
        """The interval of ``factor`` × the estimate (factor ≥ 0)."""
        return Interval(self.low * factor, self.high * factor)


@dataclass(frozen=True)
class Uplift:
    """The target group against the control group."""

    target: Arm
    control: Arm
    confidence: float
    difference: float | None
    """Conversion rate target − control, in [−1, 1]."""
    interval: Interval | None
    p_value: float | None
    revenue_difference: float | None
    """Mean revenue per customer target − control."""
    revenue_interval: Interval | None

    @property
    def relative(self) -> float | None:
        """The difference ÷ the control's rate (None when the control's rate is 0 or unknown)."""
        rate = self.control.rate
        return None if self.difference is None or not rate else self.difference / rate

    @property
    def significant(self) -> bool:
        """Whether the conversion interval leaves out 0."""
        return self.interval is not None and not self.interval.covers(0.0)

    @property
    def incremental_conversions(self) -> float | None:
        """Conversions the campaign caused among the target group: difference × target customers."""
        return None if self.difference is None else self.difference * self.target.customers

    @property
    def incremental_conversions_interval(self) -> Interval | None:
        return None if self.interval is None else self.interval.scaled(self.target.customers)

    @property
    def incremental_revenue(self) -> float | None:
        """Revenue the campaign caused: revenue difference × target customers."""
        found = self.revenue_difference
        return None if found is None else found * self.target.customers

    @property
    def incremental_revenue_interval(self) -> Interval | None:
        found = self.revenue_interval
        return None if found is None else found.scaled(self.target.customers)


def _finite(*values: float) -> bool:
    return all(math.isfinite(value) for value in values)


def conversion(
    target: Arm, control: Arm, *, confidence: float = CONFIDENCE
) -> tuple[float | None, Interval | None, float | None]:
    """(difference, interval, p-value) of the conversion rates; all None when an arm is empty."""
    if not 0 < confidence < 1:
        raise ValidationFailedError(f"confidence {confidence} is not between 0 and 1")
    if target.customers <= 0 or control.customers <= 0:
        return None, None, None
    difference = target.converted / target.customers - control.converted / control.customers
    with np.errstate(divide="ignore", invalid="ignore"):  # statsmodels also works out ratios we do not use
        low, high = confint_proportions_2indep(
            target.converted,
            target.customers,
            control.converted,
            control.customers,
            method="newcombe",
            compare="diff",
            alpha=1 - confidence,
        )
        interval = Interval(float(low), float(high)) if _finite(low, high) else None
        if target.converted + control.converted in (0, target.customers + control.customers):
            return difference, interval, 1.0  # every customer alike: no evidence of any difference
        p_value = float(
            test_proportions_2indep(
                target.converted, target.customers, control.converted, control.customers, compare="diff"
            ).pvalue
        )
    return difference, interval, p_value if math.isfinite(p_value) else None


def _described(arm: Arm) -> DescrStatsW | None:
    if arm.customers < 2 or not arm.revenue:
        return None
    values = np.array(list(arm.revenue), dtype=float)
    counts = np.array(list(arm.revenue.values()), dtype=float)
    return DescrStatsW(values, weights=counts)


def revenue(
    target: Arm, control: Arm, *, confidence: float = CONFIDENCE
) -> tuple[float | None, Interval | None]:
    """(difference, Welch interval) of the mean revenue per customer; None where it cannot be computed."""
    t, c = target.revenue_per_customer, control.revenue_per_customer
    if t is None or c is None or not target.revenue or not control.revenue:
        return None, None
    difference = t - c
    first, second = _described(target), _described(control)
    if first is None or second is None or (first.var == 0 and second.var == 0):
        return difference, None
    low, high = CompareMeans(first, second).tconfint_diff(alpha=1 - confidence, usevar="unequal")
    return difference, Interval(float(low), float(high)) if _finite(low, high) else None


def compare(target: Arm, control: Arm, *, confidence: float = CONFIDENCE) -> Uplift:
    """The uplift of ``target`` over ``control`` (also: variant B over variant A in an A/B test)."""
    difference, interval, p_value = conversion(target, control, confidence=confidence)
    revenue_difference, revenue_interval = revenue(target, control, confidence=confidence)
    return Uplift(
        target=target,
        control=control,
        confidence=confidence,
        difference=difference,
        interval=interval,
        p_value=p_value,
        revenue_difference=revenue_difference,
        revenue_interval=revenue_interval,
    )
