"""Journey triggers enter through the ``register_journey_triggers`` hook and answer with entries."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings, get_settings
from guanxi.errors import ConfigError, ValidationFailedError
from guanxi.marketing.errors import TriggerKindUnknownError, TriggerOutputError
from guanxi.marketing.journeys.trigger_kinds import builtin_triggers
from guanxi.marketing.triggers import (
    OUTPUT_COLUMNS,
    TriggerKind,
    TriggerParamsInvalidError,
    local_window,
    registered_triggers,
    trigger_kind,
)
from guanxi.plugins import build_plugin_manager, hookimpl, using_plugins
from tests.marketing.plugins import unpaid_orders

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
KIND = unpaid_orders.KIND


@pytest.fixture
def settings() -> Settings:
    """The orders below hold UTC wall-clock times."""
    return get_settings(env="test", timezone="UTC")


@pytest.fixture
def orders() -> Iterator[BaseBackend]:
    """An in-memory DuckDB warehouse with four orders (UTC timestamps)."""
    con = ibis.duckdb.connect()
    at = NOW.replace(tzinfo=None)
    con.create_table(
        "orders",
        pd.DataFrame(
            {
                "order_id": ["A1", "A2", "A3", "A4"],
                "customer_id": [42, 42, 7, 9],
                "created_at": [at - timedelta(minutes=m) for m in (35, 32, 31, 50)],
                "paid_at": [None, None, at - timedelta(minutes=1), None],
            }
        ).astype({"paid_at": "datetime64[us]"}),
    )
    yield con
    con.disconnect()


def test_a_trigger_from_a_plugin_module_is_collected() -> None:
    before = registered_triggers()
    with using_plugins(unpaid_orders):
        during = registered_triggers()
    assert KIND not in before
    assert during[KIND].find is unpaid_orders.unpaid_orders
    assert during[KIND].description
    assert KIND not in registered_triggers()


def test_the_built_in_kinds_register_through_the_hook_like_a_plugin() -> None:
    class Builtins:
        @hookimpl
        def register_journey_triggers(self) -> list[TriggerKind]:
            return builtin_triggers()

    pm = build_plugin_manager(defaults=(), entry_points=False)
    pm.register(Builtins())
    pm.register(unpaid_orders)
    found = registered_triggers(pm)
    assert {"order_unpaid", "birthday", "holiday", "segment_entered", KIND} <= set(found)
    assert all(kind.description for kind in found.values())


def test_two_triggers_of_one_kind_are_refused_naming_both_plugins() -> None:
    class Rival:
        @hookimpl
        def register_journey_triggers(self) -> list[TriggerKind]:
            return [TriggerKind(KIND, unpaid_orders.unpaid_orders)]

    with using_plugins(unpaid_orders, Rival()), pytest.raises(ConfigError) as caught:
        registered_triggers()
    assert f"two plugins define the journey trigger {KIND!r}" in caught.value.message
    assert "tests.marketing.plugins.unpaid_orders" in caught.value.message


def test_entries_are_the_customers_whose_occasion_fell_in_the_window(
    orders: BaseBackend, settings: Settings
) -> None:
    with using_plugins(unpaid_orders):
        trigger = trigger_kind(KIND)
    entries = trigger.entries(
        orders, since=NOW - timedelta(minutes=5), until=NOW, params={"minutes": 30}, settings=settings
    ).to_pandas()
    # created 35 and 32 minutes ago and unpaid: in; paid (A3) or created 50 minutes ago (A4): out
    at = NOW.replace(tzinfo=None)
    assert entries.sort_values("occurrence_key").to_dict("records") == [
        {"customer_id": "42", "occurrence_key": "A1", "entered_at": at - timedelta(minutes=5)},
        {"customer_id": "42", "occurrence_key": "A2", "entered_at": at - timedelta(minutes=2)},
    ]


def test_the_window_is_compared_in_the_warehouse_time_zone(orders: BaseBackend) -> None:
    # the same instants seen from Asia/Shanghai (UTC+8): the naive columns are 8 hours "earlier"
    shanghai = get_settings(env="test", timezone="Asia/Shanghai")
    trigger = TriggerKind(KIND, unpaid_orders.unpaid_orders, params=unpaid_orders.UnpaidParams)
    since, until = NOW + timedelta(hours=-8, minutes=-5), NOW - timedelta(hours=8)
    entries = trigger.entries(orders, since=since, until=until, params={"minutes": 30}, settings=shanghai)
    assert sorted(entries.to_pandas()["occurrence_key"]) == ["A1", "A2"]


def test_local_window_is_the_aware_window_as_naive_local_wall_clock() -> None:
    shanghai = get_settings(env="test", timezone="Asia/Shanghai")
    assert local_window(NOW, NOW + timedelta(hours=1), shanghai) == (
        datetime(2026, 3, 1, 17, 30),  # noqa: DTZ001 - naive on purpose
        datetime(2026, 3, 1, 18, 30),  # noqa: DTZ001
    )
    with pytest.raises(ValueError, match="time-zone-aware"):
        local_window(NOW.replace(tzinfo=None), NOW, shanghai)


def test_successive_windows_find_each_occasion_once(orders: BaseBackend, settings: Settings) -> None:
    trigger = TriggerKind(KIND, unpaid_orders.unpaid_orders, params=unpaid_orders.UnpaidParams)
    windows = [(NOW - timedelta(minutes=m + 1), NOW - timedelta(minutes=m)) for m in range(10)]
    found = [
        key
        for since, until in windows
        for key in trigger.entries(
            orders, since=since, until=until, params={"minutes": 30}, settings=settings
        ).to_pandas()["occurrence_key"]
    ]
    assert sorted(found) == ["A1", "A2"]


def test_entries_have_exactly_the_output_columns_each_pair_once(
    orders: BaseBackend, settings: Settings
) -> None:
    def twice(
        con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
    ) -> ir.Table:
        table = con.table("orders")
        both = table.union(table, distinct=False)
        return both.select("customer_id", "created_at", occurrence_key=both.order_id)

    entries = TriggerKind("twice", twice).entries(
        orders, since=NOW - timedelta(days=1), until=NOW, settings=settings
    )
    assert entries.columns == OUTPUT_COLUMNS == ("customer_id", "occurrence_key", "entered_at")
    assert entries.count().to_pyarrow().as_py() == 4
    assert entries.schema()["entered_at"].is_timestamp()
    assert entries.to_pandas()["entered_at"].isna().all()  # the query gave none


def test_a_pair_found_twice_keeps_its_earliest_moment(orders: BaseBackend, settings: Settings) -> None:
    def twice(
        con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
    ) -> ir.Table:
        table = con.table("orders")
        early = table.select("customer_id", occurrence_key=table.order_id, entered_at=table.created_at)
        late = table.select(
            "customer_id", occurrence_key=table.order_id, entered_at=table.created_at + timedelta(hours=1)
        )
        return early.union(late, distinct=False)

    rows = (
        TriggerKind("twice", twice)
        .entries(orders, since=NOW - timedelta(days=1), until=NOW, settings=settings)
        .to_pandas()
    )
    assert len(rows) == 4
    assert rows.set_index("occurrence_key")["entered_at"]["A4"] == NOW.replace(tzinfo=None) - timedelta(
        minutes=50
    )


def test_params_are_checked_all_at_once_without_raising() -> None:
    trigger = TriggerKind(KIND, unpaid_orders.unpaid_orders, params=unpaid_orders.UnpaidParams)
    problems, normal = trigger.check_params({"minutes": 0, "hours": 1})
    assert sorted(path for path, _ in problems) == ["hours", "minutes"]
    assert normal == {}
    assert trigger.check_params({}) == ([], {"minutes": 30})


def test_a_kind_without_a_params_model_takes_no_params() -> None:
    trigger = TriggerKind(KIND, unpaid_orders.unpaid_orders)
    assert trigger.check_params({}) == ([], {})
    problems, _ = trigger.check_params({"minutes": 5})
    assert [path for path, _ in problems] == ["minutes"]


def test_entries_refuse_invalid_params_listing_every_problem(orders: BaseBackend, settings: Settings) -> None:
    trigger = TriggerKind(KIND, unpaid_orders.unpaid_orders, params=unpaid_orders.UnpaidParams)
    with pytest.raises(TriggerParamsInvalidError) as caught:
        trigger.entries(
            orders,
            since=NOW - timedelta(hours=1),
            until=NOW,
            params={"minutes": -1, "x": 2},
            settings=settings,
        )
    assert isinstance(caught.value, ValidationFailedError)
    assert (caught.value.code, caught.value.http_status) == ("trigger_params_invalid", 422)
    assert sorted(path for path, _ in caught.value.problems) == ["minutes", "x"]
    assert f"invalid params for trigger {KIND!r}: " in caught.value.message


def test_a_check_that_needs_the_settings_runs_when_they_are_given(settings: Settings) -> None:
    def only_utc(params: Mapping[str, Any], given: Settings) -> list[tuple[str, str]]:
        return [] if given.timezone == "UTC" else [("", "this trigger runs in UTC only")]

    trigger = TriggerKind(
        KIND, unpaid_orders.unpaid_orders, params=unpaid_orders.UnpaidParams, check=only_utc
    )
    shanghai = get_settings(env="test", timezone="Asia/Shanghai")
    assert trigger.check_params({})[0] == []  # no settings: the check cannot run
    assert trigger.check_params({}, settings=settings)[0] == []
    assert trigger.check_params({}, settings=shanghai) == ([("", "this trigger runs in UTC only")], {})


def test_a_query_without_the_entry_columns_is_an_output_error(
    orders: BaseBackend, settings: Settings
) -> None:
    def nameless(
        con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
    ) -> ir.Table:
        return con.table("orders").select("order_id")

    with pytest.raises(TriggerOutputError, match="customer_id, occurrence_key") as caught:
        TriggerKind("nameless", nameless).entries(
            orders, since=NOW - timedelta(days=1), until=NOW, settings=settings
        )
    assert (caught.value.code, caught.value.http_status, caught.value.permanent) == (
        "trigger_output_invalid",
        500,
        True,
    )


def test_a_window_must_be_aware_and_not_empty(orders: BaseBackend, settings: Settings) -> None:
    trigger = TriggerKind(KIND, unpaid_orders.unpaid_orders, params=unpaid_orders.UnpaidParams)
    with pytest.raises(ValueError, match="time-zone-aware"):
        trigger.entries(orders, since=datetime(2026, 3, 1), until=NOW, settings=settings)  # noqa: DTZ001
    with pytest.raises(ValueError, match="end after it starts"):
        trigger.entries(orders, since=NOW, until=NOW, settings=settings)


def test_an_unknown_trigger_kind_lists_the_known_ones() -> None:
    pm = build_plugin_manager(defaults=(), entry_points=False)
    pm.register(unpaid_orders)
    with pytest.raises(TriggerKindUnknownError) as caught:
        trigger_kind("birthday", pm)
    assert "'birthday'" in caught.value.message
    assert f"known: {KIND}" in caught.value.message
    assert (caught.value.http_status, caught.value.permanent) == (422, True)


@pytest.mark.parametrize("kind", ["", "Order", "order-paid", "x" * 33])
def test_a_trigger_kind_needs_a_lower_case_name(kind: str) -> None:
    with pytest.raises(ConfigError, match="is not a trigger kind"):
        TriggerKind(kind, unpaid_orders.unpaid_orders)
