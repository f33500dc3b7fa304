"""Measuring identity resolution against labelled pairs (precision, recall, F1).

Give the pairs of records known to be the same person; every pair of records
resolved to one customer is a predicted pair. Counted in the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.tables import IDENTITY_MAP

_PAIR = ["left_source", "left_source_customer_id", "right_source", "right_source_customer_id"]


@dataclass(frozen=True)
class PairQuality:
    """Pair counts and the scores derived from them (0.0 when undefined)."""

    predicted: int
    true: int
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.true if self.true else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def _before(
    a_source: ir.StringValue, a_id: ir.StringValue, b_source: ir.StringValue, b_id: ir.StringValue
) -> ir.BooleanValue:
    earlier: ir.BooleanValue = (a_source < b_source) | ((a_source == b_source) & (a_id < b_id))
    return earlier


def predicted_pairs(identity_map: ir.Table) -> ir.Table:
    """Every pair of records in one customer, smaller record on the left."""
    left = identity_map.view()
    right = identity_map.view()
    joined = left.join(right, left.customer_id == right.customer_id).filter(
        _before(left.source, left.source_customer_id, right.source, right.source_customer_id)
    )
    return joined.select(
        left_source=left.source,
        left_source_customer_id=left.source_customer_id,
        right_source=right.source,
        right_source_customer_id=right.source_customer_id,
    )


def canonical_pairs(pairs: ir.Table) -> ir.Table:
    """Labelled pairs with the smaller record on the left, once each, self-pairs dropped."""
    swap = ~_before(
        pairs.left_source, pairs.left_source_customer_id, pairs.right_source, pairs.right_source_customer_id
    )
    ordered = pairs.select(
        left_source=ibis.ifelse(swap, pairs.right_source, pairs.left_source),
        left_source_customer_id=ibis.ifelse(
            swap, pairs.right_source_customer_id, pairs.left_source_customer_id
        ),
        right_source=ibis.ifelse(swap, pairs.left_source, pairs.right_source),
        right_source_customer_id=ibis.ifelse(
            swap, pairs.left_source_customer_id, pairs.right_source_customer_id
        ),
    )
    distinct = ordered.distinct()
    return distinct.filter(
        (distinct.left_source != distinct.right_source)
        | (distinct.left_source_customer_id != distinct.right_source_customer_id)
    )


def pair_quality(con: BaseBackend, truth: ir.Table) -> PairQuality:
    """Compare the current ``identity_map`` with labelled pairs (columns: left_source,
    left_source_customer_id, right_source, right_source_customer_id; any order)."""
    predicted = predicted_pairs(con.table(IDENTITY_MAP.name))
    true = canonical_pairs(truth)
    correct = predicted.join(true, _PAIR)
    return PairQuality(
        predicted=int(predicted.count().execute()),
        true=int(true.count().execute()),
        correct=int(correct.count().execute()),
    )
