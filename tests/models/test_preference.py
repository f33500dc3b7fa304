"""Preference tags: categories, brands, price band, discount, channel, daypart — hand-computed."""

from __future__ import annotations

from datetime import datetime

from ibis.backends import BaseBackend

from guanxi.models import inputs
from guanxi.models.config import PreferenceConfig
from guanxi.models.preference import preference_tags, top_category
from tests.models import factories as f
from tests.models.factories import AS_OF


def _seed(con: BaseBackend) -> None:
    """1: three orders (one half-refunded) over three categories; 2: one late-night order; 3: no channel, no category."""
    f.customers(con, [1, 2, 3])
    f.orders(
        con,
        [
            f.order("o1", 1, datetime(2024, 12, 1, 9, 30), 300, discount=10, channel="app"),
            f.order("o2", 1, datetime(2024, 12, 10, 20), 100, channel="app"),
            f.order(
                "o3",
                1,
                datetime(2024, 11, 10, 9),
                100,
                discount=5,
                channel="web",
                status="delivered",
                refund=50,
            ),
            f.order("o4", 2, datetime(2024, 12, 5, 23, 30), 10, channel="web"),
            f.order("o5", 3, datetime(2024, 12, 5, 14), 1000),
        ],
    )
    f.items(
        con,
        [
            f.item("o1", "1", category="母婴", brand="A", quantity=2, price=100),
            f.item("o1", "2", category="数码", brand="B", quantity=1, price=100),
            f.item("o2", "1", category="母婴", brand="A", quantity=1, price=100),
            f.item("o3", "1", category="美妆", brand="C", quantity=4, price=25),
            f.item("o4", "1", category="数码", brand="B", quantity=1, price=10),
            f.item("o5", "1", category="", brand="D", quantity=1, price=1000),
        ],
    )


def _tags(con: BaseBackend):  # type: ignore[no-untyped-def]
    orders = inputs.customer_orders(
        con.table("raw_orders"), con.table("identity_map"), before=inputs.cutoff(AS_OF)
    )
    items = inputs.customer_items(con.table("raw_order_items"), inputs.paid_orders(orders))
    return preference_tags(inputs.purchases(orders), items, as_of=AS_OF, config=PreferenceConfig())


def test_preference_tags_match_the_hand_computed_ones(warehouse: BaseBackend) -> None:
    _seed(warehouse)
    frame = _tags(warehouse).to_pandas()
    got = {(int(r.customer_id), r.tag, r.value): round(r.weight, 4) for r in frame.itertuples()}
    # then customer 1's net spend 母婴 300 / 数码 100 / 美妆 50 (half refunded) gives two category tags ≥ 20 %
    assert got[(1, "category", "母婴")] == 0.6667
    assert got[(1, "category", "数码")] == 0.2222
    assert (1, "category", "美妆") not in got
    assert got[(1, "brand", "A")] == 0.6667
    # and the average item price 500 / 8 = 62.5 sits between customer 2 (10) and 3 (1000): mid band
    assert got[(1, "price_band", "mid")] == 62.5
    assert got[(2, "price_band", "low")] == 10.0
    assert got[(3, "price_band", "high")] == 1000.0
    # and 2 of 3 purchases had a discount: sensitive; most purchases came by app, in the morning
    assert got[(1, "discount", "sensitive")] == 0.6667
    assert got[(1, "channel", "app")] == 0.6667
    assert got[(1, "daypart", "morning")] == 0.6667
    # and customer 2 bought once at 23:30 by web without a discount
    assert got[(2, "daypart", "night")] == 1.0
    assert got[(2, "discount", "insensitive")] == 0.0
    assert got[(2, "channel", "web")] == 1.0
    # and missing channel and empty category give no tag
    assert not [k for k in got if k[0] == 3 and k[1] in {"channel", "category"}]


def test_top_category_is_the_largest_share(warehouse: BaseBackend) -> None:
    _seed(warehouse)
    frame = top_category(_tags(warehouse)).to_pandas()
    assert dict(zip(frame.customer_id, frame.top_category, strict=True)) == {1: "母婴", 2: "数码"}
