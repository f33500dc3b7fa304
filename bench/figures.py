"""The shape every benchmark reports its figures in (JSON-ready dicts).

A *timed* figure compares guanxi's seconds with a baseline's seconds measured in
the same run; the harness (``bench/run.py``) computes ``ratio = guanxi /
baseline`` from those two numbers and ``met = ratio <= goal_ratio``. A *value*
figure is a quality number (precision, parameter error) with its own goal. An
*unavailable* figure says why it was not measured; it never carries numbers.
"""

from __future__ import annotations

from typing import Any


def timed(
    figure: str,
    *,
    guanxi_seconds: float,
    baseline: str,
    baseline_seconds: float,
    goal_ratio: float | None = None,
    guanxi_peak_rss_mib: float | None = None,
    baseline_peak_rss_mib: float | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """guanxi vs a baseline, both in seconds; ``goal_ratio`` None means "reported, no goal"."""
    return {
        "figure": figure,
        "kind": "timed",
        "guanxi_seconds": round(guanxi_seconds, 3),
        "baseline": baseline,
        "baseline_seconds": round(baseline_seconds, 3),
        "goal_ratio": goal_ratio,
        "guanxi_peak_rss_mib": guanxi_peak_rss_mib,
        "baseline_peak_rss_mib": baseline_peak_rss_mib,
        "note": note,
    }


def value(
    figure: str,
    *,
    value: str,
    goal: str | None = None,
    met: bool | None = None,
    baseline: str | None = None,
    guanxi_seconds: float | None = None,
    guanxi_peak_rss_mib: float | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """A quality or capacity figure: ``value`` as shown, the goal in words and whether it was met."""
    return {
        "figure": figure,
        "kind": "value",
        "value": value,
        "baseline": baseline,
        "guanxi_seconds": None if guanxi_seconds is None else round(guanxi_seconds, 3),
        "goal": goal,
        "met": met,
        "guanxi_peak_rss_mib": guanxi_peak_rss_mib,
        "note": note,
    }


def unavailable(figure: str, reason: str) -> dict[str, Any]:
    """A figure that could not be measured in this run, and why (no numbers)."""
    return {"figure": figure, "kind": "unavailable", "note": reason}
