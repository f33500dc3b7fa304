"""What counts as a paid order, its amount, refund and net amount."""

from __future__ import annotations

from datetime import datetime

from ibis.backends import BaseBackend

from guanxi.models import inputs
from tests.models import factories as f
from tests.models.factories import AS_OF


def _orders(con: BaseBackend) -> dict[str, dict[str, object]]:
    table = inputs.customer_orders(
        con.table("raw_orders"), con.table("identity_map"), before=inputs.cutoff(AS_OF)
    )
    return {r["order_id"]: r for r in table.to_pandas().to_dict("records")}


def test_paid_statuses_and_refund_rules(warehouse: BaseBackend) -> None:
    # given one order of each kind for customer 1
    day = datetime(2024, 12, 1, 10)
    f.customers(warehouse, [1])
    f.orders(
        warehouse,
        [
            f.order("paid", 1, day, 100),
            f.order("shipped", 1, day, 100, status="shipped"),
            f.order("delivered", 1, day, 100, status="delivered", refund=30),
            f.order("refunded-full", 1, day, 100, status="refunded"),
            f.order("refunded-part", 1, day, 100, status="refunded", refund=40),
            f.order("over-refund", 1, day, 100, status="delivered", refund=250),
            f.order("cancelled", 1, day, 100, status="cancelled"),
            f.order("unpaid", 1, None, 100, status="unpaid", created_at=day),
            f.order("created", 1, None, 100, status="created", created_at=day),
        ],
    )
    got = _orders(warehouse)
    # then paid, shipped, delivered and refunded orders are paid; the rest are not
    assert {k for k, r in got.items() if r["is_paid"]} == {
        "paid",
        "shipped",
        "delivered",
        "refunded-full",
        "refunded-part",
        "over-refund",
    }
    # and the refund is the refund amount, the whole amount for a refunded order without one, capped at the amount
    assert str(got["delivered"]["net_amount"]) == "70.00"
    assert str(got["refunded-full"]["net_amount"]) == "0.00"
    assert str(got["refunded-part"]["net_amount"]) == "60.00"
    assert str(got["over-refund"]["refund"]) == "100.00"
    assert str(got["over-refund"]["net_amount"]) == "0.00"


def test_amount_falls_back_to_total_minus_discount(warehouse: BaseBackend) -> None:
    # given an order with no paid_amount but a total and a discount
    f.customers(warehouse, [1])
    row = f.order("o", 1, datetime(2024, 12, 1), 100, discount=15)
    row["paid_amount"] = None
    f.orders(warehouse, [row])
    # then its amount is 85
    assert str(_orders(warehouse)["o"]["amount"]) == "85.00"


def test_cutoff_is_the_end_of_the_as_of_day(warehouse: BaseBackend) -> None:
    # given orders at the last second of the as-of date and at midnight after it
    f.customers(warehouse, [1])
    f.orders(
        warehouse,
        [
            f.order("last", 1, datetime(2024, 12, 31, 23, 59, 59), 10),
            f.order("next", 1, datetime(2025, 1, 1), 10),
        ],
    )
    # then only the first is seen
    assert set(_orders(warehouse)) == {"last"}


def test_unresolved_records_are_left_out(warehouse: BaseBackend) -> None:
    # given an order whose record is not in identity_map
    f.customers(warehouse, [1])
    f.orders(
        warehouse,
        [f.order("mine", 1, datetime(2024, 12, 1), 10), f.order("stranger", 99, datetime(2024, 12, 1), 10)],
    )
    # then only the resolved customer's order is read, with its customer id
    got = _orders(warehouse)
    assert set(got) == {"mine"}
    assert got["mine"]["customer_id"] == 1
