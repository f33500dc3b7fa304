"""The business measures (guanxi.measures), each checked against figures computed by hand.

``tests/data/measures/paid_revenue_refunds_and_fallbacks.csv`` — four customers, ten orders:

| order | what | net | paid? |
|---|---|---|---|
| O1 | paid 100.00 | 100.00 | yes |
| O2 | delivered 200.00, partial refund 50.00 | 150.00 | yes |
| O3 | delivered 80.00, over-refund 120.00 (capped at 80.00) | 0.00 | yes |
| O4 | refunded 60.00, no refund amount (fully refunded) | 0.00 | yes |
| O5 | shipped 70.00 but no ``paid_at`` | — | no |
| O6 | paid, no paid amount: total 300.00 − discount 30.00 | 270.00 | yes |
| O7 | unpaid 90.00 | — | no |
| O8 | cancelled 40.00 with a ``paid_at`` | — | no |
| O9 | paid, no paid amount nor discount: total 55.50 (no currency) | 55.50 | yes |
| O10 | refunded 25.00, refund 10.00, paid 2024-12-02 10:00 | 15.00 | yes |

Paid revenue = 100 + 150 + 0 + 0 + 270 + 55.50 + 15 = **590.50**; paid orders = 7; purchases = 5.
(The dashboard's former rule — paid_amount − refund_amount by status — gave 295.00.)
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from guanxi import measures
from guanxi.tables import RAW_ORDERS
from tests.identity.conftest import rows_to_table
from tests.warehouses import postgres_schema

SCENARIO = Path(__file__).parent / "data" / "measures" / "paid_revenue_refunds_and_fallbacks.csv"
PAID_REVENUE = Decimal("590.50")
"""Paid revenue of the scenario, by hand (see the module docstring)."""


def load_orders(con: BaseBackend, path: Path = SCENARIO) -> ir.Table:
    """Append the orders file to ``raw_orders`` (empty cells NULL); returns the table."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if RAW_ORDERS.name not in con.list_tables():
        con.create_table(RAW_ORDERS.name, schema=RAW_ORDERS.schema)
    con.insert(RAW_ORDERS.name, rows_to_table(RAW_ORDERS, rows))
    return con.table(RAW_ORDERS.name)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Iterator[BaseBackend]:
    """An empty warehouse: the DuckDB test warehouse, or a private PostgreSQL schema (GUANXI_TEST_POSTGRES)."""
    if request.param == "duckdb":
        yield request.getfixturevalue("warehouse")
        return
    with postgres_schema("guanxi_measures") as con:
        yield con


@pytest.fixture
def orders(backend: BaseBackend) -> ir.Table:
    return load_orders(backend)


def by_order(table: ir.Table, **columns: ir.Value) -> dict[str, Any]:
    rows = table.select("order_id", **columns).to_pyarrow().to_pylist()
    return {r["order_id"]: r for r in rows}


def test_an_order_is_paid_with_a_paid_at_and_a_paid_status(orders: ir.Table) -> None:
    paid = by_order(orders, paid=measures.is_paid(orders))
    assert {k for k, r in paid.items() if r["paid"]} == {"O1", "O2", "O3", "O4", "O6", "O9", "O10"}


def test_the_cut_off_leaves_out_orders_paid_at_or_after_it(orders: ir.Table) -> None:
    paid = by_order(orders, paid=measures.is_paid(orders, before=datetime(2024, 12, 2, 10)))
    assert not paid["O10"]["paid"]
    assert paid["O9"]["paid"]


def test_amount_refund_and_net_amount_follow_the_fallbacks_and_the_cap(orders: ir.Table) -> None:
    money = by_order(
        orders,
        amount=measures.order_amount(orders),
        refund=measures.order_refund(orders),
        net=measures.net_amount(orders),
    )
    shown = {k: (str(r["amount"]), str(r["refund"]), str(r["net"])) for k, r in money.items()}
    assert shown["O2"] == ("200.00", "50.00", "150.00")  # paid amount, partial refund
    assert shown["O3"] == ("80.00", "80.00", "0.00")  # over-refund capped at the amount
    assert shown["O4"] == ("60.00", "60.00", "0.00")  # refunded without a refund amount
    assert shown["O6"] == ("270.00", "0.00", "270.00")  # total − discount
    assert shown["O9"] == ("55.50", "0.00", "55.50")  # total, no discount
    assert shown["O7"] == ("90.00", "0.00", "90.00")  # an unpaid order still has an amount


def test_paid_revenue_is_the_net_amount_of_the_paid_orders(orders: ir.Table) -> None:
    assert measures.paid_revenue(orders).to_pyarrow().as_py() == PAID_REVENUE
    before = measures.paid_revenue(orders, before=measures.cutoff(date(2024, 12, 1)))
    assert before.to_pyarrow().as_py() == Decimal("575.50")  # O10 was paid on 2024-12-02


def test_paid_revenue_of_no_paid_orders_is_zero(orders: ir.Table) -> None:
    unpaid = orders.filter(orders.status.isin(["unpaid", "cancelled"]))
    assert measures.paid_revenue(unpaid).to_pyarrow().as_py() == Decimal("0.00")


def test_paid_orders_count_fully_refunded_ones_and_purchases_do_not(orders: ir.Table) -> None:
    assert measures.paid_order_count(orders).execute() == 7
    assert sorted(measures.paid_orders(orders).order_id.to_pyarrow().to_pylist()) == sorted(
        ["O1", "O2", "O3", "O4", "O6", "O9", "O10"]
    )
    assert sorted(measures.purchases(orders).order_id.to_pyarrow().to_pylist()) == sorted(
        ["O1", "O2", "O6", "O9", "O10"]
    )


def test_in_currency_matches_any_case_and_orders_without_a_currency(orders: ir.Table) -> None:
    usd = orders.mutate(currency=ibis.ifelse(orders.order_id == "O1", "USD", orders.currency))
    counted = usd.filter(measures.in_currency(usd, "CNY"))
    assert sorted(counted.order_id.to_pyarrow().to_pylist()) == sorted(
        ["O2", "O3", "O4", "O5", "O6", "O7", "O8", "O9", "O10"]
    )


# Customers, as of 2024-06-30 (June = 2024-06-01 … 2024-06-30). "Bought" = a purchase.
#   1  bought 01-10 and 06-20                                   active, returning
#   2  first bought 06-05                                       active, new
#   3  bought 03-01; a fully refunded order on 06-25            not active (a refund is no purchase)
#   4  a paid status without paid_at; a cancelled order with one  never bought
#   5  bought 05-31 23:59:59                                     active over 31 days, not over 30
#   6  bought 06-30 23:59:59 (and again 07-01)                  active, new
#   7  bought 02-01 and 06-15                                   active, returning
#   8  first bought 07-02                                       nothing as of 06-30
#   9  a fully refunded paid order 05-10, first bought 06-12    active, new (first *purchase*)
AS_OF = date(2024, 6, 30)
JUNE = {"start": date(2024, 6, 1), "end": date(2024, 6, 30)}


def purchase(
    customer: int, paid_at: datetime | None, amount: str = "10.00", **columns: Any
) -> dict[str, Any]:
    row = {"customer_id": customer, "status": "paid", "paid_at": paid_at, "paid_amount": Decimal(amount)}
    return row | columns


CUSTOMER_ORDERS = [
    purchase(1, datetime(2024, 1, 10, 9)),
    purchase(1, datetime(2024, 6, 20, 9)),
    purchase(2, datetime(2024, 6, 5, 9)),
    purchase(3, datetime(2024, 3, 1, 9)),
    purchase(3, datetime(2024, 6, 25, 9), status="refunded"),
    purchase(4, None, status="shipped"),
    purchase(4, datetime(2024, 6, 11, 9), status="cancelled"),
    purchase(5, datetime(2024, 5, 31, 23, 59, 59)),
    purchase(6, datetime(2024, 6, 30, 23, 59, 59)),
    purchase(6, datetime(2024, 7, 1)),
    purchase(7, datetime(2024, 2, 1, 9)),
    purchase(7, datetime(2024, 6, 15, 9), status="delivered"),
    purchase(8, datetime(2024, 7, 2, 9)),
    purchase(9, datetime(2024, 5, 10, 9), status="delivered", refund_amount=Decimal("10.00")),
    purchase(9, datetime(2024, 6, 12, 9)),
]


@pytest.fixture
def customer_orders(backend: BaseBackend) -> ir.Table:
    columns = ("status", "paid_at", "paid_amount", "total_amount", "discount_amount", "refund_amount")
    rows = [{"customer_id": r["customer_id"], **{c: r.get(c) for c in columns}} for r in CUSTOMER_ORDERS]
    schema = ibis.schema({"customer_id": "int64", **{c: RAW_ORDERS.schema[c] for c in columns}})
    return backend.create_table("customer_orders", pa.Table.from_pylist(rows, schema=schema.to_pyarrow()))


def ids(table: ir.Table, column: str = "customer_id") -> set[Any]:
    return set(table[column].to_pyarrow().to_pylist())


def test_active_customers_bought_in_the_days_ending_with_the_as_of_date(customer_orders: ir.Table) -> None:
    assert ids(measures.active_customers(customer_orders, as_of=AS_OF, days=30)) == {1, 2, 6, 7, 9}
    assert ids(measures.active_customers(customer_orders, as_of=AS_OF, days=31)) == {1, 2, 5, 6, 7, 9}
    assert ids(measures.active_customers(customer_orders, as_of=AS_OF, days=1)) == {6}


def test_new_customers_made_their_first_purchase_in_the_period(customer_orders: ir.Table) -> None:
    assert ids(measures.new_customers(customer_orders, **JUNE)) == {2, 6, 9}


def test_returning_customers_bought_in_the_period_and_before_it(customer_orders: ir.Table) -> None:
    assert ids(measures.returning_customers(customer_orders, **JUNE)) == {1, 7}


def test_new_and_returning_customers_split_the_buyers_of_a_period(customer_orders: ir.Table) -> None:
    new = ids(measures.new_customers(customer_orders, **JUNE))
    returning = ids(measures.returning_customers(customer_orders, **JUNE))
    bought = ids(measures.active_customers(customer_orders, as_of=AS_OF, days=30))  # June has 30 days
    assert (new & returning, new | returning) == (set(), bought)


def test_customer_measures_take_other_key_columns_and_skip_null_keys(customer_orders: ir.Table) -> None:
    records = customer_orders.mutate(
        record=ibis.ifelse(customer_orders.customer_id == 2, ibis.null("string"), "c")
        + customer_orders.customer_id.cast("string")
    )
    new = measures.new_customers(records, **JUNE, by=["record"])
    assert new.columns == ("record",)
    assert ids(new, "record") == {"c6", "c9"}  # customer 2's orders have no key


def test_customer_measures_refuse_empty_windows_and_periods(customer_orders: ir.Table) -> None:
    with pytest.raises(ValueError, match="at least 1 day"):
        measures.active_customers(customer_orders, as_of=AS_OF, days=0)
    with pytest.raises(ValueError, match="on or after its start"):
        measures.new_customers(customer_orders, start=date(2024, 6, 30), end=date(2024, 6, 1))
