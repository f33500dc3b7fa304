"""Attribution in DuckDB: a small named data set computed by hand, and generated campaigns with a known effect."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from guanxi.errors import ValidationFailedError
from guanxi.marketing.measurement.attribution import arms, credited, last_touch, outcomes
from guanxi.marketing.measurement.uplift import compare
from guanxi.tables import RAW_ORDERS

DATA = Path(__file__).parents[2] / "data" / "measurement"
EXPOSURE_SCHEMA = pa.schema(
    [("customer_id", pa.string()), ("arm", pa.string()), ("exposed_at", pa.timestamp("us"))]
)
SEND_SCHEMA = pa.schema(
    [("campaign", pa.string()), ("customer_id", pa.string()), ("sent_at", pa.timestamp("us"))]
)
ORDER_SCHEMA = pa.schema(
    [*RAW_ORDERS.schema.to_pyarrow(), pa.field("customer_id", pa.string())]  # with the golden id attached
)


def rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def moment(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def money(text: str) -> Decimal | None:
    return Decimal(text) if text else None


def order_table(found: list[dict[str, Any]]) -> ibis.Table:
    full = [{name: row.get(name) for name in ORDER_SCHEMA.names} for row in found]
    return ibis.memtable(pa.Table.from_pylist(full, schema=ORDER_SCHEMA))


@pytest.fixture
def con() -> BaseBackend:
    return ibis.duckdb.connect()


@pytest.fixture
def shop(con: BaseBackend) -> tuple[ibis.Table, ibis.Table, ibis.Table]:
    exposures = [
        {"customer_id": r["customer_id"], "arm": r["arm"], "exposed_at": moment(r["exposed_at"])}
        for r in rows("exposures.csv")
    ]
    sends = [
        {"campaign": r["campaign"], "customer_id": r["customer_id"], "sent_at": moment(r["sent_at"])}
        for r in rows("sends.csv")
    ]
    orders = [
        {
            "source": "shop",
            "order_id": r["order_id"],
            "source_customer_id": f"c{r['customer_id']}",
            "customer_id": r["customer_id"],
            "status": r["status"],
            "created_at": datetime(2026, 10, 31, 20, 0),
            "paid_at": moment(r["paid_at"]),
            "paid_amount": money(r["paid_amount"]),
            "total_amount": money(r["paid_amount"]),
            "refund_amount": money(r["refund_amount"]),
        }
        for r in rows("orders.csv")
    ]
    return (
        ibis.memtable(pa.Table.from_pylist(exposures, schema=EXPOSURE_SCHEMA)),
        ibis.memtable(pa.Table.from_pylist(sends, schema=SEND_SCHEMA)),
        order_table(orders),
    )


def test_outcomes_per_customer_on_the_named_files(con: BaseBackend, shop: tuple[ibis.Table, ...]) -> None:
    exposures, _, orders = shop
    found = {
        r["customer_id"]: (r["arm"], r["orders"], r["revenue"])
        for r in con.to_pyarrow(outcomes(exposures, orders, window=timedelta(days=7))).to_pylist()
    }
    assert found == {
        "1": ("target", 1, Decimal("100.00")),  # o2 is 8 days after the send
        "2": ("target", 1, Decimal("80.00")),  # o3, a minute before the window closes; o4 is unpaid
        "3": ("target", 0, Decimal("0.00")),  # o5 before the first send, o6 fully refunded
        "4": ("target", 0, Decimal("0.00")),
        "5": ("control", 1, Decimal("60.00")),
        "6": ("control", 0, Decimal("0.00")),
        "7": ("control", 2, Decimal("50.00")),  # 30.00 + (25.00 − 5.00 refunded)
        "8": ("control", 0, Decimal("0.00")),
    }


def test_arms_and_uplift_on_the_named_files(shop: tuple[ibis.Table, ...]) -> None:
    exposures, _, orders = shop
    found = arms(exposures, orders)
    target, control = found["target"], found["control"]
    assert (target.customers, target.converted, target.revenue_total) == (4, 2, 180.0)
    assert (control.customers, control.converted, control.revenue_total) == (4, 2, 110.0)
    assert target.revenue == {0.0: 2, 80.0: 1, 100.0: 1}
    uplift = compare(target, control)
    assert uplift.difference == 0.0
    assert uplift.interval is not None
    assert uplift.interval.low == pytest.approx(-uplift.interval.high)  # 2/4 against 2/4: symmetric
    assert not uplift.significant
    assert uplift.revenue_difference == pytest.approx(17.5)  # (180 − 110) ÷ 4
    assert uplift.incremental_revenue == pytest.approx(70.0)
    # a window of one day: only o8 (c7, 23 h after) and nothing else is within it
    narrow = arms(exposures, orders, window=timedelta(days=1))
    assert (narrow["target"].converted, narrow["control"].converted) == (0, 1)


def test_last_touch_credits_the_latest_send_on_the_named_files(
    con: BaseBackend, shop: tuple[ibis.Table, ...]
) -> None:
    _, sends, orders = shop
    found = {
        r["order_id"]: r["campaign"]
        for r in con.to_pyarrow(last_touch(sends, orders, window=timedelta(days=7))).to_pylist()
    }
    # o1: b-members is the later of two sends; o2: 7 days less 2 h after b-members; o5–o7 had no send before
    assert found == {
        "o1": "b-members",
        "o2": "b-members",
        "o3": "a-double11",
        "o8": "b-members",
        "o9": "b-members",
    }
    totals = {
        r["campaign"]: (r["orders"], r["revenue"])
        for r in con.to_pyarrow(credited(sends, orders)).to_pylist()
    }
    assert totals == {"a-double11": (1, Decimal("80.00")), "b-members": (4, Decimal("200.00"))}


def test_a_window_must_be_positive(shop: tuple[ibis.Table, ...]) -> None:
    exposures, sends, orders = shop
    with pytest.raises(ValidationFailedError, match="attribution window"):
        outcomes(exposures, orders, window=timedelta(0))
    with pytest.raises(ValidationFailedError):
        last_touch(sends, orders, window=timedelta(days=-1))


def generated(seed: int, n: int, effect: float) -> tuple[ibis.Table, ibis.Table, dict[str, tuple[int, int]]]:
    """``n`` target and ``n`` control customers sent to on 11-01; buyers pay within the window (or just after)."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 11, 1, 10, 0)
    exposures, orders = [], []
    truth: dict[str, tuple[int, int]] = {}
    for arm, rate in (("target", 0.10 + effect), ("control", 0.10)):
        bought = rng.random(n) < rate
        late = rng.random(n) < 0.3  # a second order 8-9 days later, outside the window
        for index in range(n):
            customer = f"{arm}-{index}"
            exposures.append({"customer_id": customer, "arm": arm, "exposed_at": start})
            if bought[index]:
                orders.append(
                    order(customer, f"{customer}-a", start + timedelta(hours=float(rng.uniform(0, 167))))
                )
            if late[index]:
                orders.append(
                    order(customer, f"{customer}-b", start + timedelta(days=float(rng.uniform(8, 9))))
                )
        truth[arm] = (n, int(bought.sum()))
    return ibis.memtable(pa.Table.from_pylist(exposures, schema=EXPOSURE_SCHEMA)), order_table(orders), truth


def order(customer: str, order_id: str, paid: datetime) -> dict[str, Any]:
    return {
        "source": "shop",
        "order_id": order_id,
        "source_customer_id": customer,
        "customer_id": customer,
        "status": "paid",
        "created_at": paid,
        "paid_at": paid.replace(microsecond=0),
        "paid_amount": Decimal("199.00"),
        "total_amount": Decimal("199.00"),
    }


def test_generated_campaigns_with_a_known_effect_counted_in_the_engine() -> None:
    """20 generated campaigns of 2,000 + 2,000 through DuckDB: counts exact, intervals cover +5 points and 0."""
    covered = {0.05: 0, 0.0: 0}
    for seed in range(20):
        for effect in covered:
            exposures, orders, truth = generated(seed, 2_000, effect)
            found = arms(exposures, orders)
            assert {name: (a.customers, a.converted) for name, a in found.items()} == truth
            assert found["target"].revenue_total == pytest.approx(truth["target"][1] * 199.0)
            uplift = compare(found["target"], found["control"])
            assert uplift.interval is not None
            covered[effect] += uplift.interval.covers(effect)
    # 95 % coverage expected: at least 17 of 20 (a 1-in-60 shortfall for a correct interval)
    assert covered[0.05] >= 17
    assert covered[0.0] >= 17
