"""Fixtures for identity tests: a tiny loader of named scenario files into raw tables.

A scenario ``NAME`` is either ``tests/data/identity/NAME.csv`` (rows of
``raw_customers``) or a set of ``NAME.<kind>.csv`` files, ``kind`` one of
customers, orders, events, tickets. Columns a file lacks are NULL; empty cells
are NULL; values are cast to the canonical column types.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import ibis
import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.tables import ALL_TABLES, RAW_TABLES, TableSpec
from guanxi.warehouse import ensure_tables

DATA = Path(__file__).parent.parent / "data" / "identity"
NOW = datetime(2024, 6, 1, 12, 0, 0)
LATER = datetime(2024, 6, 2, 12, 0, 0)


def rows_to_table(spec: TableSpec, rows: list[dict[str, Any]]) -> ibis.Table:
    """Rows of text (missing keys and '' → NULL) as an Ibis table with ``spec``'s schema."""
    columns = {name: [row.get(name) or None for row in rows] for name in spec.columns}
    text = ibis.memtable(columns, schema=dict.fromkeys(spec.columns, "string"))
    return text.select(**{name: text[name].cast(kind) for name, kind in spec.schema.items()})


def insert_rows(con: BaseBackend, kind: str, rows: list[dict[str, Any]]) -> None:
    spec = RAW_TABLES[kind]
    con.insert(spec.name, rows_to_table(spec, rows))


def load_scenario(con: BaseBackend, name: str) -> None:
    """Load the scenario's files into the raw tables (appending)."""
    single = DATA / f"{name}.csv"
    files = {"customers": single} if single.exists() else {}
    for path in sorted(DATA.glob(f"{name}.*.csv")):
        files[path.name.removeprefix(f"{name}.").removesuffix(".csv")] = path
    assert files, f"no scenario files for {name!r} in {DATA}"
    for kind, path in files.items():
        with path.open(encoding="utf-8", newline="") as handle:
            insert_rows(con, kind, list(csv.DictReader(handle)))


def partition(con: BaseBackend) -> set[frozenset[str]]:
    """The resolved customers as sets of ``source:source_customer_id``."""
    rows = con.table("identity_map").to_pyarrow().to_pylist()
    groups: dict[int, set[str]] = {}
    for row in rows:
        groups.setdefault(row["customer_id"], set()).add(f"{row['source']}:{row['source_customer_id']}")
    return {frozenset(group) for group in groups.values()}


def ids(con: BaseBackend) -> dict[str, int]:
    """``source:source_customer_id`` → customer id."""
    rows = con.table("identity_map").to_pyarrow().to_pylist()
    return {f"{r['source']}:{r['source_customer_id']}": int(r["customer_id"]) for r in rows}


@pytest.fixture
def memory_warehouse() -> Iterator[BaseBackend]:
    """An in-memory DuckDB warehouse with the canonical tables (faster than a file)."""
    con = ibis.duckdb.connect()
    ensure_tables(con, ALL_TABLES)
    yield con
    con.disconnect()


@pytest.fixture
def load(memory_warehouse: BaseBackend) -> Callable[[str], BaseBackend]:
    """Load a named scenario into the test's (in-memory) warehouse and return the warehouse."""

    def _load(name: str) -> BaseBackend:
        load_scenario(memory_warehouse, name)
        return memory_warehouse

    return _load


@pytest.fixture
def strict_settings(settings: Settings) -> Settings:
    """Settings with a shared-identifier limit of 3 records."""
    return settings.model_copy(update={"shared_identifier_limit": 3})
