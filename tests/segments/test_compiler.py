"""Compiled specs select exactly the hand-computed members of the scenario (see scenario.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import ibis
import pytest
from ibis.backends import BaseBackend

from guanxi.errors import NotFoundError
from guanxi.segments.compiler import compile_spec
from guanxi.segments.spec import SegmentSpec
from guanxi.segments.validation import SegmentSpecError, load_spec, parse_spec
from guanxi.tables import CUSTOMERS

from .scenario import AS_OF, build


@pytest.fixture(scope="module")
def scenario() -> Iterator[BaseBackend]:
    """One in-memory scenario warehouse shared by these read-only tests."""
    con = ibis.duckdb.connect()
    build(con)
    yield con
    con.disconnect()


def ids(con: BaseBackend, spec: Any, *, as_of: date = AS_OF, **kwargs: Any) -> set[int]:
    parsed = spec if isinstance(spec, SegmentSpec) else parse_spec({"where": spec})
    table = compile_spec(con, parsed, as_of=as_of, **kwargs)
    assert table.columns == ("customer_id",)
    values = [row["customer_id"] for row in table.to_pyarrow().to_pylist()]
    assert len(values) == len(set(values)), "each member appears once"
    return set(values)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("rfm_segment in [Champions, Loyal]", {1, 2, 5}),
        ("rfm_segment not in [Champions, Loyal]", {3, 4}),
        ("clv >= 500", {1, 3, 5}),
        ("clv > 500", {1, 3}),
        ("clv < 500", {2}),
        ("clv <= 500", {2, 5}),
        ("clv != 800", {2, 3, 5}),
        ("clv between [450, 600]", {2, 3, 5}),
        ("clv is null", {4}),
        ("clv not null", {1, 2, 3, 5}),
        ("lifecycle_stage = decline", {2, 3}),
        ("pareto_top = true", {1}),
        ("days_since_last_purchase in [45, 200]", {3, 4}),
    ],
)
def test_score_conditions_read_the_latest_run_on_or_before_the_date(
    scenario: BaseBackend, where: str, expected: set[int]
) -> None:
    assert ids(scenario, where) == expected


def test_an_earlier_date_reads_the_run_of_that_time(scenario: BaseBackend) -> None:
    assert ids(scenario, "rfm_segment = Champions", as_of=date(2024, 12, 1)) == {6}
    assert ids(scenario, "rfm_segment = Champions", as_of=date(2025, 2, 1)) == {1, 2, 3, 4, 5, 6}


def test_no_scores_run_before_the_date_is_not_found(scenario: BaseBackend) -> None:
    with pytest.raises(NotFoundError, match="no run on or before 2024-01-01"):
        ids(scenario, "clv > 1", as_of=date(2024, 1, 1))


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("province = 广东", {1, 2, 6}),
        ("city in [深圳, 杭州]", {1, 3, 6}),
        ("gender is null", {4}),
        ({"attribute": "age", "op": "between", "value": [30, 40]}, {1, 2}),
        ("age = 39", {2}),  # birthday on the as-of date counts
        ("age < 25", {3}),
        ("has_phone = true", {1}),  # a blank phone is no phone
        ("has_email = true", {2}),
        ("has_email = false", {1, 3, 4, 5, 6}),
    ],
)
def test_attribute_conditions_read_the_golden_record(
    scenario: BaseBackend, where: Any, expected: set[int]
) -> None:
    assert ids(scenario, where) == expected


def test_age_is_computed_as_of_the_date(scenario: BaseBackend) -> None:
    assert ids(scenario, "age = 38", as_of=date(2024, 12, 30)) == {2}


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"tag": "preference.category = 母婴"}, {1}),
        ({"tag": "category", "op": "in", "value": ["美妆"]}, {1, 2}),
        ({"tag": "credit.restriction"}, {3}),
        ({"tag": "preference.category", "op": "exists", "min_weight": 0.5}, {1, 2}),
        ({"tag": "credit.category"}, set()),
    ],
)
def test_tag_conditions_match_model_tag_and_value(
    scenario: BaseBackend, where: Any, expected: set[int]
) -> None:
    assert ids(scenario, where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        # window 2024-12-02 .. 2024-12-31: o1 (1) and o7 at 23:00 on the as-of day (5); o9 is refunded
        ({"behaviour": "bought", "within_days": 30}, {1, 5}),
        ({"behaviour": "bought", "within_days": 30, "category": "母婴"}, {1}),
        ({"behaviour": "bought", "category": ["美妆", "服饰"]}, {1}),
        # window from 2024-10-03: 1 (o1), 3 (o5), 5 (o7) bought
        ({"behaviour": "not_bought", "within_days": 90}, {2, 4, 6}),
        ({"behaviour": "order_count", "within_days": 365, "op": ">=", "value": 2}, {1}),
        ({"behaviour": "order_count", "within_days": 365, "op": "=", "value": 0}, {6}),
        ({"behaviour": "spend", "within_days": 365, "op": ">=", "value": 500}, {1, 3, 5}),
        ({"behaviour": "spend", "category": "美妆", "op": ">", "value": 100}, {1}),
        # first purchases: 1 06-01, 2 09-15, 3 11-16 (45 days), 4 06-14, 5 12-31 (0 days)
        ({"behaviour": "days_since_first_purchase", "op": "between", "value": [30, 90]}, {3}),
        ({"behaviour": "days_since_first_purchase", "op": "<", "value": 1}, {5}),
        ({"behaviour": "days_since_first_purchase", "op": ">=", "value": 200}, {1, 4}),
    ],
)
def test_behaviour_conditions_count_purchases_in_the_window(
    scenario: BaseBackend, where: Any, expected: set[int]
) -> None:
    assert ids(scenario, where) == expected


def test_later_orders_are_invisible_before_their_date(scenario: BaseBackend) -> None:
    assert ids(scenario, {"behaviour": "bought", "within_days": 10}, as_of=date(2025, 1, 10)) == {2}


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"all": ["rfm_class = 重要挽留客户", "clv >= 500"]}, {3}),
        ({"any": ["province = 浙江", "clv is null"]}, {3, 4}),
        ({"not": "clv >= 500"}, {2, 4, 6}),  # unknown clv and unscored customers included
        ({"all": []}, {1, 2, 3, 4, 5, 6}),
        ({"any": []}, set()),
        ({"all": ["province = 广东", {"any": [{"tag": "preference.category = 美妆"}, "clv > 700"]}]}, {1, 2}),
    ],
)
def test_combinators_intersect_unite_and_complement(
    scenario: BaseBackend, where: Any, expected: set[int]
) -> None:
    assert ids(scenario, where) == expected


def test_segment_references_compile_the_other_spec_as_of_the_same_date(scenario: BaseBackend) -> None:
    big = parse_spec({"where": "clv >= 500"})
    specs = {"big": big}
    spec = load_spec("where: {all: [{segment: big}, province = 广东]}")
    assert ids(scenario, spec, resolve=specs.get) == {1}


def test_a_reference_cycle_met_while_compiling_is_reported(scenario: BaseBackend) -> None:
    specs = {"a": parse_spec({"segment": "b"}), "b": parse_spec({"segment": "a"})}
    with pytest.raises(SegmentSpecError, match="a → b → a"):
        compile_spec(scenario, specs["a"], as_of=AS_OF, resolve=specs.get, key="a")


def test_the_expression_is_portable_sql_without_now(scenario: BaseBackend) -> None:
    spec = load_spec(
        "where: {all: [clv >= 500, {behaviour: bought, within_days: 30}, age > 20, {tag: preference.category}]}"
    )
    for dialect in ("duckdb", "postgres", "pyspark"):
        sql = ibis.to_sql(compile_spec(scenario, spec, as_of=AS_OF), dialect=dialect).lower()
        assert "now()" not in sql
        assert "current_date" not in sql
        assert "current_timestamp" not in sql


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("province = 广东", {1, 2}),  # the importer stores 广东省; people write 广东
        ("province = 广东省", {1, 2}),
        ("province != 广东", {3}),
        ("city in [深圳, 杭州]", {1, 3}),
        ("province not in [内蒙古]", {1, 2, 3}),
    ],
)
def test_place_names_match_their_official_full_names(
    warehouse: BaseBackend, where: Any, expected: set[int]
) -> None:
    rows = [
        {"customer_id": 1, "province": "广东省", "city": "深圳市"},
        {"customer_id": 2, "province": "广东", "city": "广州"},
        {"customer_id": 3, "province": "浙江省", "city": "杭州市"},
    ]
    warehouse.create_table(
        CUSTOMERS.name,
        ibis.memtable([{c: r.get(c) for c in CUSTOMERS.columns} for r in rows], schema=CUSTOMERS.schema),
        overwrite=True,
    )
    assert ids(warehouse, where) == expected
