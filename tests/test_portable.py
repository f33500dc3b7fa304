"""Portable table operations: the DELETE path and the rewrite path (Spark's) leave the same rows."""

from __future__ import annotations

from datetime import date

import ibis
import pytest
from ibis.backends import BaseBackend

from guanxi import portable

ROWS = {
    "run_id": ["a", "a", "b", "c", None],
    "as_of": [date(2024, 1, 1), date(2024, 2, 1), date(2024, 1, 1), date(2024, 1, 1), date(2024, 1, 1)],
    "n": [1, 2, 3, 4, 5],
}


@pytest.fixture(params=["delete", "rewrite"])
def con(
    request: pytest.FixtureRequest, warehouse: BaseBackend, monkeypatch: pytest.MonkeyPatch
) -> BaseBackend:
    """The test warehouse, either deleting rows or (as on Spark) rewriting the table without them."""
    if request.param == "rewrite":
        monkeypatch.setattr(portable, "_NO_DELETE", frozenset({warehouse.name}))
    warehouse.create_table("t", ibis.memtable(ROWS), overwrite=True)
    return warehouse


def left(con: BaseBackend) -> list[int]:
    return sorted(con.table("t").n.to_pyarrow().to_pylist())


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


def test_scratch_tables_are_temporary_where_the_backend_has_them(warehouse: BaseBackend) -> None:
    table = portable.scratch_table(warehouse, "_gx_scratch", ibis.memtable({"x": [1, 2]}))
    assert table.count().execute() == 2
    flags = warehouse.con.sql(
        "SELECT temporary FROM duckdb_tables() WHERE table_name = '_gx_scratch'"
    ).fetchall()
    assert flags == [(True,)]
