"""Progress of a resolve run: each named step in order, ending at the total, results unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import ibis
import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.identity import ResolveReport, resolve
from guanxi.identity.resolve import RESOLVE_STEPS, STEP_LABELS
from guanxi.tables import ALL_TABLES
from guanxi.warehouse import ensure_tables
from tests.progress_calls import ProgressCalls

from .conftest import NOW, load_scenario, partition

TIMINGS = ("run_id", "seconds", "graph_seconds", "step_seconds")


@pytest.fixture
def second_warehouse() -> Iterator[BaseBackend]:
    """Another in-memory warehouse, to run the same scenario side by side."""
    con = ibis.duckdb.connect()
    ensure_tables(con, ALL_TABLES)
    yield con
    con.disconnect()


def _outcome(report: ResolveReport) -> dict[str, Any]:
    return {k: v for k, v in asdict(report).items() if k not in TIMINGS}


def test_resolve_reports_each_step_in_order_and_ends_at_the_total(
    memory_warehouse: BaseBackend, settings: Settings
) -> None:
    # given two profiles sharing a phone and an unrelated one
    load_scenario(memory_warehouse, "two_profiles_same_phone")
    calls = ProgressCalls()
    # when resolving with a progress callable
    resolve(memory_warehouse, settings, now=NOW, progress=calls)
    # then every step but probabilistic matching is reported once, in order, then the end
    steps = [name for name in RESOLVE_STEPS if name != "matching"]
    assert calls.calls == [
        *((done, len(steps), STEP_LABELS[name]) for done, name in enumerate(steps)),
        (len(steps), len(steps), "done"),
    ]
    calls.assert_well_formed()


def test_resolve_with_progress_gives_the_same_result_as_without(
    memory_warehouse: BaseBackend, second_warehouse: BaseBackend, settings: Settings
) -> None:
    # given the same data in two warehouses
    for con in (memory_warehouse, second_warehouse):
        load_scenario(con, "stable_ids_day1")
        load_scenario(con, "stable_ids_day2")
    # when one is resolved without progress and the other with it
    plain = resolve(memory_warehouse, settings, now=NOW)
    reported = resolve(second_warehouse, settings, now=NOW, progress=ProgressCalls())
    # then the reports, identity maps and golden records agree
    assert _outcome(reported) == _outcome(plain)
    assert partition(second_warehouse) == partition(memory_warehouse)
    for table in ("identity_map", "customers"):
        order = (
            ["customer_id", "source", "source_customer_id"] if table == "identity_map" else ["customer_id"]
        )
        assert (
            second_warehouse.table(table).order_by(order).to_pyarrow()
            == memory_warehouse.table(table).order_by(order).to_pyarrow()
        )


def test_probabilistic_resolve_reports_the_matching_step(
    memory_warehouse: BaseBackend, settings: Settings
) -> None:
    # given a small scenario
    load_scenario(memory_warehouse, "two_profiles_same_phone")
    calls = ProgressCalls()
    # when resolving with the probabilistic step on
    resolve(memory_warehouse, settings, now=NOW, probabilistic=True, progress=calls)
    # then matching is reported between the observations and the edges, and counts in the total
    observations = STEP_LABELS["observations"]
    assert calls.messages[calls.messages.index(observations) + 1] == STEP_LABELS["matching"]
    assert calls.messages[calls.messages.index(STEP_LABELS["matching"]) + 1] == STEP_LABELS["edges"]
    assert {total for _, total, _ in calls.calls} == {len(RESOLVE_STEPS)}
    calls.assert_well_formed()
