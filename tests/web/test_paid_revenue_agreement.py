"""The dashboard, /v1/overview and the customer models count the same paid revenue.

On tests/data/measures/paid_revenue_refunds_and_fallbacks.csv (partial and over-refunds, a
refunded order without a refund amount, a shipped order without ``paid_at``, unpaid and
cancelled orders, amounts that fall back to total − discount): 590.50 by hand (tests/test_measures.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
from fastapi.testclient import TestClient
from ibis.backends import BaseBackend

from guanxi.appdb.roles import Role
from guanxi.config import Settings
from guanxi.models import inputs
from guanxi.tables import IDENTITY_MAP
from guanxi.warehouse import ensure_tables
from guanxi.web.overview import orders_per_month, overview
from tests.test_measures import PAID_REVENUE, load_orders


def resolve_by_hand(con: BaseBackend) -> None:
    """``identity_map``: record ``shop:c<n>`` is customer ``n`` (the scenario's four customers)."""
    ensure_tables(con, [IDENTITY_MAP])
    rows = [
        {
            "source": "shop",
            "source_customer_id": f"c{n}",
            "customer_id": n,
            "resolved_at": datetime(2025, 1, 1),
        }
        for n in range(1, 5)
    ]
    con.insert(IDENTITY_MAP.name, pa.Table.from_pylist(rows, schema=IDENTITY_MAP.schema.to_pyarrow()))


def models_paid_revenue(con: BaseBackend, as_of: date) -> Decimal:
    """Σ net amount of the models' paid orders as of ``as_of``."""
    orders = inputs.customer_orders(
        con.table("raw_orders"), con.table(IDENTITY_MAP.name), before=inputs.cutoff(as_of)
    )
    total = inputs.paid_orders(orders).net_amount.sum().to_pyarrow().as_py()
    return Decimal(str(total))


def test_dashboard_api_and_models_agree_on_paid_revenue(
    warehouse_con: BaseBackend, app_settings: Settings, as_role: Callable[[Role], TestClient]
) -> None:
    # given the scenario's orders, resolved to their four customers
    load_orders(warehouse_con)
    resolve_by_hand(warehouse_con)
    # when the dashboard, the API and the models each count paid revenue
    dashboard = overview(warehouse_con, app_settings).paid_revenue
    api = as_role(Role.VIEWER).get("/v1/overview").json()
    models = models_paid_revenue(warehouse_con, date(2024, 12, 31))
    # then all three are the hand-computed figure
    assert dashboard == models == Decimal(api["paid_revenue"]) == PAID_REVENUE
    # and the months add up to it: November 575.50, December (O10, created 12-01) 15.00
    months = {m.month: m.paid_revenue for m in orders_per_month(warehouse_con, app_settings)}
    assert (months[date(2024, 11, 1)], months[date(2024, 12, 1)]) == (Decimal("575.50"), Decimal("15.00"))
    assert sum(months.values()) == PAID_REVENUE
    assert api["orders_per_month"][-1] == {"month": "2024-12-01", "orders": 1, "paid_revenue": "15.00"}


def test_dashboard_and_models_agree_on_a_cut_off(warehouse_con: BaseBackend, app_settings: Settings) -> None:
    # given the scenario, the models as of 2024-12-01 leave out O10 (paid 2024-12-02): 575.50
    load_orders(warehouse_con)
    resolve_by_hand(warehouse_con)
    assert models_paid_revenue(warehouse_con, date(2024, 12, 1)) == Decimal("575.50")
    # and the dashboard's November bar (orders created in November, all paid by then) says the same
    months = {m.month: m.paid_revenue for m in orders_per_month(warehouse_con, app_settings)}
    assert months[date(2024, 11, 1)] == Decimal("575.50")
