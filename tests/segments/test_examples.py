"""The built-in example specs are valid, documented and select what they promise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ibis
import pytest
from ibis.backends import BaseBackend

from guanxi.segments.compiler import compile_spec
from guanxi.segments.examples import example, example_files

from .scenario import AS_OF, build

DOC = Path(__file__).parents[2] / "docs" / "segments.md"


@pytest.fixture(scope="module")
def scenario() -> Iterator[BaseBackend]:
    con = ibis.duckdb.connect()
    build(con)
    yield con
    con.disconnect()


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        # 重要挽留客户 {2, 3}, clv >= 500 {3}; customer 3's phone and e-mail are blank
        ("at_risk_high_value", set()),
        # one purchase ever {2, 3, 4, 5}; first purchase 30–90 days ago: 3 (45 days)
        ("one_time_buyers_30_90", {3}),
        # Champions/Loyal {1, 2, 5} ∩ decline {2, 3}; 2 last bought 2024-09-15
        ("sleeping_champions", {2}),
        # 母婴 tag {1}, bought in 180 days, no credit restriction
        ("maternal_infant_buyers", {1}),
        # 广东 {1, 2, 6}; first purchase under 30 days ago: only 5
        ("new_customers_guangdong", set()),
    ],
)
def test_examples_select_the_expected_customers(scenario: BaseBackend, key: str, expected: set[int]) -> None:
    members = compile_spec(scenario, example(key), as_of=AS_OF).to_pyarrow().to_pylist()
    assert {row["customer_id"] for row in members} == expected


def test_every_example_is_named_and_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    files = example_files()
    assert len(files) == 5
    for path in files:
        spec = example(path.stem)
        assert spec.name
        assert spec.description
        assert f"`{path.stem}`" in text
