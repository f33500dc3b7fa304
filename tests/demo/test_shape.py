"""The generated shop behaves like a real one: repeat behaviour, seasons, statuses, money."""

from __future__ import annotations

import numpy as np

from guanxi.demo.dataset import DemoDataset
from guanxi.demo.fulfilment import CANCELLED, DELIVERED, NO_TIME, REFUNDED, UNPAID
from tests.demo.conftest import ORDERS


def _orders_per_buyer(data: DemoDataset) -> np.ndarray:
    counts = np.bincount(data.orders.buyer)
    return counts[counts > 0]


def _orders_in(data: DemoDataset, month: str) -> int:
    months = data.orders.created.astype("datetime64[s]").astype("datetime64[M]")
    return int((months == np.datetime64(month, "M")).sum())


def test_order_count_is_exactly_the_requested_size(demo_data: DemoDataset) -> None:
    assert len(demo_data.orders) == ORDERS


def test_most_buyers_buy_once(demo_data: DemoDataset) -> None:
    # given the order counts per buyer, then more than half bought exactly once
    counts = _orders_per_buyer(demo_data)
    assert (counts == 1).mean() > 0.5


def test_a_heavy_tail_of_buyers_buys_often(demo_data: DemoDataset) -> None:
    counts = np.sort(_orders_per_buyer(demo_data))[::-1]
    top_decile = counts[: len(counts) // 10].sum() / counts.sum()
    assert counts[0] >= 15
    assert (counts >= 8).mean() >= 0.02
    assert top_decile >= 0.30


def test_double_eleven_month_has_far_more_orders_than_a_normal_month(demo_data: DemoDataset) -> None:
    # given November 2025 (双11) and the quiet August and September before it
    normal = (_orders_in(demo_data, "2025-08") + _orders_in(demo_data, "2025-09")) / 2
    # then November carries at least twice a normal month's orders
    assert _orders_in(demo_data, "2025-11") >= 2 * normal
    assert _orders_in(demo_data, "2025-06") >= 1.5 * normal  # 618


def test_eleventh_of_november_is_the_busiest_day(demo_data: DemoDataset) -> None:
    days = demo_data.orders.created.astype("datetime64[s]").astype("datetime64[D]")
    values, counts = np.unique(days, return_counts=True)
    assert str(values[np.argmax(counts)])[5:] == "11-11"


def test_statuses_include_unpaid_cancelled_refunded_and_delivered(demo_data: DemoDataset) -> None:
    present = set(np.unique(demo_data.orders.state.status).tolist())
    assert {UNPAID, CANCELLED, REFUNDED, DELIVERED} <= present


def test_orders_happen_inside_the_two_years_of_history(demo_data: DemoDataset) -> None:
    spec = demo_data.spec
    created = demo_data.orders.created.astype("datetime64[s]")
    assert created.min() >= np.datetime64(spec.start)
    assert created.max() <= np.datetime64(spec.end)


def test_evenings_are_busier_than_early_mornings(demo_data: DemoDataset) -> None:
    hours = (demo_data.orders.created % 86_400) // 3_600
    assert (hours == 21).sum() > 5 * (hours == 4).sum()


def test_order_totals_agree_with_their_lines_and_charges(demo_data: DemoDataset) -> None:
    orders = demo_data.orders
    lines = orders.lines
    goods = np.bincount(lines.order, weights=lines.price * lines.quantity, minlength=len(orders))
    assert np.array_equal(goods.astype(np.int64), orders.goods)
    assert np.array_equal(orders.total, orders.goods + orders.shipping)
    assert np.all(orders.discount <= orders.goods // 2)
    paid = orders.paid_amount
    assert np.all((paid == 0) | (paid == orders.payable))
    refunded = orders.state.status == REFUNDED
    assert np.array_equal(orders.refund[refunded], orders.payable[refunded])
    assert np.all(orders.refund <= orders.payable)


def test_times_follow_the_order_lifecycle(demo_data: DemoDataset) -> None:
    st = demo_data.orders.state
    created = demo_data.orders.created
    paid = st.paid != NO_TIME
    shipped = st.shipped != NO_TIME
    delivered = st.delivered != NO_TIME
    assert np.all(st.paid[paid] >= created[paid])
    assert np.all(shipped <= paid)
    assert np.all(st.shipped[shipped] > st.paid[shipped])
    assert np.all(delivered <= shipped)
    assert np.all(st.delivered[delivered] > st.shipped[delivered])
    assert not paid[st.status == UNPAID].any()
    assert np.all(delivered[st.status == DELIVERED])


def test_people_are_spread_over_populous_provinces(demo_data: DemoDataset) -> None:
    provinces, counts = np.unique(np.array(demo_data.people.province.to_pylist()), return_counts=True)
    top = set(provinces[np.argsort(counts)[::-1][:6]].tolist())
    assert "广东省" in top
    assert len(top & {"广东省", "江苏省", "浙江省", "山东省", "上海市", "北京市", "河南省", "四川省"}) >= 4
    assert len(provinces) >= 25


def test_tickets_and_events_belong_to_people_who_exist(demo_data: DemoDataset) -> None:
    size = len(demo_data.people)
    for table in (demo_data.tickets, demo_data.events, demo_data.crm, demo_data.followers, demo_data.sales):
        slots = table.column("person").to_numpy()
        assert slots.min() >= 0
        assert slots.max() < size
    kinds = set(demo_data.tickets.column("kind").to_pylist())
    assert {"咨询", "投诉", "退货", "表扬"} <= kinds
    events = set(demo_data.events.column("event").drop_null().to_pylist())
    assert {"view", "click", "login", "share", "review", "open", "reply"} <= events
