"""Value: contribution, Pareto, pyramid tiers and the 0–100 value score, hand-computed."""

from __future__ import annotations

from datetime import date, datetime

import ibis
from ibis.backends import BaseBackend

from guanxi.models import inputs
from guanxi.models.config import ValueConfig
from guanxi.models.value import contribution, pareto_curve, pareto_customer_share, value_scores
from tests.models import factories as f
from tests.models.factories import AS_OF


def _contributions(values: dict[int, float]) -> ibis.Table:
    return ibis.memtable(
        {"customer_id": list(values), "contribution": list(values.values())},
        schema={"customer_id": "int64", "contribution": "decimal(18, 2)"},
    )


def test_hundred_buyers_pyramid_pareto_and_score() -> None:
    # given customer k contributed k yuan, k = 1..100 (total 5050)
    scored = value_scores(_contributions({k: k for k in range(1, 101)}), config=ValueConfig())
    got = {int(r.customer_id): r for r in scored.to_pandas().itertuples()}
    # then the pyramid holds 1 / 4 / 15 / 80 customers from the top
    tiers = {k: got[k].value_tier for k in got}
    assert [k for k, t in tiers.items() if t == "platinum"] == [100]
    assert sorted(k for k, t in tiers.items() if t == "gold") == [96, 97, 98, 99]
    assert sorted(k for k, t in tiers.items() if t == "iron") == list(range(81, 96))
    assert sum(t == "lead" for t in tiers.values()) == 80
    # and the customers needed for 80 % (4040) are 45..100: the running total before 45 is 5050 − 45·46/2 = 4015
    assert sorted(k for k in got if got[k].pareto_top) == list(range(45, 101))
    assert pareto_customer_share(scored).execute() == 0.56
    # and the value score is the cumulative share: customer k scores k
    assert got[37].value_score == 37.0
    assert got[100].value_score == 100.0
    assert abs(got[100].pareto_cum_share - 100 / 5050) < 1e-12


def test_ties_share_the_better_pyramid_tier() -> None:
    # given ten customers where the top two tie
    scored = value_scores(
        _contributions({1: 50, 2: 50, **{k: k for k in range(3, 11)}}), config=ValueConfig()
    )
    tiers = dict(scored.select("customer_id", "value_tier").to_pandas().itertuples(index=False))
    # then both share the single platinum place (⌈10 · 1 %⌉ = 1)
    assert tiers[1] == tiers[2] == "platinum"


def test_pareto_curve_is_cumulative() -> None:
    # given four customers with 70, 20, 5, 5
    curve = pareto_curve(
        value_scores(_contributions({1: 70, 2: 20, 3: 5, 4: 5}), config=ValueConfig()), points=4
    )
    frame = curve.to_pandas()
    # then the top quarter holds 70 % and everyone holds 100 %
    assert list(frame.customer_share) == [0.25, 0.5, 0.75, 1.0]
    assert [round(v, 4) for v in frame.revenue_share] == [0.7, 0.9, 0.95, 1.0]


def test_gross_margin_contribution_nets_refunds(warehouse: BaseBackend) -> None:
    # given an order of 200 (100 母婴 + 100 数码), half refunded, with margins 35 % and 10 %
    f.customers(warehouse, [1])
    f.orders(warehouse, [f.order("o1", 1, datetime(2024, 12, 1), 200, status="delivered", refund=100)])
    f.items(
        warehouse,
        [
            f.item("o1", "a", category="母婴", brand="x", quantity=1, price=100),
            f.item("o1", "b", category="数码", brand="y", quantity=2, price=50),
        ],
    )
    orders = inputs.customer_orders(
        warehouse.table("raw_orders"), warehouse.table("identity_map"), before=inputs.cutoff(AS_OF)
    )
    items = inputs.customer_items(warehouse.table("raw_order_items"), inputs.paid_orders(orders))
    config = ValueConfig(contribution="gross_margin", margin_rates={"母婴": 0.35, "数码": 0.10})
    got = contribution(inputs.purchases(orders), items, as_of=AS_OF, config=config).to_pandas()
    # then the margin is (100 · 0.35 + 100 · 0.10) · 50 % = 22.50
    assert str(got.contribution.iloc[0]) == "22.50"


def test_revenue_contribution_uses_the_window(warehouse: BaseBackend) -> None:
    # given purchases inside and outside a 30-day window
    f.customers(warehouse, [1])
    f.orders(warehouse, [f.order("in", 1, date(2024, 12, 15), 80), f.order("out", 1, date(2024, 11, 1), 500)])
    orders = inputs.customer_orders(
        warehouse.table("raw_orders"), warehouse.table("identity_map"), before=inputs.cutoff(AS_OF)
    )
    got = contribution(
        inputs.purchases(orders), orders, as_of=AS_OF, config=ValueConfig(window_days=30)
    ).to_pandas()
    # then only the purchase inside counts
    assert str(got.contribution.iloc[0]) == "80.00"
