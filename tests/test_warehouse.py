"""Opening the warehouse: backend from the URL, canonical tables created once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from guanxi.errors import ConfigError, WarehouseError
from guanxi.tables import ALL_TABLES
from guanxi.warehouse import backend_name, connect, duckdb_config, duckdb_path, raw_duckdb, spark_target


def test_urls_name_their_backend():
    assert backend_name("duckdb://data/warehouse.duckdb") == "duckdb"
    assert backend_name("postgresql://u@localhost/db") == "postgres"
    assert backend_name("postgresql+psycopg://u@localhost/db") == "postgres"
    assert backend_name("pyspark://local[2]?warehouse=/w") == "pyspark"
    assert backend_name("spark://") == "pyspark"
    assert duckdb_path("duckdb://data/w.duckdb") == "data/w.duckdb"
    assert duckdb_path("duckdb://") == ":memory:"
    assert duckdb_path("duckdb://data/w.duckdb?memory_limit=2GB") == "data/w.duckdb"


def test_duckdb_settings_ride_on_the_url(settings):
    assert duckdb_config("duckdb://w.duckdb") == {}
    assert duckdb_config("duckdb://w.duckdb?memory_limit=512MB&threads=1") == {
        "memory_limit": "512MB",
        "threads": "1",
    }
    url = f"duckdb://{settings.data_dir}/capped.duckdb?memory_limit=512MB&threads=1"
    con = connect(settings.model_copy(update={"warehouse_url": url}))
    raw = raw_duckdb(con)
    assert raw.sql("SELECT current_setting('threads')").fetchone()[0] == 1
    limit = raw.sql("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit.replace(" ", "") in {"488.2MiB", "512.0MB", "512MB"}, limit
    assert "raw_orders" in con.list_tables()  # the canonical tables, as with a plain URL
    con.disconnect()


def test_an_unknown_duckdb_setting_is_refused_with_the_url(settings):
    url = f"duckdb://{settings.data_dir}/w.duckdb?no_such_setting=1"
    with pytest.raises(WarehouseError, match="no_such_setting"):
        connect(settings.model_copy(update={"warehouse_url": url}))


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


def test_a_spark_url_names_master_warehouse_database_and_settings():
    target = spark_target(
        "pyspark://local[4]?warehouse=/srv/wh&database=Shop_1&spark.driver.memory=8g", Path("/data")
    )

    assert (target.master, target.warehouse_dir, target.database) == ("local[4]", Path("/srv/wh"), "shop_1")
    conf = target.spark_conf()
    assert conf["spark.driver.memory"] == "8g"
    assert conf["spark.sql.shuffle.partitions"] == "4"
    assert conf["spark.sql.warehouse.dir"] == "/srv/wh"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert "databaseName=/srv/wh/metastore_db" in conf["spark.hadoop.javax.jdo.option.ConnectionURL"]


def test_a_bare_spark_url_runs_locally_under_the_data_dir():
    target = spark_target("pyspark://", Path("/data"))

    assert (target.master, target.warehouse_dir, target.database) == (
        "local[2]",
        Path("/data/spark-warehouse"),
        "guanxi",
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("pyspark://local[2]?warehous=/w", "unknown parameter"),
        ("pyspark://local[2]?database=a;drop", "letters, digits and _"),
    ],
)
def test_a_wrong_spark_url_is_a_config_error(url, message):
    with pytest.raises(ConfigError, match=message):
        spark_target(url, Path("/data"))


def test_spark_without_pyspark_installed_is_a_config_error(settings, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)

    with pytest.raises(ConfigError, match=r"pyspark is not installed: pip install 'guanxi\[spark\]'"):
        connect(settings.model_copy(update={"warehouse_url": f"pyspark://?warehouse={settings.data_dir}/w"}))
