"""``/v1/reports``: every registered report, one report's rows, in the caller's language."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from ibis.backends import BaseBackend

from guanxi.appdb.roles import Role
from tests.test_measures import load_orders


def test_the_reports_are_listed_and_one_answers_its_rows(
    warehouse_con: BaseBackend, as_role: Callable[[Role], TestClient]
) -> None:
    load_orders(warehouse_con)
    client = as_role(Role.VIEWER)
    listing = client.get("/v1/reports").json()
    sales = next(report for report in listing if report["name"] == "monthly_sales")
    assert sales["title"] == "月度销售"
    assert [c["key"] for c in sales["columns"]][:3] == ["month", "paid_orders", "paid_revenue"]
    rows = client.get("/v1/reports/monthly_sales?months=2&lang=en").json()
    assert rows["report"]["title"] == "Monthly sales"
    assert rows["rows"] == [
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


def test_unknown_report_and_bad_period_use_the_one_error_shape(
    warehouse_con: BaseBackend, as_role: Callable[[Role], TestClient]
) -> None:
    client = as_role(Role.VIEWER)
    missing = client.get("/v1/reports/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    backwards = client.get("/v1/reports/monthly_sales?start=2024-12-01&end=2024-11-01")
    assert backwards.status_code == 422
    assert backwards.json()["error"]["code"] == "validation_failed"
    assert client.get("/v1/reports/monthly_sales?months=0").status_code == 422
