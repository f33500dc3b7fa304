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

from guanxi.errors import ConfigError
from guanxi.marketing.errors import TriggerKindUnknownError, TriggerOutputError
from guanxi.marketing.triggers import TriggerKind, registered_triggers, trigger_kind
from guanxi.plugins import DEFAULT_PLUGINS, build_plugin_manager, hookimpl, using_plugins
from tests.marketing.plugins import unpaid_orders

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


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
    assert "order_unpaid" not in before
    assert during["order_unpaid"].find is unpaid_orders.unpaid_orders
    assert during["order_unpaid"].description
    assert "order_unpaid" not in registered_triggers()


def test_no_trigger_is_built_in_yet() -> None:
    assert registered_triggers(build_plugin_manager(defaults=DEFAULT_PLUGINS, entry_points=False)) == {}


def test_two_triggers_of_one_kind_are_refused_naming_both_plugins() -> None:
    class Rival:
        @hookimpl
        def register_journey_triggers(self) -> list[TriggerKind]:
            return [TriggerKind("order_unpaid", unpaid_orders.unpaid_orders)]

    with using_plugins(unpaid_orders, Rival()), pytest.raises(ConfigError) as caught:
        registered_triggers()
    assert "two plugins define the journey trigger 'order_unpaid'" in caught.value.message
    assert "tests.marketing.plugins.unpaid_orders" in caught.value.message


def test_entries_are_the_customers_whose_occasion_fell_in_the_window(orders: BaseBackend) -> None:
    with using_plugins(unpaid_orders):
        trigger = trigger_kind("order_unpaid")
    entries = trigger.entries(
        orders, since=NOW - timedelta(minutes=5), until=NOW, params={"minutes": 30}
    ).to_pandas()
    # created 35 and 32 minutes ago and unpaid: in; paid (A3) or created 50 minutes ago (A4): out
    assert entries.sort_values("occurrence_key").to_dict("records") == [
        {"customer_id": "42", "occurrence_key": "A1"},
        {"customer_id": "42", "occurrence_key": "A2"},
    ]


def test_successive_windows_find_each_occasion_once(orders: BaseBackend) -> None:
    trigger = TriggerKind("order_unpaid", unpaid_orders.unpaid_orders)
    windows = [(NOW - timedelta(minutes=m + 1), NOW - timedelta(minutes=m)) for m in range(10)]
    found = [
        key
        for since, until in windows
        for key in trigger.entries(orders, since=since, until=until, params={"minutes": 30}).to_pandas()[
            "occurrence_key"
        ]
    ]
    assert sorted(found) == ["A1", "A2"]


def test_entries_have_exactly_the_two_columns_once_each(orders: BaseBackend) -> None:
    def twice(con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any]) -> ir.Table:
        table = con.table("orders")
        both = table.union(table, distinct=False)
        return both.select("customer_id", "created_at", occurrence_key=both.order_id)

    entries = TriggerKind("twice", twice).entries(orders, since=NOW - timedelta(days=1), until=NOW)
    assert entries.columns == ("customer_id", "occurrence_key")
    assert entries.count().to_pyarrow().as_py() == 4


def test_a_query_without_the_entry_columns_is_an_output_error(orders: BaseBackend) -> None:
    def nameless(
        con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any]
    ) -> ir.Table:
        return con.table("orders").select("order_id")

    with pytest.raises(TriggerOutputError, match="customer_id, occurrence_key") as caught:
        TriggerKind("nameless", nameless).entries(orders, since=NOW - timedelta(days=1), until=NOW)
    assert (caught.value.code, caught.value.http_status, caught.value.permanent) == (
        "trigger_output_invalid",
        500,
        True,
    )


def test_a_window_must_be_aware_and_not_empty(orders: BaseBackend) -> None:
    trigger = TriggerKind("order_unpaid", unpaid_orders.unpaid_orders)
    with pytest.raises(ValueError, match="time-zone-aware"):
        trigger.entries(orders, since=datetime(2026, 3, 1), until=NOW)  # noqa: DTZ001
    with pytest.raises(ValueError, match="end after it starts"):
        trigger.entries(orders, since=NOW, until=NOW)


def test_an_unknown_trigger_kind_lists_the_known_ones() -> None:
    with using_plugins(unpaid_orders), pytest.raises(TriggerKindUnknownError) as caught:
        trigger_kind("birthday")
    assert "'birthday'" in caught.value.message
    assert "known: order_unpaid" in caught.value.message
    assert (caught.value.http_status, caught.value.permanent) == (422, True)


@pytest.mark.parametrize("kind", ["", "Order", "order-paid", "x" * 33])
def test_a_trigger_kind_needs_a_lower_case_name(kind: str) -> None:
    with pytest.raises(ConfigError, match="is not a trigger kind"):
        TriggerKind(kind, unpaid_orders.unpaid_orders)
