"""仪表盘: counts, paid revenue in CNY, orders per month, recent imports — figures checked by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ibis.backends import BaseBackend

from guanxi.appdb.migrate import upgrade
from guanxi.appdb.roles import Role
from guanxi.config import Settings
from guanxi.tables import IMPORT_BATCHES, RAW_CUSTOMERS, RAW_EVENTS, RAW_ORDERS, RAW_TICKETS
from guanxi.web import create_app
from guanxi.web.overview import orders_per_month, overview

from .conftest import insert_rows


@pytest.fixture
def app(app_settings: Settings, now: datetime) -> FastAPI:
    """The app without the events resolver: these tests read the warehouse as never resolved, and the
    resolver's first pass at start-up would otherwise race them to create ``customers``."""
    upgrade(app_settings)
    return create_app(app_settings.model_copy(update={"events_resolve": False}), clock=lambda: now)


D = Decimal
SIX_ORDERS = [
    # paid 100.00 + delivered 1,234.56 + refunded without amount 0 + shipped 200.00 less 20.00 refund
    # = ¥1,514.56; the unpaid order and the USD order do not count. Paid orders carry a paid_at
    # (guanxi.measures: an order without one is not paid).
    {
        "source": "tb",
        "order_id": "A",
        "status": "paid",
        "created_at": datetime(2025, 11, 3, 10),
        "paid_at": datetime(2025, 11, 3, 10, 5),
        "paid_amount": D("100.00"),
        "currency": "CNY",
    },
    {
        "source": "tb",
        "order_id": "B",
        "status": "delivered",
        "created_at": datetime(2025, 11, 20),
        "paid_at": datetime(2025, 11, 20, 0, 5),
        "paid_amount": D("1234.56"),
        "refund_amount": D("0"),
    },
    {
        "source": "tb",
        "order_id": "C",
        "status": "refunded",
        "created_at": datetime(2026, 1, 10),
        "paid_at": datetime(2026, 1, 10, 0, 5),
        "paid_amount": D("50.00"),
    },
    {
        "source": "jd",
        "order_id": "D",
        "status": "shipped",
        "created_at": datetime(2026, 1, 15),
        "paid_at": datetime(2026, 1, 15, 0, 5),
        "paid_amount": D("200.00"),
        "refund_amount": D("20.00"),
        "currency": "cny",
    },
    {
        "source": "jd",
        "order_id": "E",
        "status": "unpaid",
        "created_at": datetime(2026, 1, 16),
        "paid_amount": D("59.90"),
    },
    {
        "source": "sh",
        "order_id": "F",
        "status": "paid",
        "created_at": datetime(2026, 1, 17),
        "paid_at": datetime(2026, 1, 17, 0, 5),
        "paid_amount": D("999.00"),
        "currency": "USD",
    },
]


@pytest.fixture
def shop(warehouse_con: BaseBackend) -> BaseBackend:
    insert_rows(warehouse_con, RAW_ORDERS, SIX_ORDERS)
    insert_rows(
        warehouse_con,
        RAW_CUSTOMERS,
        [{"source": "tb", "source_customer_id": "c1"}, {"source": "jd", "source_customer_id": "c2"}],
    )
    insert_rows(warehouse_con, RAW_TICKETS, [{"source": "tb", "ticket_id": "t1"}])
    insert_rows(warehouse_con, RAW_EVENTS, [{"source": "app", "event_id": str(i)} for i in range(3)])
    insert_rows(
        warehouse_con,
        IMPORT_BATCHES,
        [
            {
                "batch_id": "b-old",
                "kind": "customers",
                "file_name": "会员.xlsx",
                "started_at": datetime(2026, 1, 1),
                "rows_loaded": 2,
                "rows_quarantined": 0,
                "status": "loaded",
            },
            {
                "batch_id": "b-new",
                "kind": "orders",
                "file_name": "淘宝订单.csv",
                "started_at": datetime(2026, 2, 1),
                "rows_loaded": 6,
                "rows_quarantined": 1,
                "status": "loaded",
            },
        ],
    )
    return warehouse_con


def test_overview_counts_and_paid_revenue(shop: BaseBackend, app_settings: Settings) -> None:
    figures = overview(shop, app_settings)
    assert (figures.customer_records, figures.orders, figures.tickets, figures.events) == (2, 6, 1, 3)
    assert figures.paid_revenue == D("1514.56")
    assert figures.customers is None


def test_orders_per_month_covers_twelve_months_up_to_the_latest_order(
    shop: BaseBackend, app_settings: Settings
) -> None:
    series = orders_per_month(shop, app_settings)
    assert [m.month for m in series][0] == date(2025, 2, 1)
    assert [m.month for m in series][-1] == date(2026, 1, 1)
    counts = {m.month: m.orders for m in series}
    assert counts[date(2025, 11, 1)] == 2
    assert counts[date(2025, 12, 1)] == 0
    assert counts[date(2026, 1, 1)] == 4
    assert sum(counts.values()) == 6
    assert {m.month: m.paid_revenue for m in series}[date(2026, 1, 1)] == D("180.00")


def test_orders_per_month_is_empty_without_orders(warehouse_con: BaseBackend, app_settings: Settings) -> None:
    assert orders_per_month(warehouse_con, app_settings) == []


def test_dashboard_page_shows_the_figures_in_chinese(
    shop: BaseBackend, as_role: Callable[[Role], TestClient]
) -> None:
    page = as_role(Role.VIEWER).get("/").text
    assert "客户记录" in page
    assert "¥1,514.56" in page
    assert page.count('<g class="chart-bar">') == 12
    assert "2025-11：2 笔订单，已付 ¥1,334.56" in page
    assert page.index("淘宝订单.csv") < page.index("会员.xlsx")


def test_dashboard_without_data_says_so(as_role: Callable[[Role], TestClient]) -> None:
    page = as_role(Role.VIEWER).get("/").text
    assert "还没有订单数据" in page
    assert "¥0.00" in page


def test_overview_api_returns_the_same_figures(
    shop: BaseBackend, as_role: Callable[[Role], TestClient]
) -> None:
    body = as_role(Role.VIEWER).get("/v1/overview").json()
    assert body["paid_revenue"] == "1514.56"
    assert (body["orders"], body["customer_records"], body["currency"]) == (6, 2, "CNY")
    assert body["orders_per_month"][-1] == {"month": "2026-01-01", "orders": 4, "paid_revenue": "180.00"}
