"""Loyalty (frequency × regularity) and activity (recent orders and events), hand-computed."""

from __future__ import annotations

from datetime import date, datetime

from ibis.backends import BaseBackend

from guanxi.models import inputs
from guanxi.models.config import ActivityConfig, LoyaltyConfig
from guanxi.models.engagement import activity_scores, loyalty_scores, purchase_days, two_factor_group
from tests.models import factories as f
from tests.models.factories import AS_OF


def _bought(con: BaseBackend):  # type: ignore[no-untyped-def]
    orders = inputs.customer_orders(
        con.table("raw_orders"), con.table("identity_map"), before=inputs.cutoff(AS_OF)
    )
    return inputs.purchases(orders)


def test_loyalty_blends_frequency_and_regularity(warehouse: BaseBackend) -> None:
    # given 1: four purchases 10 days apart; 2: three purchases 10 then 30 days apart; 3: two orders on one day
    f.customers(warehouse, [1, 2, 3])
    f.orders(
        warehouse,
        [
            *(f.order(f"a{k}", 1, date(2024, 12, 1 + 10 * k), 10) for k in range(4)),
            f.order("b1", 2, date(2024, 11, 1), 10),
            f.order("b2", 2, date(2024, 11, 11), 10),
            f.order("b3", 2, date(2024, 12, 11), 10),
            f.order("c1", 3, date(2024, 12, 5), 10),
            f.order("c2", 3, date(2024, 12, 5), 10),
        ],
    )
    got = {
        int(r.customer_id): r
        for r in loyalty_scores(purchase_days(_bought(warehouse)), as_of=AS_OF, config=LoyaltyConfig())
        .to_pandas()
        .itertuples()
    }
    # then 1: regularity 1 (CV 0), frequency 4/12 → 100·(0.6/3 + 0.4) = 60
    assert (got[1].loyalty_purchases, got[1].regularity, got[1].loyalty_score) == (4, 1.0, 60.0)
    # and 2: gaps 10, 30 → mean 20, sd 10, CV 0.5, regularity 2/3; frequency 3/12 → 100·(0.15 + 0.2667) = 41.7
    assert got[2].regularity == 0.6667
    assert got[2].loyalty_score == 41.7
    # and 3: two orders, one purchase day, no gaps → regularity 0; frequency 2/12 → 10
    assert (got[3].loyalty_purchases, got[3].regularity, got[3].loyalty_score) == (2, 0.0, 10.0)


def test_activity_from_recent_orders_and_events(warehouse: BaseBackend) -> None:
    # given 1: two purchases in 90 days and ten events in 30 days (one more just outside);
    # 2: five purchases and 40 events; 3: only events
    f.customers(warehouse, [1, 2, 3])
    f.orders(
        warehouse,
        [
            f.order("a1", 1, date(2024, 10, 10), 10),
            f.order("a2", 1, date(2024, 12, 30), 10),
            f.order("old", 1, date(2024, 10, 1), 10),  # window starts 2024-10-03
            *(f.order(f"b{k}", 2, date(2024, 12, 1 + k), 10) for k in range(5)),
        ],
    )
    f.events(
        warehouse,
        [
            *(f.event(f"e1-{k}", 1, datetime(2024, 12, 10, k)) for k in range(10)),
            f.event("late", 1, datetime(2024, 12, 1, 23)),  # window starts 2024-12-02
            *(f.event(f"e2-{k}", 2, datetime(2024, 12, 20, 0, k)) for k in range(40)),
            *(f.event(f"e3-{k}", 3, datetime(2024, 12, 20, 0, k)) for k in range(5)),
        ],
    )
    events = inputs.customer_events(
        warehouse.table("raw_events"), warehouse.table("identity_map"), before=inputs.cutoff(AS_OF)
    )
    got = {
        int(r.customer_id): r
        for r in activity_scores(_bought(warehouse), events, as_of=AS_OF, config=ActivityConfig())
        .to_pandas()
        .itertuples()
    }
    # then 1: 100·(0.6·2/3 + 0.4·10/20) = 60; 2: capped at 100; 3: 100·0.4·5/20 = 10
    assert (got[1].recent_purchases, got[1].recent_events, got[1].activity_score) == (2, 10, 60.0)
    assert got[2].activity_score == 100.0
    assert got[3].activity_score == 10.0


def test_two_factor_groups_split_at_the_high_score() -> None:
    import ibis

    t = ibis.memtable({"v": [50.0, 50.0, 49.9, None], "a": [50.0, 10.0, 80.0, None]})
    got = t.select(g=two_factor_group(t.v, t.a, 50)).to_pandas().g.tolist()
    assert got == ["high_value_active", "high_value_inactive", "low_value_active", "low_value_inactive"]
