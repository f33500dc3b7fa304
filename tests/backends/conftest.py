"""One warehouse fixture, three backends: the same tests run on DuckDB, PostgreSQL and Spark.

``backend`` yields an empty warehouse holding the canonical tables, opened the way
the product opens it (:func:`guanxi.warehouse.connect`, from the URL alone), plus
the settings that point at it:

* ``duckdb`` — a file in the test's temporary folder;
* ``postgres`` (marked ``postgres``) — a private schema per test in the database
  ``GUANXI_TEST_POSTGRES`` names, dropped afterwards;
* ``pyspark`` (marked ``spark``) — a private database per test in one warehouse
  folder; one SparkSession serves the whole test session (it takes a while to
  start). Runs only when pyspark is installed and ``-m spark`` selects it
  (``make test-spark``), so ``make test`` stays quick.

Data go straight into the raw tables with Ibis inserts (the file importer is
DuckDB-only by design).
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings, get_settings
from guanxi.tables import ALL_TABLES
from guanxi.warehouse import connect, ensure_tables
from tests.identity.conftest import insert_rows
from tests.warehouses import postgres_schema, postgres_url

DATA = Path(__file__).parent / "data"


@dataclass
class Warehouse:
    """An open warehouse of one backend and the settings that name it."""

    name: str
    con: BaseBackend
    settings: Settings


def load(con: BaseBackend, scenario: str) -> None:
    """Load ``data/<scenario>.<kind>.csv`` (kind: customers, orders, order-items …) into the raw tables."""
    files = sorted(DATA.glob(f"{scenario}.*.csv"))
    assert files, f"no files for scenario {scenario!r} in {DATA}"
    for path in files:
        kind = path.name.removeprefix(f"{scenario}.").removesuffix(".csv")
        with path.open(encoding="utf-8", newline="") as handle:
            insert_rows(con, kind, list(csv.DictReader(handle)))


def _settings(tmp_path: Path, url: str) -> Settings:
    return get_settings(env="test", data_dir=tmp_path, warehouse_url=url, progress=False)


def _duckdb(tmp_path: Path) -> Iterator[Warehouse]:
    settings = _settings(tmp_path, f"duckdb://{tmp_path / 'warehouse.duckdb'}")
    con = connect(settings)
    yield Warehouse("duckdb", con, settings)
    con.disconnect()


def _postgres(tmp_path: Path) -> Iterator[Warehouse]:
    with postgres_schema("guanxi_backends") as con:
        ensure_tables(con, ALL_TABLES)
        yield Warehouse("postgres", con, _settings(tmp_path, postgres_url()))


@pytest.fixture(scope="session")
def spark_warehouse_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The one Spark warehouse folder of the test session; the session is stopped at the end."""
    folder = tmp_path_factory.mktemp("spark")
    yield folder
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


def _pyspark(request: pytest.FixtureRequest, tmp_path: Path, folder: Path) -> Iterator[Warehouse]:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("pyspark not installed: run make test-spark")
    if "spark" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("Spark variant runs with -m spark: run make test-spark")
    database = f"t_{uuid.uuid4().hex[:12]}"
    url = f"pyspark://local[2]?warehouse={folder}&database={database}"
    settings = _settings(tmp_path, url)
    con = connect(settings)
    try:
        yield Warehouse("pyspark", con, settings)
    finally:
        con.raw_sql("USE default")
        con.drop_database(database, force=True)


@pytest.fixture(
    params=[
        pytest.param("duckdb"),
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("pyspark", marks=pytest.mark.spark),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    """An empty warehouse with the canonical tables, on each backend in turn."""
    if request.param == "duckdb":
        yield from _duckdb(tmp_path)
    elif request.param == "postgres":
        yield from _postgres(tmp_path)
    else:
        yield from _pyspark(request, tmp_path, request.getfixturevalue("spark_warehouse_dir"))
