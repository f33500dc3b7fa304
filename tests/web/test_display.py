"""How money, counts and times look."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from guanxi.web.display import format_cell, format_count, format_money, format_time, humanise_key

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("1234.56"), "CNY", "¥1,234.56"),
        (Decimal("1234.565"), "CNY", "¥1,234.57"),
        (Decimal("0"), "cny", "¥0.00"),
        (Decimal("-12"), "CNY", "-¥12.00"),
        (1234567.5, "USD", "$1,234,567.50"),
        (Decimal("99.9"), "SGD", "SGD 99.90"),
        (None, "CNY", "—"),
    ],
)
def test_format_money(amount: Decimal | float | None, currency: str, shown: str) -> None:
    assert format_money(amount, currency) == shown


def test_format_count() -> None:
    assert (format_count(12345), format_count(0), format_count(None)) == ("12,345", "0", "—")


def test_aware_times_are_shown_in_the_zone_and_wall_clock_times_as_they_are() -> None:
    assert format_time(datetime(2026, 3, 1, 9, 30, tzinfo=UTC), SHANGHAI) == "2026-03-01 17:30"
    assert format_time(datetime(2026, 3, 1, 9, 30), SHANGHAI) == "2026-03-01 09:30"
    assert format_time(date(2026, 3, 1), SHANGHAI) == "2026-03-01"
    assert format_time(None, SHANGHAI) == "—"


def test_format_cell_handles_every_plain_type() -> None:
    assert format_cell(True, SHANGHAI) == "✓"
    assert format_cell(1500, SHANGHAI) == "1,500"
    assert format_cell(0.1234, SHANGHAI) == "0.1234"
    assert format_cell(Decimal("1500.5"), SHANGHAI) == "1,500.5"
    assert format_cell("2026-03-01 17:30:00.123456", SHANGHAI) == "2026-03-01 17:30"
    assert format_cell(["a", 2000], SHANGHAI) == "a, 2,000"
    assert format_cell(None, SHANGHAI) == "—"


def test_humanise_key() -> None:
    assert humanise_key("rows_quarantined") == "Rows quarantined"
