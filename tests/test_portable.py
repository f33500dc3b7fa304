"""Portable table operations mean the same on DuckDB and PostgreSQL (GUANXI_TEST_POSTGRES), and the
DELETE path and the rewrite path (Spark's) leave the same rows. The join rule (guanxi.portable's
docstring): keys as a list or a mapping, distinct matches, NULL matches nothing, left columns only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import ibis
import ibis.expr.types as ir
import pytest
from ibis.backends import BaseBackend

from guanxi import portable
from tests.warehouses import postgres_schema

ROWS = {
    "run_id": ["a", "a", "b", "c", None],
    "as_of": [date(2024, 1, 1), date(2024, 2, 1), date(2024, 1, 1), date(2024, 1, 1), date(2024, 1, 1)],
    "n": [1, 2, 3, 4, 5],
}


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Iterator[BaseBackend]:
    """An empty warehouse: the DuckDB test warehouse, or a private PostgreSQL schema."""
    if request.param == "duckdb":
        yield request.getfixturevalue("warehouse")
        return
    with postgres_schema("guanxi_portable") as con:
        yield con


@pytest.fixture(params=["delete", "rewrite"])
def con(request: pytest.FixtureRequest, backend: BaseBackend, monkeypatch: pytest.MonkeyPatch) -> BaseBackend:
    """The test warehouse holding ``t``, either deleting rows or (as on Spark) rewriting the table without them."""
    if request.param == "rewrite":
        monkeypatch.setattr(portable, "_NO_DELETE", frozenset({backend.name}))
    backend.create_table("t", ibis.memtable(ROWS), overwrite=True)
    return backend


def left(con: BaseBackend) -> list[int]:
    return sorted(con.table("t").n.to_pyarrow().to_pylist())


def ns(table: ir.Table) -> list[int]:
    return sorted(table.n.to_pyarrow().to_pylist())


def test_delete_where_removes_rows_equal_on_every_column(con: BaseBackend) -> None:
    portable.delete_where(con, "t", run_id="a", as_of=date(2024, 1, 1))
    assert left(con) == [2, 3, 4, 5]


def test_delete_except_keeps_listed_values_and_nulls(con: BaseBackend) -> None:
    portable.delete_except(con, "t", "run_id", ["a", "c"])
    assert left(con) == [1, 2, 4, 5]
    with pytest.raises(ValueError, match="at least one"):
        portable.delete_except(con, "t", "run_id", [])


def test_delete_matching_removes_rows_found_in_a_key_table(con: BaseBackend) -> None:
    keys = con.create_table("k", ibis.memtable({"run_id": ["b", "c", "z"], "as_of": [date(2024, 1, 1)] * 3}))
    portable.delete_matching(con, "t", keys, ["run_id", "as_of"])
    assert left(con) == [1, 2, 5]


def test_delete_matching_leaves_rows_with_a_null_key_and_takes_mapped_keys(con: BaseBackend) -> None:
    # given a key table with its own column names, holding a NULL key too
    keys = con.create_table(
        "k", ibis.memtable({"rid": ["a", None], "day": [date(2024, 1, 1)] * 2}), overwrite=True
    )
    # when the rows matching it are deleted, keys mapped {column of t: column of k}
    portable.delete_matching(con, "t", keys, {"run_id": "rid", "as_of": "day"})
    # then only a's January row goes: the NULL run_id matches nothing, not even the NULL key
    assert left(con) == [2, 3, 4, 5]


@pytest.fixture
def pairs(backend: BaseBackend) -> tuple[ir.Table, ir.Table]:
    """``t`` (the rows above) and ``other``: b twice, z, a NULL key, and a key named ``rid``."""
    t = backend.create_table("t", ibis.memtable(ROWS), overwrite=True)
    other = backend.create_table(
        "other",
        ibis.memtable({"run_id": ["b", "b", "z", None], "rid": ["a", "a", None, "c"], "x": [1, 2, 3, 4]}),
        overwrite=True,
    )
    return t, other


def test_within_keeps_each_matching_row_once_with_its_own_columns(pairs: tuple[ir.Table, ir.Table]) -> None:
    t, other = pairs
    kept = portable.within(t, other, ["run_id"])
    assert kept.columns == t.columns
    assert ns(kept) == [3]  # b matches twice in other, comes once; the NULL run_id matches nothing


def test_within_and_without_take_a_mapping_of_left_to_right_columns(pairs: tuple[ir.Table, ir.Table]) -> None:
    t, other = pairs
    assert ns(portable.within(t, other, {"run_id": "rid"})) == [1, 2, 4]
    assert ns(portable.without(t, other, {"run_id": "rid"})) == [3, 5]


def test_without_keeps_rows_with_a_null_key_and_its_own_columns(pairs: tuple[ir.Table, ir.Table]) -> None:
    t, other = pairs
    kept = portable.without(t, other, ["run_id"])
    assert kept.columns == t.columns
    assert ns(kept) == [1, 2, 4, 5]  # other holds a NULL key; it removes nothing (not NOT IN)


def test_within_and_without_split_a_table_on_keys_derived_from_itself(backend: BaseBackend) -> None:
    t = backend.create_table("t", ibis.memtable(ROWS), overwrite=True)
    late = t.filter(t.as_of > date(2024, 1, 15))
    assert ns(portable.within(t, late, ["run_id"])) == [1, 2]
    assert ns(portable.without(t, late, ["run_id"])) == [3, 4, 5]


def test_chained_semi_and_anti_joins_run_inside_a_larger_query(pairs: tuple[ir.Table, ir.Table]) -> None:
    # given a join followed by two semi-joins and an anti-join (Ibis' own come out as LEFT SEMI JOIN on PostgreSQL)
    t, other = pairs
    wide = t.join(other.select("run_id", "x"), "run_id")
    chained = portable.without(
        portable.within(portable.within(wide, other, ["run_id"]), other, {"run_id": "run_id"}),
        other.filter(other.x == 2),
        ["x"],
    )
    # then it runs and keeps b's row joined to x = 1
    assert chained.select("n", "x").to_pyarrow().to_pylist() == [{"n": 3, "x": 1}]


def test_a_join_needs_a_key(pairs: tuple[ir.Table, ir.Table]) -> None:
    t, other = pairs
    with pytest.raises(ValueError, match="at least one key"):
        portable.within(t, other, [])


def test_unpivot_gives_text_values_and_drops_nulls(backend: BaseBackend) -> None:
    wide = backend.create_table(
        "wide",
        ibis.memtable({"id": [1, 2], "name": ["王伟", None], "city": ["杭州", "上海"]}),
        overwrite=True,
    )
    long = portable.unpivot(wide, ["id"], ["name", "city"], names_to="field", values_to="value")
    rows = long.order_by(["id", "field"]).to_pyarrow().to_pylist()
    assert rows == [
        {"id": 1, "field": "city", "value": "杭州"},
        {"id": 1, "field": "name", "value": "王伟"},
        {"id": 2, "field": "city", "value": "上海"},
    ]


def test_replace_table_may_read_the_table_it_replaces(backend: BaseBackend) -> None:
    t = backend.create_table("t", ibis.memtable(ROWS), overwrite=True)
    replaced = portable.replace_table(backend, "t", t.filter(t.n > 3).mutate(n=t.n * 10))
    assert ns(replaced) == [40, 50]
    assert "t__next" not in backend.list_tables()


def test_rename_table_renames(backend: BaseBackend) -> None:
    backend.create_table("before", ibis.memtable({"n": [1]}), overwrite=True)
    portable.rename_table(backend, "before", "after")
    assert "before" not in backend.list_tables()
    assert ns(backend.table("after")) == [1]


def test_scratch_tables_are_temporary_where_the_backend_has_them(warehouse: BaseBackend) -> None:
    table = portable.scratch_table(warehouse, "_gx_scratch", ibis.memtable({"x": [1, 2]}))
    assert table.count().execute() == 2
    flags = warehouse.con.sql(
        "SELECT temporary FROM duckdb_tables() WHERE table_name = '_gx_scratch'"
    ).fetchall()
    assert flags == [(True,)]
