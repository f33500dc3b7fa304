"""When people buy: how many orders each buyer places, on which days, at what time.

* **Repeat behaviour**: orders per buyer are 1 + a negative binomial draw
  (dispersion 0.35, mean 1.25 extra orders), so about 59 % of buyers buy once
  and a heavy tail buys dozens of times.
* **Personal rhythm**: a repeat buyer's orders are spread over an active span
  with gamma-distributed gaps, starting on a day drawn from the shop's daily
  traffic curve (growing over time, weekends busier).
* **Seasons**: the traffic curve peaks on 38 女王节, 618 (1–18 June), 双11
  (1–11 November), 双12 and the 年货节, and dips over the Spring Festival;
  22 % of orders are campaign orders moved onto the peak days themselves.
* **Time of day**: an hourly curve with the evening peak at 21:00–22:00 and a
  midnight rush on the 618, 双11 and 双12 days.

Times are naive wall-clock seconds since 1970 in ``Settings.timezone``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from guanxi.demo.randomness import choice
from guanxi.demo.textcols import WALL_CLOCK_EPOCH

REPEAT_DISPERSION = 0.35
REPEAT_EXTRA_MEAN = 1.25
MAX_ORDERS_PER_BUYER = 400
CAMPAIGN_SHARE = 0.22

SPRING_FESTIVAL = {
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
    2031: date(2031, 1, 23),
    2032: date(2032, 2, 11),
}

HOUR_WEIGHT = np.array(
    [
        3.0,
        1.6,
        0.8,
        0.45,
        0.3,
        0.3,
        0.6,
        1.4,
        2.6,
        4.0,
        5.2,
        5.2,
        4.6,
        4.8,
        5.2,
        5.3,
        5.0,
        4.4,
        4.2,
        5.0,
        6.4,
        7.6,
        7.4,
        5.4,
    ],
    dtype=np.float64,
)
"""Relative orders per hour of the day (Chinese online retail)."""

_MIDNIGHT_RUSH = np.array([40.0, 12.0, 3.0] + [1.0] * 21)


def orders_per_buyer(rng: np.random.Generator, total: int) -> npt.NDArray[np.int64]:
    """Order counts, one per buyer, summing to exactly ``total``; every count is at least 1."""
    p = REPEAT_DISPERSION / (REPEAT_DISPERSION + REPEAT_EXTRA_MEAN)
    chunks: list[npt.NDArray[np.int64]] = []
    placed = 0
    while placed < total:
        expected = int((total - placed) / (1 + REPEAT_EXTRA_MEAN) * 1.1) + 16
        draw = 1 + rng.negative_binomial(REPEAT_DISPERSION, p, expected).astype(np.int64)
        draw = np.minimum(draw, MAX_ORDERS_PER_BUYER)
        cumulative = placed + np.cumsum(draw)
        stop = int(np.searchsorted(cumulative, total))
        if stop < len(draw):
            draw = draw[: stop + 1].copy()
            draw[-1] -= int(cumulative[stop] - total)
        chunks.append(draw)
        placed += int(draw.sum())
    return np.concatenate(chunks)


@dataclass(frozen=True)
class Calendar:
    """The days of the history window with their traffic weights."""

    start: date
    days: int

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def traffic(self) -> npt.NDArray[np.float64]:
        """Relative orders per day: growth × weekday × season (first-order days follow it)."""
        weights = np.empty(self.days, dtype=np.float64)
        for i, day in enumerate(self.dates()):
            growth = 0.75 + 0.5 * i / max(self.days - 1, 1)
            weekday = (1.0, 0.97, 0.97, 0.98, 0.95, 1.05, 1.1)[day.weekday()]
            weights[i] = growth * weekday * _season(day)
        return weights

    def campaign_days(self) -> npt.NDArray[np.float64]:
        """Where campaign orders land: weights on the peak days only."""
        weights = np.zeros(self.days, dtype=np.float64)
        for i, day in enumerate(self.dates()):
            weights[i] = _campaign(day)
        return weights

    def rush_days(self) -> npt.NDArray[np.bool_]:
        """Days whose sales open at midnight (18 June, 11 November, 12 December)."""
        return np.array([(d.month, d.day) in {(6, 18), (11, 11), (12, 12)} for d in self.dates()])


def _season(day: date) -> float:
    m, d = day.month, day.day
    factor = 1.0
    festival = SPRING_FESTIVAL.get(day.year)
    next_festival = SPRING_FESTIVAL.get(day.year + 1)
    for fest in (festival, next_festival):
        if fest is not None:
            offset = (day - fest).days
            if -8 <= offset <= 6:
                factor *= 0.45
            elif -30 <= offset < -8:
                factor *= 1.25  # 年货节
    if m == 3 and 6 <= d <= 8:
        factor *= 1.6
    elif m == 5 and d == 20:
        factor *= 1.3
    elif m == 6 and d <= 17:
        factor *= 1.35
    elif m == 6 and d == 18:
        factor *= 2.6
    elif m == 10 and d <= 7:
        factor *= 0.85
    elif m == 11 and d <= 10:
        factor *= 1.5
    elif m == 11 and d == 11:
        factor *= 4.5
    elif m == 12 and 10 <= d <= 11:
        factor *= 1.3
    elif m == 12 and d == 12:
        factor *= 2.2
    return factor


def _campaign(day: date) -> float:
    m, d = day.month, day.day
    if m == 6 and d <= 18:
        return 8.0 if d == 18 else (3.0 if d == 1 else 1.0)  # 618: 30 % of campaign weight
    if m == 11 and d <= 11:
        return 22.0 if d == 11 else (5.0 if d == 1 else 2.0)  # 双11: 50 %
    if m == 12 and 10 <= d <= 12:
        return 6.0 if d == 12 else 1.5  # 双12
    if m == 3 and d == 8:
        return 4.0  # 38 女王节
    return 0.0


def _inverse_cdf(
    rng: np.random.Generator, weights: npt.NDArray[np.float64], upper: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """A day index per entry, drawn from ``weights`` restricted to days ``< upper`` (upper ≥ 1)."""
    cdf = np.cumsum(weights)
    limit = cdf[np.clip(upper, 1, len(weights)) - 1]
    return np.searchsorted(cdf, rng.random(len(upper)) * limit, side="right").astype(np.int64)


def order_times(
    rng: np.random.Generator,
    counts: npt.NDArray[np.int64],
    start: datetime,
    end: datetime,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``(buyer, created)`` for every order: buyer index (into ``counts``) and wall-clock seconds.

    Orders are sorted by buyer, then time; all fall in ``[start, end]``.
    """
    days = (end.date() - start.date()).days + 1
    calendar = Calendar(start.date(), days)
    traffic = calendar.traffic()
    n_buyers, total = len(counts), int(counts.sum())
    buyer = np.repeat(np.arange(n_buyers, dtype=np.int64), counts)
    first_of = np.concatenate([[0], np.cumsum(counts)[:-1]])

    # Spread each repeat buyer's orders over an active span, gaps gamma(1.5).
    span = np.where(counts > 1, (days - 1) * rng.uniform(0.12, 1.0, n_buyers), 0.0)
    gaps = rng.gamma(1.5, 1.0, total)
    gaps[first_of] = 0.0
    running = np.cumsum(gaps)
    within = running - running[first_of][buyer]
    total_gap = np.maximum(np.add.reduceat(gaps, first_of), 1e-9)
    offset = np.floor(within / total_gap[buyer] * span[buyer]).astype(np.int64)
    start_day = _inverse_cdf(rng, traffic, (days - np.ceil(span)).astype(np.int64))
    day = np.minimum(start_day[buyer] + offset, days - 1)

    campaign = rng.random(total) < CAMPAIGN_SHARE
    peaks = calendar.campaign_days()
    if campaign.any() and peaks.sum() > 0:
        day[campaign] = choice(rng, peaks, int(campaign.sum()))

    rush = calendar.rush_days()[day]
    hour = choice(rng, HOUR_WEIGHT, total)
    if rush.any():
        hour[rush] = choice(rng, HOUR_WEIGHT * _MIDNIGHT_RUSH, int(rush.sum()))
    base = seconds(start.replace(hour=0, minute=0, second=0, microsecond=0))
    created = base + day * 86_400 + hour * 3_600 + rng.integers(0, 3_600, total)
    end_s = seconds(end)
    late = created > end_s
    created[late] = end_s - rng.integers(0, 6 * 3_600, int(late.sum()))
    created = np.maximum(created, seconds(start))
    order = np.lexsort((created, buyer))
    return buyer[order], created[order]


def seconds(moment: datetime) -> int:
    """Naive wall-clock ``moment`` as seconds since 1970-01-01 00:00 (no zone arithmetic)."""
    return int((moment - WALL_CLOCK_EPOCH).total_seconds())
