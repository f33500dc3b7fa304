"""The built-in monthly sales report, against hand-computed figures, on the CLI and the API.

tests/data/measures/paid_revenue_refunds_and_fallbacks.csv, by month of payment:

* 2024-11 — paid orders O1 (100.00), O2 (200.00 − 50.00 refund), O3 (80.00, 120.00 refund capped at
  80.00), O4 (refunded without an amount: 60.00 back), O6 (no paid amount: 300.00 − 30.00), O9 (55.50,
  no currency): 6 orders, revenue 100 + 150 + 0 + 0 + 270 + 55.50 = 575.50, refunds 190.00, average
  575.50 / 6 = 95.92. Not counted: O5 (no paid_at), O7 (unpaid), O8 (cancelled).
* 2024-12 — O10 (25.00, 10.00 refund): 1 order, 15.00, refunds 10.00.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from ibis.backends import BaseBackend
from typer.testing import CliRunner

from guanxi.cli.main import build_cli
from guanxi.config import Settings
from guanxi.errors import NotFoundError, ValidationFailedError
from guanxi.plugins import DEFAULT_PLUGINS, build_plugin_manager
from guanxi.reports.definition import ReportParams
from guanxi.reports.registry import get_report, registered_reports, run_report
from guanxi.warehouse import connect
from tests.test_measures import load_orders

NOVEMBER = (date(2024, 11, 1), 6, Decimal("575.50"), Decimal("190.00"), Decimal("95.92"))
DECEMBER = (date(2024, 12, 1), 1, Decimal("15.00"), Decimal("10.00"), Decimal("15.00"))


def test_monthly_sales_equals_the_hand_computed_months(warehouse: BaseBackend, settings: Settings) -> None:
    load_orders(warehouse)
    result = run_report(get_report("monthly_sales"), warehouse, settings, ReportParams(months=3))
    assert result.rows == [
        (date(2024, 10, 1), 0, Decimal("0.00"), Decimal("0.00"), None),
        NOVEMBER,
        DECEMBER,
    ]
    assert sum(row[2] for row in result.rows) == Decimal("590.50")  # the dashboard's paid revenue


def test_a_period_keeps_only_its_payments(warehouse: BaseBackend, settings: Settings) -> None:
    load_orders(warehouse)
    november = ReportParams(start=date(2024, 11, 7), end=date(2024, 11, 30), months=12)
    rows = run_report(get_report("monthly_sales"), warehouse, settings, november).rows
    # O3, O4 (7 Nov), O6 (9 Nov), O9 (12 Nov): 0 + 0 + 270 + 55.50
    assert rows == [(date(2024, 11, 1), 4, Decimal("325.50"), Decimal("140.00"), Decimal("81.38"))]


def test_no_orders_is_an_empty_report(warehouse: BaseBackend, settings: Settings) -> None:
    assert run_report(get_report("monthly_sales"), warehouse, settings).rows == []


def test_a_bad_period_or_name_is_refused(warehouse: BaseBackend, settings: Settings) -> None:
    with pytest.raises(ValidationFailedError, match="ends"):
        run_report(
            get_report("monthly_sales"), warehouse, settings, ReportParams(date(2024, 2, 1), date(2024, 1, 1))
        )
    with pytest.raises(NotFoundError, match="monthly_sales"):
        get_report("no_such_report")


def test_without_the_reports_plugin_there_is_no_builtin_report() -> None:
    pm = build_plugin_manager(
        defaults=[name for name in DEFAULT_PLUGINS if name != "guanxi.reports.plugin"], entry_points=False
    )
    assert "monthly_sales" not in registered_reports(pm)
    assert "monthly_sales" in registered_reports()


def test_the_cli_lists_and_prints_a_report(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    con = connect(settings)
    load_orders(con)
    con.disconnect()
    monkeypatch.setenv("GUANXI_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GUANXI_WAREHOUSE_URL", settings.warehouse_url)
    runner = CliRunner()
    listing = runner.invoke(build_cli(), ["report", "list"])
    assert listing.exit_code == 0
    assert "月度销售" in listing.output
    shown = runner.invoke(
        build_cli(), ["report", "show", "monthly_sales", "--format", "json", "--months", "2"]
    )
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["rows"] == [
        {
            "month": "2024-11-01",
            "paid_orders": 6,
            "paid_revenue": "575.50",
            "refunds": "190.00",
            "average_order_value": "95.92",
        },
        {
            "month": "2024-12-01",
            "paid_orders": 1,
            "paid_revenue": "15.00",
            "refunds": "10.00",
            "average_order_value": "15.00",
        },
    ]
    table = runner.invoke(build_cli(), ["report", "show", "monthly_sales", "--months", "1", "--lang", "en"])
    assert "Paid revenue" in table.output
    assert "15.00 CNY" in table.output
    missing = runner.invoke(build_cli(), ["report", "show", "nope"])
    assert missing.exit_code == 2
    assert "not_found" in missing.output
