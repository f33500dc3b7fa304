"""Whole-column text building: ids are distinct, times match strftime, cases route rows."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa

from guanxi.demo import textcols as tc
from guanxi.demo.phones import PhoneStyle, write_phones
from guanxi.demo.randomness import exact_mask, stream, unique_ints
from guanxi.demo.timeline import orders_per_buyer, seconds


def test_unique_ints_are_distinct_and_in_range() -> None:
    values = unique_ints(stream(1, "ids"), 1_000_000_000, 9_999_999_999, 200_000)
    assert len(np.unique(values)) == 200_000
    assert values.min() >= 1_000_000_000
    assert values.max() < 9_999_999_999


def test_exact_mask_marks_the_rounded_share() -> None:
    assert exact_mask(stream(1, "m"), 2_150, 0.002).sum() == 4
    assert exact_mask(stream(1, "m"), 10, 0.0).sum() == 0


def test_orders_per_buyer_sum_to_the_total_and_are_positive() -> None:
    counts = orders_per_buyer(stream(3, "c"), 12_345)
    assert counts.sum() == 12_345
    assert counts.min() >= 1


def test_clock_text_matches_strftime() -> None:
    moments = [
        datetime(2024, 2, 29, 23, 59, 59),
        datetime(2025, 11, 11, 0, 0, 7),
        datetime(2026, 1, 1, 9, 5, 0),
    ]
    values = np.array([seconds(m) for m in moments] + [-1], dtype=np.int64)
    text = tc.clock_text(values, values >= 0, suffix=" +0800").to_pylist()
    assert text == [m.strftime("%Y-%m-%d %H:%M:%S +0800") for m in moments] + [None]
    compact = tc.clock_text(values[:3], date_format="%Y%m%d", separator="T", time_format="%H%M%S").to_pylist()
    assert compact == [m.strftime("%Y%m%dT%H%M%S") for m in moments]


def test_money_has_two_decimals() -> None:
    assert tc.money(np.array([12_800, 5, 0, -350], dtype=np.int64)).to_pylist() == [
        "128.00",
        "0.05",
        "0.00",
        "-3.50",
    ]


def test_cases_runs_each_builder_on_its_rows_only() -> None:
    seen: dict[int, list[int]] = {}

    def record(code: int):  # noqa: ANN202
        def build(rows: np.ndarray) -> pa.Array:
            seen[code] = rows.tolist()
            return tc.digits(rows * 10)

        return build

    out = tc.cases(np.array([1, 0, 1, 2]), {0: record(0), 1: record(1), 2: lambda rows: None})
    assert out.to_pylist() == ["0", "10", "20", None]
    assert seen == {0: [1], 1: [0, 2]}


def test_repeats_flags_every_later_copy() -> None:
    assert tc.repeats(pa.array(["a", "b", "a", "c", "b", "a"])).tolist() == [
        False,
        False,
        True,
        False,
        True,
        True,
    ]


def test_phone_spellings() -> None:
    number = pa.array(["13812345678"] * 10)
    style = np.arange(10, dtype=np.int64)
    assert write_phones(number, style).to_pylist() == [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "008613812345678",
        "0086-13812345678",
        "１３８１２３４５６７８",
        "138****5678",
        None,
    ]
    assert int(PhoneStyle.MASKED) == 8
