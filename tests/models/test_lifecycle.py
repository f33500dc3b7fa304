"""Lifecycle stages judged against each customer's own rhythm (or the population's)."""

from __future__ import annotations

from datetime import date

import ibis
from ibis.backends import BaseBackend

from guanxi.models import inputs
from guanxi.models.config import LifecycleConfig
from guanxi.models.engagement import purchase_days
from guanxi.models.lifecycle import lifecycle_stages, purchase_rhythm, stage_transitions
from tests.models import factories as f
from tests.models.factories import AS_OF


def _days(*days: date) -> list[date]:
    return list(days)


SCENARIO = {
    # customer: purchase dates (as of 2024-12-31)
    2: _days(date(2024, 12, 1), date(2024, 12, 11), date(2024, 12, 21)),  # own 10, 10 days since → maturity
    3: _days(date(2024, 11, 1), date(2024, 11, 11), date(2024, 11, 21)),  # own 10, 40 since > 30 → churned
    4: _days(date(2024, 11, 21), date(2024, 12, 1), date(2024, 12, 11)),  # own 10, 20 since > 15 → decline
    5: _days(date(2024, 12, 30)),  # population 10, 1 since → growth
    6: _days(date(2024, 10, 1), date(2024, 12, 30)),  # 2 days: population interval, growth
    7: _days(date(2024, 12, 1)),  # 30 since: not > 30 → decline, not churned
    8: _days(date(2024, 12, 16)),  # 15 since: not > 15 → growth
    10: _days(
        date(2024, 12, 29), date(2024, 12, 30), date(2024, 12, 31)
    ),  # own 1 → floor 7, 0 since → maturity
    11: _days(
        date(2024, 12, 18), date(2024, 12, 19), date(2024, 12, 20)
    ),  # floor 7, 11 since > 10.5 → decline
}
"""Own mean gaps of customers with ≥ 2 purchase days: 10, 10, 10, 90, 1, 1 → population median 10."""


def test_stages_against_own_and_population_rhythm(warehouse: BaseBackend) -> None:
    # given the scenario, customer 1 a lead and customer 9 with only a refunded order
    f.customers(warehouse, [1, *SCENARIO, 9])
    rows = [f.order(f"o{c}-{k}", c, day, 50) for c, days in SCENARIO.items() for k, day in enumerate(days)]
    rows.append(f.order("refund", 9, date(2024, 12, 1), 50, status="refunded"))
    f.orders(warehouse, rows)
    orders = inputs.customer_orders(
        warehouse.table("raw_orders"), warehouse.table("identity_map"), before=inputs.cutoff(AS_OF)
    )
    rhythm = purchase_rhythm(purchase_days(inputs.purchases(orders)), as_of=AS_OF)
    frame = lifecycle_stages(
        warehouse.table("customers"), rhythm, as_of=AS_OF, config=LifecycleConfig()
    ).to_pandas()
    got = {int(r.customer_id): r for r in frame.itertuples()}
    # then each stage is the hand-computed one
    assert {c: got[c].lifecycle_stage for c in got} == {
        1: "acquisition",
        2: "maturity",
        3: "churned",
        4: "decline",
        5: "growth",
        6: "growth",
        7: "decline",
        8: "growth",
        9: "acquisition",
        10: "maturity",
        11: "decline",
    }
    # and the interval used is stated
    assert (got[2].expected_interval_days, got[2].interval_basis) == (10.0, "own")
    assert (got[5].expected_interval_days, got[5].interval_basis) == (10.0, "population")
    assert got[10].expected_interval_days == 7.0
    assert got[1].interval_basis is None
    assert got[3].days_since_last_purchase == 40


def test_population_interval_falls_back_to_the_default(warehouse: BaseBackend) -> None:
    # given only one-time buyers
    f.customers(warehouse, [1])
    f.orders(warehouse, [f.order("o", 1, date(2024, 10, 1), 50)])
    orders = inputs.customer_orders(
        warehouse.table("raw_orders"), warehouse.table("identity_map"), before=inputs.cutoff(AS_OF)
    )
    rhythm = purchase_rhythm(purchase_days(inputs.purchases(orders)), as_of=AS_OF)
    config = LifecycleConfig(default_interval_days=60)
    frame = lifecycle_stages(warehouse.table("customers"), rhythm, as_of=AS_OF, config=config).to_pandas()
    # then the default 60 days applies: 91 days since > 1.5 · 60 → decline
    assert frame.expected_interval_days.iloc[0] == 60.0
    assert frame.lifecycle_stage.iloc[0] == "decline"


def test_transitions_record_changes_and_newcomers() -> None:
    # given a previous snapshot and the current stages
    previous = ibis.memtable({"customer_id": [1, 2, 3], "lifecycle_stage": ["growth", "maturity", "decline"]})
    current = ibis.memtable(
        {"customer_id": [1, 2, 3, 4], "lifecycle_stage": ["maturity", "maturity", "churned", "growth"]}
    )
    moved = stage_transitions(current, previous).order_by("customer_id").to_pandas()
    # then changed customers and the newcomer are recorded, the unchanged one is not
    assert moved.values.tolist() == [
        [1, "growth", "maturity"],
        [3, "decline", "churned"],
        [4, None, "growth"],
    ]
