"""Server-rendered SVG charts: sensible axes, escaped labels."""

from __future__ import annotations

import pytest

from guanxi.web.charts import Bar, bar_chart, nice_ticks


@pytest.mark.parametrize(
    ("maximum", "whole", "ticks"),
    [
        (37, False, [0, 10, 20, 30, 40]),
        (100, False, [0, 25, 50, 75, 100]),
        (1, False, [0, 0.25, 0.5, 0.75, 1]),
        (1, True, [0, 1]),
        (3, True, [0, 1, 2, 3]),
        (0, True, [0, 1]),
        (12_345, True, [0, 5000, 10_000, 15_000]),
    ],
)
def test_nice_ticks(maximum: float, whole: bool, ticks: list[float]) -> None:
    assert nice_ticks(maximum, whole=whole) == ticks


def test_bar_chart_has_one_bar_per_point_with_hints_and_value_labels() -> None:
    svg = str(
        bar_chart([Bar("2026-01", 4, "一月"), Bar("2026-02", 0, "二月")], title="每月订单数", empty_text="无")
    )
    assert svg.startswith("<svg")
    assert svg.count('<g class="chart-bar">') == 2
    assert "<title>一月</title>" in svg
    assert '<text class="chart-value"' in svg
    assert svg.count('class="chart-value"') == 1


def test_labels_are_escaped() -> None:
    svg = str(bar_chart([Bar("<b>", 1, '"x" & <y>')], title="<script>", empty_text=""))
    assert "<script>" not in svg
    assert "&lt;b&gt;" in svg
    assert "&#34;x&#34; &amp; &lt;y&gt;" in svg


def test_empty_chart_says_so() -> None:
    svg = str(bar_chart([], title="t", empty_text="还没有订单数据"))
    assert "还没有订单数据" in svg
    assert "chart-bar" not in svg
