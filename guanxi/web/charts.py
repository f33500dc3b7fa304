"""Charts drawn on the server as inline SVG: no script, no network, readable without colour.

Every function is pure and escapes every label it writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    hint: str
    """Shown on hover (the SVG ``<title>``) and read by screen readers."""


def nice_ticks(maximum: float, count: int = 4, *, whole: bool = False) -> list[float]:
    """Evenly spaced axis ticks from 0 that cover ``maximum``, on 1-2-2.5-5 steps.

    ``nice_ticks(37)`` → ``[0, 10, 20, 30, 40]``; an empty or zero range gives
    ``[0, 1]``. With ``whole`` (counts) the step is a whole number:
    ``nice_ticks(1, whole=True)`` → ``[0, 1]``.
    """
    if maximum <= 0 or not math.isfinite(maximum):
        return [0.0, 1.0]
    rough = maximum / count
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= rough)
    if whole:
        step = max(1.0, float(math.ceil(step)))
    top = math.ceil(maximum / step - 1e-9) * step
    return [round(i * step, 10) for i in range(int(round(top / step)) + 1)]


def _tick_label(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,g}"


def bar_chart(
    bars: list[Bar],
    *,
    title: str,
    empty_text: str,
    whole: bool = True,
    width: int = 1080,
    height: int = 280,
) -> Markup:
    """A vertical bar chart as an ``<svg>`` element scaling to its container's width.

    ``whole``: the values are counts, so the axis shows whole numbers only.
    """
    left, right, top, bottom = 56, 12, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [
        Markup(
            '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">'
            "<title>{}</title>"
        ).format(width, height, title, title)
    ]
    if not bars:
        parts.append(
            Markup('<text class="chart-empty" x="{}" y="{}" text-anchor="middle">{}</text>').format(
                f"{width / 2:.0f}", f"{height / 2:.0f}", empty_text
            )
        )
        return Markup("").join([*parts, Markup("</svg>")])
    ticks = nice_ticks(max(bar.value for bar in bars), whole=whole)
    scale = plot_h / ticks[-1]
    for tick in ticks:
        y = top + plot_h - tick * scale
        parts.append(
            Markup(
                '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>'
            ).format(left, width - right, f"{y:.1f}", f"{y:.1f}", left - 8, f"{y + 4:.1f}", _tick_label(tick))
        )
    slot = plot_w / len(bars)
    bar_w = max(2.0, min(48.0, slot * 0.64))
    for index, bar in enumerate(bars):
        x = left + slot * index + (slot - bar_w) / 2
        h = bar.value * scale
        y = top + plot_h - h
        centre = f"{x + bar_w / 2:.1f}"
        parts.append(
            Markup(
                '<g class="chart-bar"><title>{}</title><rect x="{}" y="{}" width="{}" height="{}" rx="3"/>'
            ).format(bar.hint, f"{x:.1f}", f"{y:.1f}", f"{bar_w:.1f}", f"{h:.1f}")
        )
        if bar.value > 0:
            parts.append(
                Markup('<text class="chart-value" x="{}" y="{}" text-anchor="middle">{}</text>').format(
                    centre, f"{y - 4:.1f}", _tick_label(bar.value)
                )
            )
        parts.append(
            Markup('<text class="chart-label" x="{}" y="{}" text-anchor="middle">{}</text></g>').format(
                centre, height - bottom + 18, bar.label
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
