"""Uplift statistics against published values and, over many seeds, against a known true effect."""

from __future__ import annotations

import numpy as np
import pytest

from guanxi.errors import ValidationFailedError
from guanxi.marketing.measurement.uplift import Arm, compare, conversion

PRICES = np.array([99.0, 199.0, 299.0])


def arm(customers: int, converted: int, revenue: dict[float, int] | None = None) -> Arm:
    return Arm(customers, converted, revenue or {})


def test_newcombe_1998_example_a() -> None:
    """Newcombe (1998), Statistics in Medicine 17:873, table II, example (a): 56/70 − 48/80, method 10."""
    found = compare(arm(70, 56), arm(80, 48))
    assert found.difference == pytest.approx(0.2)
    assert found.interval is not None
    assert (round(found.interval.low, 4), round(found.interval.high, 4)) == (0.0524, 0.3339)
    assert found.significant
    assert found.relative == pytest.approx(0.2 / 0.6)
    assert found.incremental_conversions == pytest.approx(14.0)
    assert found.incremental_conversions_interval is not None
    assert found.incremental_conversions_interval.low == pytest.approx(70 * found.interval.low)


def test_newcombe_1998_example_with_zero_events() -> None:
    """Example (f) of the same table: 0/10 − 0/20 gives −0.1611 … 0.2775."""
    difference, interval, p_value = conversion(arm(10, 0), arm(20, 0))
    assert difference == 0
    assert interval is not None
    assert (round(interval.low, 4), round(interval.high, 4)) == (-0.1611, 0.2775)
    assert p_value == 1.0


def test_an_empty_arm_gives_no_figures_rather_than_zeros() -> None:
    found = compare(arm(100, 10, {0.0: 90, 99.0: 10}), arm(0, 0))
    assert (found.difference, found.interval, found.p_value, found.revenue_difference) == (None,) * 4
    assert not found.significant
    with pytest.raises(ValidationFailedError):
        conversion(arm(1, 1), arm(1, 0), confidence=1.0)


def test_revenue_difference_is_welch_on_the_distribution() -> None:
    """Per-customer revenue [0×8, 100, 200] vs [0×9, 100]: means 30 and 10, Welch's interval from scipy."""
    from scipy import stats

    found = compare(arm(10, 2, {0.0: 8, 100.0: 1, 200.0: 1}), arm(10, 1, {0.0: 9, 100.0: 1}))
    assert found.revenue_difference == pytest.approx(20.0)
    a = np.array([0.0] * 8 + [100.0, 200.0])
    b = np.array([0.0] * 9 + [100.0])
    welch = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert found.revenue_interval is not None
    assert found.revenue_interval.low == pytest.approx(welch.low)
    assert found.revenue_interval.high == pytest.approx(welch.high)
    assert found.incremental_revenue == pytest.approx(200.0)


def simulate(rng: np.random.Generator, n: int, control_rate: float, effect: float) -> tuple[Arm, Arm]:
    """Two arms of ``n`` customers; a buyer spends one of three prices; the target buys ``effect`` more often."""

    def one(rate: float) -> Arm:
        bought = rng.random(n) < rate
        spent = rng.choice(PRICES, size=n) * bought
        values, counts = np.unique(spent, return_counts=True)
        return Arm(n, int(bought.sum()), dict(zip(values.tolist(), counts.tolist(), strict=True)))

    return one(control_rate + effect), one(control_rate)


@pytest.mark.parametrize("effect", [0.05, 0.0])
def test_the_interval_covers_the_true_effect_about_95_percent_of_the_time(effect: float) -> None:
    """400 generated campaigns of 3,000 + 3,000 customers, control rate 10 %, true effect +5 points or none."""
    rng = np.random.default_rng(20261204)
    runs = 400
    covered = revenue_covered = significant = 0
    true_revenue = effect * PRICES.mean()
    for _ in range(runs):
        target, control = simulate(rng, 3_000, 0.10, effect)
        found = compare(target, control)
        assert found.interval is not None
        assert found.revenue_interval is not None
        covered += found.interval.covers(effect)
        revenue_covered += found.revenue_interval.covers(true_revenue)
        significant += found.significant
    # 95 % expected; 400 runs put 2.5 standard deviations at ±2.7 points
    assert 0.92 <= covered / runs <= 0.98
    assert 0.92 <= revenue_covered / runs <= 0.98
    if effect:
        assert significant / runs > 0.99  # +5 points on 3,000 a side is found nearly always
    else:
        assert significant / runs < 0.08  # and no effect is "found" about 5 % of the time
