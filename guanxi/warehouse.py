"""The one place that opens the warehouse connection.

The URL in ``Settings.warehouse_url`` chooses the backend; callers receive an
Ibis backend and never branch on which:

* ``duckdb://PATH[?SETTING=VALUE…]`` — an embedded DuckDB file (``duckdb://`` alone: in
  memory), with optional DuckDB settings such as ``memory_limit`` (see :func:`duckdb_config`);
* ``postgresql://USER@HOST:PORT/DB`` (also ``postgresql+psycopg://``);
* ``pyspark://MASTER?warehouse=DIR&database=NAME&spark.KEY=VALUE`` — Spark SQL
  through a SparkSession started in this process (see :func:`spark_target`);
  needs the ``spark`` extra (``pip install 'guanxi[spark]'``);
* ``clickhouse://``, ``snowflake://``, ``bigquery://`` — handed to :func:`ibis.connect`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import ibis
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.errors import ConfigError, WarehouseError
from guanxi.tables import ALL_TABLES, TableSpec

SPARK_DEFAULT_MASTER = "local[2]"
SPARK_DEFAULT_DATABASE = "guanxi"

SPARK_DEFAULTS: dict[str, str] = {
    "spark.driver.memory": "4g",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.catalogImplementation": "hive",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}
"""SparkSession settings for one small machine (2 cores, a few GiB for the driver): few shuffle
partitions, Arrow transfers, no web UI, a persistent (Hive/Derby) catalog. Any of them can be
overridden by a ``spark.*`` query parameter of the warehouse URL."""


def backend_name(url: str) -> str:
    """The Ibis backend a warehouse URL selects (``duckdb``, ``postgres``, ``pyspark`` …)."""
    scheme = url.partition("://")[0].lower().split("+")[0] if "://" in url else ""
    return {"postgresql": "postgres", "pg": "postgres", "spark": "pyspark"}.get(scheme, scheme)


def duckdb_path(url: str) -> str:
    """The file path in a ``duckdb://`` URL (``:memory:`` for an empty path)."""
    rest = url.split("://", 1)[1] if "://" in url else url
    return unquote(rest.partition("?")[0]) or ":memory:"


def duckdb_config(url: str) -> dict[str, str]:
    """DuckDB settings given as query parameters of a ``duckdb://`` URL.

    ``duckdb://data/w.duckdb?memory_limit=12GB&threads=2&temp_directory=/big/tmp`` caps
    DuckDB's own memory (beyond it, large operations spill to the temp directory),
    its threads and where it spills. Any DuckDB setting name is accepted; DuckDB
    itself rejects unknown names and bad values when the warehouse is opened.
    """
    query = url.partition("?")[2]
    return dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))


@dataclass(frozen=True)
class SparkTarget:
    """Where a ``pyspark://`` URL points: the Spark master, the warehouse folder holding the
    tables (and the Derby metastore that lists them), the database and extra Spark settings."""

    master: str
    warehouse_dir: Path
    database: str
    conf: dict[str, str] = field(default_factory=dict)

    @property
    def metastore_dir(self) -> Path:
        return self.warehouse_dir / "metastore_db"

    def spark_conf(self) -> dict[str, str]:
        """Every setting the SparkSession is built with: :data:`SPARK_DEFAULTS`, the folders, the URL's own."""
        derby = f"jdbc:derby:;databaseName={self.metastore_dir};create=true"
        java = f"-Duser.timezone=UTC -Dderby.system.home={self.warehouse_dir}"
        return {
            **SPARK_DEFAULTS,
            "spark.master": self.master,
            "spark.app.name": "guanxi",
            "spark.sql.warehouse.dir": str(self.warehouse_dir),
            "spark.hadoop.javax.jdo.option.ConnectionURL": derby,
            "spark.driver.extraJavaOptions": java,
            **self.conf,
        }


def spark_target(url: str, data_dir: Path) -> SparkTarget:
    """Read a ``pyspark://MASTER?warehouse=DIR&database=NAME&spark.KEY=VALUE`` URL.

    ``MASTER`` defaults to ``local[2]`` (``pyspark://`` alone), ``warehouse`` to
    ``DATA_DIR/spark-warehouse`` (a relative path is taken from the working
    folder), ``database`` to ``guanxi``. Raises :class:`ConfigError` for an
    unknown parameter or a database name that is not a plain identifier.
    """
    rest = url.split("://", 1)[1] if "://" in url else ""
    master, _, query = rest.partition("?")
    master = unquote(master.rstrip("/")) or SPARK_DEFAULT_MASTER
    params = dict(parse_qsl(query, keep_blank_values=True))
    warehouse = Path(params.pop("warehouse", "") or data_dir / "spark-warehouse").absolute()
    database = params.pop("database", "") or SPARK_DEFAULT_DATABASE
    if not database.replace("_", "").isalnum() or not database.isascii():
        raise ConfigError(f"GUANXI_WAREHOUSE_URL: database {database!r} must be letters, digits and _")
    unknown = sorted(key for key in params if not key.startswith("spark."))
    if unknown:
        raise ConfigError(
            f"GUANXI_WAREHOUSE_URL: unknown parameter(s) {', '.join(unknown)} in {url}; "
            "known: warehouse, database, spark.*"
        )
    return SparkTarget(master, warehouse, database.lower(), params)


def _spark_session(target: SparkTarget) -> Any:
    """The process's SparkSession for ``target`` (started on first use, one per process).

    Raises :class:`ConfigError` when pyspark is not installed and
    :class:`WarehouseError` when a session for another warehouse folder is already running.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise ConfigError(
            "GUANXI_WAREHOUSE_URL selects Spark but pyspark is not installed: "
            "pip install 'guanxi[spark]' (or make test-spark)"
        ) from err
    active = SparkSession.getActiveSession()
    if active is not None:
        running = Path(str(active.conf.get("spark.sql.warehouse.dir")).removeprefix("file:")).absolute()
        if running != target.warehouse_dir:
            raise WarehouseError(
                f"a Spark session for the warehouse {running} is already running in this process; "
                f"one process serves one Spark warehouse (asked for {target.warehouse_dir})"
            )
        return active
    target.warehouse_dir.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    for key, value in target.spark_conf().items():
        builder = builder.config(key, value)
    session = builder.enableHiveSupport().getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _connect_spark(url: str, settings: Settings) -> BaseBackend:
    target = spark_target(url, settings.data_dir)
    session = _spark_session(target)
    con: BaseBackend = ibis.pyspark.connect(session)
    con.create_database(target.database, force=True)
    con.raw_sql(f"USE `{target.database}`")  # a checked identifier, see spark_target
    return con


def connect(settings: Settings) -> BaseBackend:
    """Open the configured warehouse and make sure the canonical tables exist.

    Idempotent: existing tables are left as they are; missing ones are created.
    Raises :class:`ConfigError` for an unknown backend or a backend whose driver is
    not installed, :class:`WarehouseError` when the backend refuses the connection.
    On Spark the tables are persistent (Parquet files under the warehouse folder,
    listed in a Derby metastore beside them), so another process opening the same
    URL later sees them; Derby lets one process at a time open the warehouse.
    """
    url = settings.warehouse_url
    name = backend_name(url)
    try:
        if name == "duckdb":
            path = duckdb_path(url)
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            con: BaseBackend = ibis.duckdb.connect(path, **duckdb_config(url))
        elif name == "pyspark":
            con = _connect_spark(url, settings)
        elif name in {"postgres", "clickhouse", "snowflake", "bigquery"}:
            con = ibis.connect(url)
        else:
            raise ConfigError(f"GUANXI_WAREHOUSE_URL uses an unknown backend {name!r}: {url}")
    except (ConfigError, WarehouseError):
        raise
    except Exception as err:
        raise WarehouseError(f"cannot open the warehouse at {url}: {err}") from err
    ensure_tables(con)
    return con


def ensure_tables(con: BaseBackend, specs: tuple[TableSpec, ...] = ALL_TABLES) -> None:
    """Create every missing canonical table (empty, with its schema)."""
    existing = set(con.list_tables())
    for spec in specs:
        if spec.name not in existing:
            con.create_table(spec.name, schema=spec.schema)


def raw_duckdb(con: BaseBackend) -> Any:
    """The DuckDB connection under an Ibis DuckDB backend.

    Used by steps that need DuckDB's own readers (CSV sniffing, Excel via Arrow);
    raises :class:`BackendUnsupportedError` style WarehouseError elsewhere.
    """
    if con.name != "duckdb":
        raise WarehouseError(f"this step needs a DuckDB connection, the warehouse is {con.name}")
    return con.con
