"""Portrait: k-means on standardised features, k by silhouette, in-warehouse assignment, named clusters."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import numpy as np
import pytest
from ibis.backends import BaseBackend

from guanxi.models import inputs
from guanxi.models.config import PortraitConfig
from guanxi.models.portrait import (
    FEATURES,
    assign_clusters,
    describe_centroid,
    describe_clusters,
    fit_clusters,
    portrait_features,
)
from tests.models import factories as f
from tests.models.factories import AS_OF


@pytest.fixture
def two_kinds_of_buyer(warehouse: BaseBackend) -> BaseBackend:
    """Customers 1–30: five 1000-yuan orders in December, 母婴, 广东.
    Customers 31–60: one 20-yuan discounted order in February, 数码, 浙江."""
    ids = range(1, 61)
    f.customers(warehouse, ids, province={i: "广东" if i <= 30 else "浙江" for i in ids})
    orders, items = [], []
    for i in ids:
        big = i <= 30
        for k in range(5 if big else 1):
            oid = f"o{i}-{k}"
            day = (
                date(2024, 12, 1) + timedelta(days=k + i % 5)
                if big
                else date(2024, 2, 1) + timedelta(days=i % 7)
            )
            orders.append(f.order(oid, i, day, 1000 + i if big else 20 + i % 3, discount=None if big else 5))
            items.append(
                f.item(
                    oid,
                    "1",
                    category="母婴" if big else "数码",
                    brand="A",
                    quantity=1,
                    price=1000 if big else 20,
                )
            )
    f.orders(warehouse, orders)
    f.items(warehouse, items)
    return warehouse


def _features(con: BaseBackend) -> ibis.Table:
    orders = inputs.customer_orders(
        con.table("raw_orders"), con.table("identity_map"), before=inputs.cutoff(AS_OF)
    )
    return portrait_features(inputs.purchases(orders), as_of=AS_OF, window_days=365)


def test_two_kinds_are_found_and_named(two_kinds_of_buyer: BaseBackend) -> None:
    features = _features(two_kinds_of_buyer)
    config = PortraitConfig(k_min=2, k_max=5)
    model = fit_clusters(features, config)
    # then silhouette picks k = 2 and every customer of a kind lands in the same cluster
    assert model.k == 2
    assigned = assign_clusters(features, model).to_pandas()
    by_customer = dict(zip(assigned.customer_id, assigned.cluster, strict=True))
    assert len({by_customer[i] for i in range(1, 31)}) == 1
    assert len({by_customer[i] for i in range(31, 61)}) == 1
    assert by_customer[1] != by_customer[31]
    # and the clusters are described in words, with the dominant category and province
    customers = two_kinds_of_buyer.table("customers").select("customer_id", "province")
    tops = ibis.memtable({"customer_id": list(range(1, 61)), "top_category": ["母婴"] * 30 + ["数码"] * 30})
    labelled = assign_clusters(features, model).join(customers, "customer_id").join(tops, "customer_id")
    described = {
        d["cluster"]: d for d in describe_clusters(labelled, features, model, config=config, locale="en")
    }
    big = described[by_customer[1]]
    small = described[by_customer[31]]
    assert big["label"] == "high-spend, frequent, recent, big-basket, full-price, 母婴, 广东"
    assert small["label"] == "low-spend, infrequent, lapsed, small-basket, deal-seeking, 数码, 浙江"
    assert (big["customers"], small["customers"]) == (30, 30)


def test_warehouse_assignment_equals_nearest_centroid(two_kinds_of_buyer: BaseBackend) -> None:
    features = _features(two_kinds_of_buyer)
    model = fit_clusters(features, PortraitConfig(k_min=3, k_max=3))
    frame = features.to_pandas().sort_values("customer_id")
    # given the same standardisation done in numpy
    raw = np.column_stack(
        [
            np.log1p(frame[n]) if n in {"monetary", "frequency", "average_order_value"} else frame[n]
            for n in FEATURES
        ]
    )
    scaled = (raw - np.array([model.means[n] for n in FEATURES])) / np.array(
        [model.stds[n] for n in FEATURES]
    )
    nearest = ((scaled[:, None, :] - model.centroids[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    # then the SQL assignment agrees for every customer
    assigned = assign_clusters(features, model).to_pandas().sort_values("customer_id")
    assert assigned.cluster.tolist() == nearest.tolist()


def test_centroid_words_respect_the_threshold() -> None:
    centroid = np.array([0.6, -0.4, 0.0, -0.7, 0.5])
    assert describe_centroid(centroid, 0.5, "en") == ["high-spend", "small-basket", "deal-seeking"]
    assert describe_centroid(centroid, 0.5, "zh-CN") == ["高消费", "小单", "爱用优惠"]
    assert describe_centroid(np.zeros(5), 0.5, "en") == ["typical"]


def test_too_few_buyers_refuse_to_cluster(warehouse: BaseBackend) -> None:
    from guanxi.models.bgnbd import FitError

    f.customers(warehouse, [1])
    f.orders(warehouse, [f.order("o", 1, date(2024, 12, 1), 10)])
    with pytest.raises(FitError, match="more than 2 buyers"):
        fit_clusters(_features(warehouse), PortraitConfig())
