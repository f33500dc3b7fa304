"""Opening the warehouse: backend from the URL, canonical tables created once."""

from __future__ import annotations

import pytest

from guanxi.errors import ConfigError
from guanxi.tables import ALL_TABLES
from guanxi.warehouse import backend_name, connect, duckdb_path


def test_urls_name_their_backend():
    assert backend_name("duckdb://data/warehouse.duckdb") == "duckdb"
    assert backend_name("postgresql://u@localhost/db") == "postgres"
    assert backend_name("postgresql+psycopg://u@localhost/db") == "postgres"
    assert duckdb_path("duckdb://data/w.duckdb") == "data/w.duckdb"
    assert duckdb_path("duckdb://") == ":memory:"


def test_connect_creates_every_canonical_table_and_is_idempotent(settings):
    con = connect(settings)
    con.create_table("kept", schema={"x": "int64"})
    con.disconnect()

    again = connect(settings)

    assert {spec.name for spec in ALL_TABLES} <= set(again.list_tables())
    assert "kept" in again.list_tables()
    assert again.table("raw_orders").schema()["paid_amount"].is_decimal()
    again.disconnect()


def test_unknown_backend_is_a_config_error(settings):
    with pytest.raises(ConfigError, match="unknown backend 'mysqlx'"):
        connect(settings.model_copy(update={"warehouse_url": "mysqlx://x"}))
