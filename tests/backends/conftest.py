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
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import ibis
import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings, get_settings
from guanxi.tables import ALL_TABLES
from guanxi.warehouse import connect, ensure_tables
from tests.identity.conftest import insert_rows

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
    url = os.environ.get("GUANXI_TEST_POSTGRES")
    if not url:
        pytest.skip("GUANXI_TEST_POSTGRES not set")
    import psycopg

    parsed = urlparse(url.replace("+psycopg", ""))
    params: dict[str, object] = {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "dbname": parsed.path.lstrip("/") or "postgres",
    }
    if parsed.password:
        params["password"] = parsed.password
    schema = f"guanxi_backends_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**params, autocommit=True) as admin:  # type: ignore[arg-type]
        admin.execute(f'CREATE SCHEMA "{schema}"')
    con = ibis.postgres.connect(
        host=params["host"],
        port=params["port"],
        user=params["user"],
        password=parsed.password,
        database=params["dbname"],
        options=f"-csearch_path={schema}",
    )
    ensure_tables(con, ALL_TABLES)
    try:
        yield Warehouse("postgres", con, _settings(tmp_path, url))
    finally:
        con.disconnect()
        with psycopg.connect(**params, autocommit=True) as admin:  # type: ignore[arg-type]
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


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
