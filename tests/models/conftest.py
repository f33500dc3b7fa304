"""Fixtures for the customer models: named scenarios loaded into the ``warehouse`` fixture."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest
from ibis.backends import BaseBackend

from tests.models import factories as f


def load_orders_csv(con: BaseBackend, path: Path) -> list[int]:
    """Load a named orders file (order_id, customer_id, paid_at, amount, status, refund); returns customer ids."""
    rows = []
    ids: set[int] = set()
    with path.open(encoding="utf-8") as handle:
        for line in csv.DictReader(handle):
            customer = int(line["customer_id"])
            ids.add(customer)
            paid = datetime.fromisoformat(line["paid_at"]) if line["paid_at"] else None
            rows.append(
                f.order(
                    line["order_id"],
                    customer,
                    paid,
                    float(line["amount"]),
                    status=line["status"],
                    refund=float(line["refund"]) if line["refund"] else None,
                    created_at=paid or datetime(2024, 12, 1),
                )
            )
    f.orders(con, rows)
    return sorted(ids)


@pytest.fixture
def nine_buyers(warehouse: BaseBackend, data_dir: Path) -> BaseBackend:
    """rfm_nine_buyers.csv plus customer 12, a lead with no orders."""
    ids = load_orders_csv(warehouse, data_dir / "models" / "rfm_nine_buyers.csv")
    f.customers(warehouse, [*ids, 12])
    return warehouse
