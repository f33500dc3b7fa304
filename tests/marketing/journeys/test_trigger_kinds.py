"""The built-in trigger kinds on a tiny hand-made warehouse, on DuckDB and PostgreSQL.

Every timestamp below is a naive wall-clock time in Asia/Shanghai (UTC+8), as the
warehouse keeps them; every window is given aware in UTC, as the scheduler gives
it: ``local(2026, 3, 1, 10)`` is 02:00 UTC. The main window is 1 March 2026
10:00-11:00 local.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings, get_settings
from guanxi.marketing.journeys.trigger_kinds import builtin_triggers
from guanxi.marketing.journeys.trigger_kinds.sources import rows_table
from guanxi.marketing.triggers import OUTPUT_COLUMNS, TriggerParamsInvalidError
from guanxi.models.outputs import LIFECYCLE_TRANSITIONS, TIER_CHANGES
from guanxi.segments.membership import SEGMENT_MEMBERSHIP
from guanxi.tables import CUSTOMERS, IDENTITY_MAP, RAW_EVENTS, RAW_ORDERS, TableSpec
from tests.warehouses import postgres_schema

SHANGHAI = ZoneInfo("Asia/Shanghai")
DOCS = Path(__file__).parents[3] / "docs" / "journeys.md"
SHOP_CALENDAR = Path(__file__).parents[2] / "data" / "journeys" / "shop_anniversary.holidays.yaml"
KINDS = {kind.kind: kind for kind in builtin_triggers()}


def at(*parts: int) -> datetime:
    """A naive wall-clock time in Asia/Shanghai, as a warehouse column holds it."""
    return datetime(*parts)  # type: ignore[arg-type]  # noqa: DTZ001


def local(*parts: int) -> datetime:
    """The aware UTC instant of an Asia/Shanghai wall-clock time (how a window is given)."""
    return at(*parts).replace(tzinfo=SHANGHAI).astimezone(UTC)


WINDOW = (local(2026, 3, 1, 10), local(2026, 3, 1, 11))


def _order(source: str, order_id: str, who: str, status: str, **moments: Any) -> dict[str, Any]:
    return {
        "source": source,
        "order_id": order_id,
        "source_customer_id": who,
        "status": status,
        "paid_amount": Decimal("100.00") if status in ("paid", "shipped", "delivered", "refunded") else None,
        "total_amount": Decimal("100.00"),
        **moments,
    }


ORDERS = [
    _order("shop", "O1", "c1", "unpaid", created_at=at(2026, 3, 1, 9, 50)),  # unpaid: fires 10:05
    _order("shop", "O2", "c2", "created", created_at=at(2026, 3, 1, 9, 40)),  # fires 09:55: before
    _order("shop", "O3", "c3", "paid", created_at=at(2026, 3, 1, 9, 58), paid_at=at(2026, 3, 1, 10)),
    _order("shop", "O4", "c9", "unpaid", created_at=at(2026, 3, 1, 9, 50)),  # c9 is unresolved
    _order("shop", "O6", "c1", "cancelled", created_at=at(2026, 3, 1, 9, 50)),
    _order("shop", "O7", "c3", "shipped", created_at=at(2026, 3, 1, 10), paid_at=at(2026, 3, 1, 10, 59, 59)),
    _order("shop", "O8", "c3", "paid", created_at=at(2026, 3, 1, 10), paid_at=at(2026, 3, 1, 11)),  # end: out
    _order("shop", "O9", "c2", "cancelled", created_at=at(2026, 3, 1, 10), paid_at=at(2026, 3, 1, 10, 30)),
    _order(
        "jd", "J1", "j1", "delivered",
        created_at=at(2026, 2, 20, 8), paid_at=at(2026, 2, 20, 8, 5),
        shipped_at=at(2026, 2, 21, 10, 15), delivered_at=at(2026, 2, 22, 10, 30),
    ),
    _order(
        "shop", "O5", "c2", "refunded",
        created_at=at(2026, 2, 10, 9), paid_at=at(2026, 2, 10, 10), refund_amount=Decimal("10.00"),
        ingested_at=at(2026, 3, 1, 10, 20),
    ),
    _order(
        "shop", "O10", "c3", "delivered",
        created_at=at(2026, 2, 1), paid_at=at(2026, 2, 1, 1), refund_amount=Decimal("100.00"),
        ingested_at=at(2026, 3, 1, 11),
    ),
    _order("shop", "O11", "c1", "delivered", created_at=at(2025, 3, 1, 11), paid_at=at(2025, 3, 1, 12)),
]  # fmt: skip

EVENTS = [
    ("E1", "c1", "coupon_viewed", at(2026, 3, 1, 10, 10), '{"sku": "A1", "qty": 2, "vip": true}'),
    ("E2", "c2", "coupon_viewed", at(2026, 3, 1, 10, 20), '{"sku": "B2", "qty": 2.0}'),
    ("E3", "c3", "coupon_viewed", at(2026, 3, 1, 11), '{"sku": "A1"}'),  # at the window's end: out
    ("E4", "c1", "order_arrived", at(2026, 3, 1, 10, 30), '{"city": "上海"}'),
    ("E5", "c2", "order_arrived", at(2026, 3, 1, 10, 40), '{"city": "北京"}'),
    ("E6", "c3", "coupon_viewed", at(2026, 3, 1, 10, 15), None),
    ("E7", "c9", "coupon_viewed", at(2026, 3, 1, 10, 15), '{"sku": "A1"}'),  # unresolved
]

SPECS = {
    spec.name: spec
    for spec in (
        IDENTITY_MAP,
        RAW_ORDERS,
        RAW_EVENTS,
        CUSTOMERS,
        SEGMENT_MEMBERSHIP,
        LIFECYCLE_TRANSITIONS,
        TIER_CHANGES,
    )
}
TABLES: dict[str, list[dict[str, Any]]] = {
    IDENTITY_MAP.name: [
        {"source": "shop", "source_customer_id": f"c{n}", "customer_id": n} for n in (1, 2, 3)
    ] + [{"source": "jd", "source_customer_id": "j1", "customer_id": 1}],
    RAW_ORDERS.name: ORDERS,
    RAW_EVENTS.name: [
        {"source": "shop", "event_id": e, "source_customer_id": who, "event": name, "occurred_at": when,
         "properties": props}
        for e, who, name, when, props in EVENTS
    ],
    CUSTOMERS.name: [
        {"customer_id": 1, "birthday": date(1990, 3, 1)},
        {"customer_id": 2, "birthday": date(1992, 2, 29)},
        {"customer_id": 3, "birthday": date(1985, 3, 4)},
        {"customer_id": 4, "birthday": None},
    ],
    SEGMENT_MEMBERSHIP.name: [
        {"segment_key": "vip", "customer_id": 1, "entered_on": date(2026, 3, 1), "left_on": None},
        {"segment_key": "vip", "customer_id": 2, "entered_on": date(2026, 2, 1), "left_on": date(2026, 3, 1)},
        {"segment_key": "other", "customer_id": 3, "entered_on": date(2026, 3, 1), "left_on": None},
    ],
    LIFECYCLE_TRANSITIONS.name: [
        {"customer_id": 1, "from_stage": "growth", "to_stage": "maturity", "as_of": date(2026, 3, 1)},
        {"customer_id": 2, "from_stage": "maturity", "to_stage": "decline", "as_of": date(2026, 3, 1)},
        {"customer_id": 3, "from_stage": "acquisition", "to_stage": "growth", "as_of": date(2026, 2, 28)},
    ],
    TIER_CHANGES.name: [
        {"customer_id": 1, "from_tier": "silver", "to_tier": "gold", "direction": "upgrade", "as_of": date(2026, 3, 1)},
        {"customer_id": 2, "from_tier": "gold", "to_tier": "silver", "direction": "downgrade",
         "as_of": date(2026, 3, 1)},
    ],
}  # fmt: skip


def put(con: BaseBackend, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
    """Create ``spec``'s table and insert ``rows`` (missing columns NULL)."""
    con.create_table(spec.name, schema=spec.schema)
    columns = {name: [row.get(name) for row in rows] for name in spec.columns}
    con.insert(spec.name, rows_table(columns, dict(spec.columns)))


@dataclass
class Shop:
    con: BaseBackend
    settings: Settings

    def entries(
        self, kind: str, params: dict[str, Any] | None = None, window: tuple[datetime, datetime] = WINDOW
    ) -> list[tuple[str, str, datetime | None]]:
        """The kind's entries in ``window``, sorted, as (customer_id, occurrence_key, entered_at)."""
        table = KINDS[kind].entries(
            self.con, since=window[0], until=window[1], params=params, settings=self.settings
        )
        rows = table.to_pyarrow().to_pylist()
        return sorted((r["customer_id"], r["occurrence_key"], r["entered_at"]) for r in rows)

    def keys(
        self, kind: str, params: dict[str, Any] | None = None, window: tuple[datetime, datetime] = WINDOW
    ) -> list[str]:
        return [key for _, key, _ in self.entries(kind, params, window)]


def _settings(tmp_path: Path) -> Settings:
    return get_settings(
        env="test", timezone="Asia/Shanghai", data_dir=tmp_path, journeys_holidays_file=SHOP_CALENDAR
    )


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """The tiny shop's warehouse on each backend (loaded once per module and backend; read only)."""
    folder = tmp_path_factory.mktemp("shop")
    if request.param == "duckdb":
        con = ibis.duckdb.connect(str(folder / "warehouse.duckdb"))
        for name, rows in TABLES.items():
            put(con, SPECS[name], rows)
        yield Shop(con, _settings(folder))
        con.disconnect()
    else:
        with postgres_schema("guanxi_triggers") as con:
            for name, rows in TABLES.items():
                put(con, SPECS[name], rows)
            yield Shop(con, _settings(folder))


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Shop]:
    con = ibis.duckdb.connect()
    yield Shop(con, _settings(tmp_path))
    con.disconnect()


# --- orders ---


def test_order_unpaid_enters_orders_still_unpaid_minutes_after_they_were_placed(shop: Shop) -> None:
    # O1 placed 09:50, unpaid → fires 10:05; O2 fired 09:55; O3 paid; O4 unresolved; O6 cancelled
    assert shop.entries("order_unpaid") == [("1", "shop:O1", at(2026, 3, 1, 10, 5))]
    assert shop.entries("order_unpaid", {"minutes": 20}) == [
        ("1", "shop:O1", at(2026, 3, 1, 10, 10)),
        ("2", "shop:O2", at(2026, 3, 1, 10)),
    ]


def test_order_paid_fires_at_paid_at_in_a_half_open_window(shop: Shop) -> None:
    # O3 paid at the start (in), O7 a second before the end (in), O8 at the end (out),
    # O9 has a paid_at but is cancelled: not paid by the shared definition
    assert shop.entries("order_paid") == [
        ("3", "shop:O3", at(2026, 3, 1, 10)),
        ("3", "shop:O7", at(2026, 3, 1, 10, 59, 59)),
    ]


def test_order_paid_after_a_delay_fires_that_much_later(shop: Shop) -> None:
    window = (local(2026, 3, 1, 10, 30), local(2026, 3, 1, 11, 30))
    assert shop.keys("order_paid", {"after_minutes": 30}, window) == ["shop:O3", "shop:O7"]
    window = (local(2026, 3, 1, 10, 31), local(2026, 3, 1, 11, 31))
    assert shop.keys("order_paid", {"after_minutes": 30}, window) == ["shop:O7", "shop:O8"]
    assert shop.entries("order_paid", {"after_days": 9}, (local(2026, 3, 1), local(2026, 3, 2))) == [
        ("1", "jd:J1", at(2026, 3, 1, 8, 5))
    ]


def test_order_shipped_and_delivered_fire_days_after_the_moment(shop: Shop) -> None:
    assert shop.entries("order_delivered", {"after_days": 7}) == [("1", "jd:J1", at(2026, 3, 1, 10, 30))]
    assert shop.entries("order_shipped", {"after_days": 8}) == [("1", "jd:J1", at(2026, 3, 1, 10, 15))]
    assert shop.entries("order_delivered") == []


def test_order_refunded_fires_when_the_refund_became_known(shop: Shop) -> None:
    # O5 refunded, ingested 10:20; O10 has a refund amount but was ingested at the window's end
    assert shop.entries("order_refunded") == [("2", "shop:O5", at(2026, 3, 1, 10, 20))]
    assert shop.keys(
        "order_refunded", {"after_minutes": 1}, (local(2026, 3, 1, 11), local(2026, 3, 1, 12))
    ) == ["shop:O10"]


# --- events ---


def test_event_enters_once_per_event_of_that_name(shop: Shop) -> None:
    # E3 at the window's end, E7 unresolved
    assert shop.entries("event", {"event": "coupon_viewed"}) == [
        ("1", "shop:E1", at(2026, 3, 1, 10, 10)),
        ("2", "shop:E2", at(2026, 3, 1, 10, 20)),
        ("3", "shop:E6", at(2026, 3, 1, 10, 15)),
    ]


@pytest.mark.parametrize(
    ("properties", "keys"),
    [
        ({"sku": "A1"}, ["shop:E1"]),
        ({"qty": 2}, ["shop:E1", "shop:E2"]),  # 2 and 2.0 are the same number
        ({"vip": True}, ["shop:E1"]),
        ({"sku": "A1", "qty": 2}, ["shop:E1"]),
        ({"qty": "2"}, []),  # text never matches a number
        ({"colour": "red"}, []),
    ],
)
def test_event_property_filters_compare_by_json_type(
    shop: Shop, properties: dict[str, Any], keys: list[str]
) -> None:
    assert shop.keys("event", {"event": "coupon_viewed", "properties": properties}) == keys


def test_event_after_minutes_shifts_the_firing_moment(shop: Shop) -> None:
    window = (local(2026, 3, 1, 10, 30), local(2026, 3, 1, 10, 45))
    assert shop.entries("event", {"event": "coupon_viewed", "after_minutes": 20}, window) == [
        ("1", "shop:E1", at(2026, 3, 1, 10, 30)),
        ("2", "shop:E2", at(2026, 3, 1, 10, 40)),
        ("3", "shop:E6", at(2026, 3, 1, 10, 35)),
    ]


def test_order_arrived_filters_on_the_city_of_the_event(shop: Shop) -> None:
    assert shop.keys("order_arrived") == ["shop:E4", "shop:E5"]
    assert shop.entries("order_arrived", {"city": "上海"}) == [("1", "shop:E4", at(2026, 3, 1, 10, 30))]


# --- dates ---


def test_birthday_fires_on_the_day_at_ten_local(shop: Shop) -> None:
    assert shop.entries("birthday") == [("1", "2026", at(2026, 3, 1, 10))]
    assert shop.entries("birthday", {"days_before": 3}) == [("3", "2026", at(2026, 3, 1, 10))]
    assert shop.entries("birthday", {"at": "10:59"}) == [("1", "2026", at(2026, 3, 1, 10, 59))]
    assert shop.entries("birthday", {"at": "11:00"}) == []  # the next pass's window
    assert shop.entries("birthday", {"at": "09:59"}) == []


def test_a_leap_day_birthday_fires_on_28_february_of_a_common_year(shop: Shop) -> None:
    day = (local(2026, 2, 28, 10), local(2026, 2, 28, 11))
    assert shop.entries("birthday", window=day) == [("2", "2026", at(2026, 2, 28, 10))]
    leap = (local(2028, 2, 28), local(2028, 3, 1))
    assert shop.entries("birthday", window=leap) == [("2", "2028", at(2028, 2, 29, 10))]


def test_days_before_a_birthday_keys_the_birthdays_year(shop: Shop) -> None:
    # 60 days before 1 March 2026 is 31 December 2025; before 28 February (for 29 February) the 30th
    window = (local(2025, 12, 31, 10), local(2025, 12, 31, 11))
    assert shop.entries("birthday", {"days_before": 60}, window) == [("1", "2026", at(2025, 12, 31, 10))]
    window = (local(2025, 12, 30, 10), local(2025, 12, 30, 11))
    assert shop.entries("birthday", {"days_before": 60}, window) == [("2", "2026", at(2025, 12, 30, 10))]


def test_first_order_anniversary_is_a_year_or_more_after_the_first_purchase(shop: Shop) -> None:
    # customer 1's first purchase (O11) was paid on 1 March 2025; customer 3's (O3) today
    # (O10, paid before, was refunded in full: not a purchase)
    assert shop.entries("first_order_anniversary") == [("1", "2026", at(2026, 3, 1, 10))]
    later = (local(2027, 3, 1, 10), local(2027, 3, 1, 11))
    assert shop.entries("first_order_anniversary", window=later) == [
        ("1", "2027", at(2027, 3, 1, 10)),
        ("3", "2027", at(2027, 3, 1, 10)),
    ]


def test_after_first_order_fires_once_days_after_the_first_purchase(shop: Shop) -> None:
    # customer 2 first bought on 10 February (O5, refunded in part: still a purchase)
    assert shop.entries("after_first_order", {"days": 19}) == [("2", "first", at(2026, 3, 1, 10))]
    assert shop.entries("after_first_order", {"days": 365}) == [("1", "first", at(2026, 3, 1, 10))]


def test_after_first_order_with_only_one_purchase_skips_customers_who_bought_again(shop: Shop) -> None:
    # customer 1 bought again (J1, 20 February 2026) before the firing moment; customer 2 did not
    assert shop.entries("after_first_order", {"days": 365, "only_one_purchase": True}) == []
    assert shop.keys("after_first_order", {"days": 19, "only_one_purchase": True}) == ["first"]


def test_holiday_enters_every_customer_days_before_it(shop: Shop) -> None:
    # 妇女节 is 8 March: 7 days before is 1 March
    entries = shop.entries("holiday", {"holiday": "妇女节", "days_before": 7})
    assert entries == [(str(n), "妇女节:2026", at(2026, 3, 1, 10)) for n in (1, 2, 3, 4)]
    assert shop.entries("holiday", {"holiday": "女王节", "days_before": 7}) == entries  # an alias
    assert shop.entries("holiday", {"holiday": "妇女节"}) == []


def test_holiday_reads_the_users_calendar(shop: Shop) -> None:
    day = (local(2026, 9, 9, 9), local(2026, 9, 9, 12))
    assert shop.keys("holiday", {"holiday": "店庆"}, day) == ["店庆:2026"] * 4
    moved = (local(2026, 11, 10), local(2026, 11, 11))
    assert shop.keys("holiday", {"holiday": "双11", "at": "00:00"}, moved) == ["双11:2026"] * 4


def test_an_unknown_holiday_is_a_params_problem_listing_the_known_ones(shop: Shop) -> None:
    with pytest.raises(TriggerParamsInvalidError) as caught:
        shop.entries("holiday", {"holiday": "国庆前夜"})
    [(path, message)] = caught.value.problems
    assert path == "holiday"
    assert "no holiday '国庆前夜' (known: 元旦, 春节" in message
    assert "店庆" in message
    # without settings the shape alone is checked
    assert KINDS["holiday"].check_params({"holiday": "国庆前夜"})[0] == []


# --- segments and model changes ---


def test_segment_entered_and_left_fire_on_the_day_of_the_refresh(shop: Shop) -> None:
    assert shop.entries("segment_entered", {"segment": "vip"}) == [("1", "2026-03-01", at(2026, 3, 1, 10))]
    assert shop.entries("segment_left", {"segment": "vip"}) == [("2", "2026-03-01", at(2026, 3, 1, 10))]
    assert shop.entries("segment_entered", {"segment": "vip", "at": "09:00"}) == []


def test_lifecycle_changed_filters_on_the_stages(shop: Shop) -> None:
    assert shop.keys("lifecycle_changed") == ["2026-03-01", "2026-03-01"]
    assert shop.entries("lifecycle_changed", {"to_stage": "decline"}) == [
        ("2", "2026-03-01", at(2026, 3, 1, 10))
    ]
    assert shop.entries("lifecycle_changed", {"from_stage": "growth"}) == [
        ("1", "2026-03-01", at(2026, 3, 1, 10))
    ]
    assert [c for c, _, _ in shop.entries("lifecycle_changed", {"to_stage": ["decline", "churned"]})] == ["2"]
    assert shop.entries("lifecycle_changed", {"to_stage": ["churned"]}) == []


def test_tier_changed_filters_on_direction_and_tier(shop: Shop) -> None:
    assert [c for c, _, _ in shop.entries("tier_changed")] == ["1", "2"]
    assert [c for c, _, _ in shop.entries("tier_changed", {"direction": "up"})] == ["1"]
    assert [c for c, _, _ in shop.entries("tier_changed", {"to_tier": "silver"})] == ["2"]
    assert shop.entries("tier_changed", {"direction": "up", "to_tier": "silver"}) == []


# --- every kind ---

PARAMS: dict[str, dict[str, Any]] = {
    "order_unpaid": {},
    "order_paid": {},
    "order_shipped": {"after_days": 8},
    "order_delivered": {"after_days": 7},
    "order_refunded": {},
    "event": {"event": "coupon_viewed"},
    "order_arrived": {},
    "birthday": {},
    "first_order_anniversary": {},
    "after_first_order": {"days": 19},
    "holiday": {"holiday": "妇女节", "days_before": 7},
    "segment_entered": {"segment": "vip"},
    "segment_left": {"segment": "vip"},
    "lifecycle_changed": {},
    "tier_changed": {},
}


def test_every_built_in_kind_is_covered_here_and_documented() -> None:
    assert set(PARAMS) == set(KINDS)
    text = DOCS.read_text(encoding="utf-8")
    assert [kind for kind in KINDS if f"`{kind}`" not in text] == []
    assert "`GUANXI_JOURNEYS_HOLIDAYS_FILE`" in text


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_successive_windows_find_each_occasion_exactly_once(shop: Shop, kind: str) -> None:
    # 1 March 2026 in 97-minute windows (odd boundaries), against the whole day at once
    start, end = local(2026, 3, 1), local(2026, 3, 2)
    whole = shop.entries(kind, PARAMS[kind], (start, end))
    pieces: list[tuple[str, str, datetime | None]] = []
    since = start
    while since < end:
        until = min(since + timedelta(minutes=97), end)
        pieces += shop.entries(kind, PARAMS[kind], (since, until))
        since = until
    assert whole  # each kind finds someone on that day
    assert sorted(pieces) == whole
    assert len(set(pieces)) == len(pieces)


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_re_running_a_window_finds_the_same_entries(shop: Shop, kind: str) -> None:
    day = (local(2026, 3, 1), local(2026, 3, 2))
    assert shop.entries(kind, PARAMS[kind], day) == shop.entries(kind, PARAMS[kind], day)


def test_a_window_in_another_zone_is_the_same_instants(shop: Shop) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")  # 11:00-12:00 in Tokyo is 10:00-11:00 in Shanghai
    window = (datetime(2026, 3, 1, 11, tzinfo=tokyo), datetime(2026, 3, 1, 12, tzinfo=tokyo))
    assert shop.entries("order_paid", window=window) == shop.entries("order_paid")
    assert shop.entries("birthday", window=window) == shop.entries("birthday")


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_a_warehouse_without_the_tables_gives_no_entries(empty: Shop, kind: str) -> None:
    table = KINDS[kind].entries(
        empty.con, since=WINDOW[0], until=WINDOW[1], params=PARAMS[kind], settings=empty.settings
    )
    assert table.columns == OUTPUT_COLUMNS
    assert table.count().to_pyarrow().as_py() == 0


@pytest.mark.parametrize(
    ("kind", "params", "paths"),
    [
        ("order_unpaid", {"minutes": 0}, ["minutes"]),
        ("order_paid", {"after_days": -1, "delay": 3}, ["after_days", "delay"]),
        ("event", {}, ["event"]),
        ("event", {"event": "x", "properties": {"a.b": 1, "c": [1]}}, ["properties", "properties.c.str"]),
        ("birthday", {"days_before": 61, "at": "25:00"}, ["at", "days_before"]),
        ("after_first_order", {}, ["days"]),
        ("tier_changed", {"direction": "sideways"}, ["direction"]),
        ("segment_entered", {}, ["segment"]),
    ],
)
def test_bad_params_are_reported_by_path_all_at_once(
    kind: str, params: dict[str, Any], paths: list[str]
) -> None:
    problems, normal = KINDS[kind].check_params(params)
    assert normal == {}
    found = sorted({path for path, _ in problems})
    assert all(any(p.startswith(expected) for p in found) for expected in paths), found


def test_params_are_normalised_with_their_defaults() -> None:
    assert KINDS["order_unpaid"].check_params({}) == ([], {"minutes": 15})
    assert KINDS["birthday"].check_params({}) == ([], {"days_before": 0, "at": "10:00"})
    assert KINDS["event"].check_params({"event": "signup"})[1] == {
        "event": "signup", "properties": {}, "after_minutes": 0,
    }  # fmt: skip


def test_every_params_field_is_described() -> None:
    for kind in KINDS.values():
        assert kind.description, kind.kind
        for name, field in kind.params.model_fields.items():
            assert field.description, f"{kind.kind}.{name}"


def test_kinds_are_unique() -> None:
    assert len(KINDS) == len(builtin_triggers())
