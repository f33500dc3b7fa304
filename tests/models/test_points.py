"""The points ledger: earn, promotions, refunds, bonuses, FIFO expiry, redemption — never lost, never doubled."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from ibis.backends import BaseBackend

from guanxi.models import inputs
from guanxi.models.config import PointsConfig, Promotion
from guanxi.models.outputs import POINTS_LEDGER
from guanxi.models.points import InsufficientPointsError, balances, redeem_points, update_ledger
from tests.models import factories as f

CONFIG = PointsConfig(
    earn_per_yuan=1,
    expiry_months=12,
    promotions=(Promotion(name="double-11", start=date(2024, 11, 11), end=date(2024, 11, 11), multiplier=2),),
)


def _post(con: BaseBackend, as_of: date, config: PointsConfig = CONFIG, run: str = "r") -> int:
    end = inputs.cutoff(as_of)
    orders = inputs.customer_orders(con.table("raw_orders"), con.table("identity_map"), before=end)
    events = inputs.customer_events(con.table("raw_events"), con.table("identity_map"), before=end)
    return update_ledger(
        con,
        orders,
        inputs.purchases(orders),
        events,
        as_of=as_of,
        config=config,
        run_id=run,
        recorded_at=datetime(2025, 1, 1),
    )


def _balance(con: BaseBackend, customer_id: int = 1) -> int:
    frame = balances(con.table(POINTS_LEDGER.name), con.table("identity_map")).to_pandas()
    return int(frame.set_index("customer_id").points_balance.get(customer_id, 0))


def _entries(con: BaseBackend) -> dict[str, int]:
    frame = con.table(POINTS_LEDGER.name).to_pandas()
    return dict(zip(frame.entry_id, frame.points, strict=True))


@pytest.fixture
def three_orders(warehouse: BaseBackend) -> BaseBackend:
    """Customer 1: 100.50 on 2024-01-10; 200 on double-11; 50 on 2024-06-01 with 20 refunded."""
    f.customers(warehouse, [1])
    f.orders(
        warehouse,
        [
            f.order("o1", 1, date(2024, 1, 10), 100.50),
            f.order("o2", 1, date(2024, 11, 11), 200),
            f.order("o3", 1, date(2024, 6, 1), 50, status="delivered", refund=20),
        ],
    )
    return warehouse


def test_earn_promotion_and_refund(three_orders: BaseBackend) -> None:
    # when the ledger is posted as of 2024-12-31
    written = _post(three_orders, date(2024, 12, 31))
    # then each order earns ⌊amount × rate⌋ (double on 11-11) and the refund reverses ⌊net⌋ − ⌊amount⌋
    assert _entries(three_orders) == {
        "earn:shop:o1:0": 100,
        "earn:shop:o2:0": 400,
        "earn:shop:o3:0": 50,
        "refund:shop:o3:0": -20,
    }
    assert written == 4
    assert _balance(three_orders) == 530


def test_posting_again_writes_nothing(three_orders: BaseBackend) -> None:
    _post(three_orders, date(2024, 12, 31))
    # when the same ledger is posted twice more
    again = _post(three_orders, date(2024, 12, 31)) + _post(three_orders, date(2024, 12, 31))
    # then nothing is added and the balance holds
    assert again == 0
    assert _balance(three_orders) == 530


def test_a_corrected_amount_adjusts_by_the_difference(three_orders: BaseBackend) -> None:
    _post(three_orders, date(2024, 12, 31))
    # given order o2 re-imported with 210 instead of 200
    three_orders.raw_sql("UPDATE raw_orders SET paid_amount = 210 WHERE order_id = 'o2'")
    _post(three_orders, date(2024, 12, 31))
    # then one adjusting entry of +20 (doubled) is added, numbered after the first
    assert _entries(three_orders)["earn:shop:o2:1"] == 20
    assert _balance(three_orders) == 550


def test_expiry_consumes_oldest_points_first(three_orders: BaseBackend) -> None:
    _post(three_orders, date(2024, 12, 31))
    # when o1's 100 points reach their expiry on 2025-01-10; the 20-point refund already took 20 of them
    _post(three_orders, date(2025, 1, 31))
    assert _entries(three_orders)["expire:1:2025-01-10"] == -80
    assert _balance(three_orders) == 450
    # and after redeeming 300 the June lot (50) is spent, so nothing expires on 2025-06-01
    assert (
        redeem_points(three_orders, customer_id=1, points=300, reference="coupon-1", at=datetime(2025, 2, 1))
        == 150
    )
    _post(three_orders, date(2025, 6, 30))
    assert not [k for k in _entries(three_orders) if k.startswith("expire:1:2025-06")]
    # and on 2025-11-11 the rest of the double-11 lot expires: 550 credits − 320 debits − 80 already = 150
    _post(three_orders, date(2025, 11, 30))
    assert _entries(three_orders)["expire:1:2025-11-11"] == -150
    assert _balance(three_orders) == 0


def test_redemption_is_idempotent_and_bounded(three_orders: BaseBackend) -> None:
    _post(three_orders, date(2024, 12, 31))
    assert (
        redeem_points(three_orders, customer_id=1, points=100, reference="order-9", at=datetime(2025, 1, 2))
        == 430
    )
    # when the same reference is redeemed again, nothing changes
    assert (
        redeem_points(three_orders, customer_id=1, points=100, reference="order-9", at=datetime(2025, 1, 2))
        == 430
    )
    # and more than the balance is refused
    with pytest.raises(InsufficientPointsError, match="holds 430 points"):
        redeem_points(three_orders, customer_id=1, points=1000, reference="order-10", at=datetime(2025, 1, 2))
    assert _balance(three_orders) == 430


def test_first_purchase_and_event_bonuses_once(three_orders: BaseBackend) -> None:
    f.events(
        three_orders,
        [f.event("e1", 1, datetime(2024, 12, 1), "review"), f.event("e2", 1, datetime(2024, 12, 2), "view")],
    )
    config = CONFIG.model_copy(update={"first_purchase_bonus": 50, "event_bonus": {"review": 10}})
    _post(three_orders, date(2024, 12, 31), config)
    _post(three_orders, date(2024, 12, 31), config)
    entries = _entries(three_orders)
    # then the first purchase and the review earn once each; the view earns nothing
    assert entries["first_purchase:1"] == 50
    assert entries["event:shop:e1"] == 10
    assert "event:shop:e2" not in entries
    assert _balance(three_orders) == 590


def test_earn_on_delivery_waits_for_delivery(warehouse: BaseBackend) -> None:
    f.customers(warehouse, [1])
    f.orders(
        warehouse,
        [
            f.order("shipped", 1, date(2024, 12, 1), 80, status="shipped"),
            f.order("done", 1, date(2024, 12, 1), 60, status="delivered", delivered_at=datetime(2024, 12, 5)),
        ],
    )
    _post(warehouse, date(2024, 12, 31), CONFIG.model_copy(update={"earn_on": "delivered"}))
    assert _entries(warehouse) == {"earn:shop:done:0": 60}


def test_balances_follow_identity_merges(three_orders: BaseBackend) -> None:
    _post(three_orders, date(2024, 12, 31))
    # given the record shop/c1 is later merged into customer 7
    three_orders.raw_sql("UPDATE identity_map SET customer_id = 7 WHERE source_customer_id = 'c1'")
    # then its points are counted under customer 7
    assert _balance(three_orders, 7) == 530
    assert _balance(three_orders, 1) == 0
