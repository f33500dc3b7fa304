"""Frequency × average order value groups A–E and migration matrices."""

from __future__ import annotations

from datetime import date

import ibis
import pytest
from ibis.backends import BaseBackend

from guanxi.models import inputs
from guanxi.models.config import QuadrantConfig
from guanxi.models.quadrant import migration_matrix, quadrant_groups
from tests.models import factories as f
from tests.models.factories import AS_OF


@pytest.fixture
def four_buyers_one_lapsed(warehouse: BaseBackend) -> BaseBackend:
    """1: 4 × 100; 2: 4 × 500; 3: 1 × 500; 4: 1 × 100; 5: bought in 2023 only; 6: lead.
    Buyers' mean frequency 2.5 and mean order value 300 (medians equal)."""
    f.customers(warehouse, range(1, 7))
    rows = [
        *(f.order(f"a{k}", 1, date(2024, 3 + k, 1), 100) for k in range(4)),
        *(f.order(f"b{k}", 2, date(2024, 3 + k, 2), 500) for k in range(4)),
        f.order("c", 3, date(2024, 6, 1), 500),
        f.order("d", 4, date(2024, 6, 1), 100),
        f.order("e", 5, date(2023, 6, 1), 700),
    ]
    f.orders(warehouse, rows)
    return warehouse


def _groups(con: BaseBackend, config: QuadrantConfig) -> dict[int, str]:
    orders = inputs.customer_orders(
        con.table("raw_orders"), con.table("identity_map"), before=inputs.cutoff(AS_OF)
    )
    frame = quadrant_groups(inputs.purchases(orders), as_of=AS_OF, config=config).to_pandas()
    return dict(zip(frame.customer_id, frame.quadrant_group, strict=True))


@pytest.mark.parametrize("split", ["mean", "median"])
def test_groups_split_at_the_buyers_average(four_buyers_one_lapsed: BaseBackend, split: str) -> None:
    got = _groups(four_buyers_one_lapsed, QuadrantConfig(split=split))
    # then A–D by frequency and order value, E for the lapsed buyer, nothing for the lead
    assert got == {1: "B", 2: "A", 3: "C", 4: "D", 5: "E"}


def test_thresholds_at_or_above_are_high(four_buyers_one_lapsed: BaseBackend) -> None:
    # given thresholds exactly at customer 1's frequency and customer 3's order value
    got = _groups(four_buyers_one_lapsed, QuadrantConfig(frequency_threshold=4, aov_threshold=500))
    assert got == {1: "B", 2: "A", 3: "C", 4: "D", 5: "E"}


def test_migration_matrix_counts_moves_entries_and_exits() -> None:
    # given two snapshots
    before = ibis.memtable({"customer_id": [1, 2, 3], "quadrant_group": ["A", "B", "C"]})
    after = ibis.memtable({"customer_id": [1, 2, 4], "quadrant_group": ["A", "A", "D"]})
    frame = migration_matrix(before, after, column="quadrant_group").to_pandas()
    # then each move is counted, with (none) for customers only in one snapshot
    assert frame.values.tolist() == [
        ["(none)", "D", 1, 1.0],
        ["A", "A", 1, 1.0],
        ["B", "A", 1, 1.0],
        ["C", "(none)", 1, 1.0],
    ]
