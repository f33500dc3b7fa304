"""The one place that opens the warehouse connection.

The URL in ``Settings.warehouse_url`` chooses the backend (``duckdb://path``,
``postgresql://…``); callers receive an Ibis backend and never branch on which.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import ibis
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.errors import ConfigError, WarehouseError
from guanxi.tables import ALL_TABLES, TableSpec


def backend_name(url: str) -> str:
    """The Ibis backend a warehouse URL selects (``duckdb``, ``postgres`` …)."""
    scheme = urlparse(url).scheme.split("+")[0]
    return {"postgresql": "postgres", "pg": "postgres"}.get(scheme, scheme)


def duckdb_path(url: str) -> str:
    """The file path in a ``duckdb://`` URL (``:memory:`` for an empty path)."""
    rest = url.split("://", 1)[1] if "://" in url else url
    return rest or ":memory:"


def connect(settings: Settings) -> BaseBackend:
    """Open the configured warehouse and make sure the canonical tables exist.

    Idempotent: existing tables are left as they are; missing ones are created.
    Raises :class:`ConfigError` for an unknown backend, :class:`WarehouseError`
    when the backend refuses the connection.
    """
    url = settings.warehouse_url
    name = backend_name(url)
    try:
        if name == "duckdb":
            path = duckdb_path(url)
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            con: BaseBackend = ibis.duckdb.connect(path)
        elif name in {"postgres", "pyspark", "clickhouse", "snowflake", "bigquery"}:
            con = ibis.connect(url)
        else:
            raise ConfigError(f"GUANXI_WAREHOUSE_URL uses an unknown backend {name!r}: {url}")
    except ConfigError:
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
