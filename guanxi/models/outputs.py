"""The tables the models write, created on first use and widened when a model adds columns.

**Layout.** ``customer_scores`` is *wide*: one row per customer per run, one
column per score, so a segment rule reads ``rfm_segment = 'Champions' AND
credit_level = 'good'`` without pivoting; a model that is switched off leaves
its columns null. Its columns, and those of ``score_snapshots`` (per as-of
date, the labels that movement over time is shown with; a run for a date
replaces that date's snapshot), are whatever the registered models declare
(:func:`~guanxi.models.declared.customer_scores_spec`). Tags, which vary in
number per customer, are *long* (``customer_tags``). The ledger is append-only.

:func:`ensure_outputs` creates missing tables and adds to the two wide tables
the columns a newly registered model declares (``ALTER TABLE … ADD COLUMN``
built from sqlglot expressions; earlier rows hold null there). Columns of a
model no longer registered stay and are left null. Deletions go through
:mod:`guanxi.portable` (``DELETE`` with literal values, or a rewrite where the
engine cannot delete).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ibis.expr.datatypes as dt
import pluggy
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from guanxi import portable
from guanxi.errors import BackendUnsupportedError, WarehouseError
from guanxi.models.declared import (
    ModelDefinition,
    declared_models,
    scores_spec,
    snapshots_spec,
)
from guanxi.tables import TableSpec

LIFECYCLE_TRANSITIONS = TableSpec(
    "lifecycle_transitions",
    {
        "customer_id": "int64",
        "from_stage": "string",
        "to_stage": "string",
        "from_as_of": "date",
        "as_of": "date",
        "run_id": "string",
    },
    ("as_of", "customer_id"),
)

TIER_CHANGES = TableSpec(
    "tier_changes",
    {
        "customer_id": "int64",
        "from_tier": "string",
        "to_tier": "string",
        "direction": "string",
        "as_of": "date",
        "run_id": "string",
    },
    ("as_of", "customer_id"),
)

POINTS_LEDGER = TableSpec(
    "points_ledger",
    {
        "entry_id": "string",
        "customer_id": "int64",
        "source": "string",
        "source_customer_id": "string",
        "kind": "string",
        "points": "int64",
        "order_id": "string",
        "reference": "string",
        "occurred_at": "timestamp",
        "expires_on": "date",
        "run_id": "string",
        "recorded_at": "timestamp",
    },
    ("entry_id",),
)

CUSTOMER_TAGS = TableSpec(
    "customer_tags",
    {
        "customer_id": "int64",
        "model": "string",
        "tag": "string",
        "value": "string",
        "weight": "float64",
        "run_id": "string",
        "as_of": "date",
    },
    ("customer_id", "model", "tag", "value"),
)

PORTRAIT_CLUSTERS = TableSpec(
    "portrait_clusters",
    {
        "run_id": "string",
        "as_of": "date",
        "cluster": "int64",
        "label": "string",
        "customers": "int64",
        "monetary": "float64",
        "frequency": "float64",
        "recency_days": "float64",
        "average_order_value": "float64",
        "discount_rate": "float64",
        "top_category": "string",
        "top_province": "string",
        "silhouette": "float64",
    },
    ("run_id", "cluster"),
)

MODEL_RUNS = TableSpec(
    "model_runs",
    {
        "run_id": "string",
        "as_of": "date",
        "started_at": "timestamp",
        "finished_at": "timestamp",
        "customers": "int64",
        "report": "string",
    },
    ("run_id",),
)

MODEL_ORDERS = TableSpec(
    "model_orders",
    {
        "customer_id": "int64",
        "source": "string",
        "source_customer_id": "string",
        "order_id": "string",
        "status": "string",
        "created_at": "timestamp",
        "paid_at": "timestamp",
        "delivered_at": "timestamp",
        "paid_date": "date",
        "channel": "string",
        "is_paid": "boolean",
        "amount": "decimal(18, 2)",
        "refund": "decimal(18, 2)",
        "net_amount": "decimal(18, 2)",
        "discount": "decimal(18, 2)",
    },
    ("source", "order_id"),
)
"""Every order of a resolved customer, money normalised (kept between runs; see ``intermediates``)."""

MODEL_ITEMS = TableSpec(
    "model_items",
    {
        "customer_id": "int64",
        "source": "string",
        "order_id": "string",
        "paid_at": "timestamp",
        "category": "string",
        "brand": "string",
        "quantity": "int64",
        "price": "decimal(18, 2)",
        "item_amount": "decimal(18, 2)",
        "kept_share": "float64",
    },
    (),
)
"""Items of paid orders with their customer (kept between runs)."""

MODEL_STATE = TableSpec(
    "model_state",
    {
        "name": "string",
        "orders_ingested": "timestamp",
        "items_ingested": "timestamp",
        "identity_resolved": "timestamp",
        "config_key": "string",
    },
    ("name",),
)
"""What the kept order tables were built from (newest ingested/resolved times seen)."""

KEPT_TABLES = (MODEL_ORDERS, MODEL_ITEMS, MODEL_STATE)
"""Tables a run keeps for the next one; dropping them only makes the next run rebuild them."""

FIXED_OUTPUT_TABLES = (
    LIFECYCLE_TRANSITIONS,
    TIER_CHANGES,
    POINTS_LEDGER,
    CUSTOMER_TAGS,
    PORTRAIT_CLUSTERS,
    MODEL_RUNS,
)
"""The output tables whose columns are fixed (the wide two are :func:`declared_tables`)."""


def declared_tables(definitions: Sequence[ModelDefinition[Any]]) -> tuple[TableSpec, TableSpec]:
    """``customer_scores`` and ``score_snapshots`` for these model definitions."""
    return scores_spec(definitions), snapshots_spec(definitions)


def output_tables(pm: pluggy.PluginManager | None = None) -> tuple[TableSpec, ...]:
    """Every table a model run writes, the wide two as the registered models declare them."""
    return (*declared_tables(declared_models(pm)), *FIXED_OUTPUT_TABLES)


def ensure_outputs(
    con: BaseBackend,
    definitions: Sequence[ModelDefinition[Any]] | None = None,
    *,
    pm: pluggy.PluginManager | None = None,
) -> None:
    """Create every missing output table and add the declared columns the wide tables lack (idempotent).

    ``definitions`` defaults to the models registered with ``pm``. Raises
    :class:`WarehouseError` when adding a column fails (see :func:`add_missing_columns`).
    """
    if definitions is None:
        definitions = declared_models(pm)
    wide = declared_tables(definitions)
    existing = create_missing(con, (*wide, *FIXED_OUTPUT_TABLES))
    for spec in wide:
        if spec.name in existing:
            add_missing_columns(con, spec)


def create_missing(con: BaseBackend, specs: Sequence[TableSpec]) -> set[str]:
    """Create the tables of ``specs`` that do not exist; returns the names of those that already did."""
    existing = set(con.list_tables())
    for spec in specs:
        if spec.name not in existing:
            con.create_table(spec.name, schema=spec.schema)
    return existing & {spec.name for spec in specs}


def add_missing_columns(con: BaseBackend, spec: TableSpec) -> list[str]:
    """Add to the table ``spec.name`` every column of ``spec`` it lacks (nullable); returns their names.

    One ``ALTER TABLE … ADD COLUMN`` per column, built from sqlglot expressions
    with the backend's own type names (DuckDB takes one action per statement);
    runs on DuckDB, PostgreSQL and Spark's Parquet tables. Raises
    :class:`WarehouseError` when the warehouse refuses (a Spark table in a
    format that cannot add columns: drop it to have it recreated).
    """
    present = set(con.table(spec.name).columns)
    missing = [name for name in spec.columns if name not in present]
    if not missing:
        return []
    type_of = _type_mapper(con)
    for name in missing:
        column = sge.ColumnDef(
            this=sge.to_identifier(name, quoted=True), kind=type_of(dt.dtype(spec.columns[name]))
        )
        statement = sge.Alter(this=sge.table_(spec.name, quoted=True), kind="TABLE", actions=[column])
        try:
            portable.execute(con, statement)
        except Exception as err:  # each driver raises its own error class
            raise WarehouseError(
                f"could not add the column {name} to {spec.name} ({err}); "
                f"drop {spec.name} to have it recreated with every declared column"
            ) from err
    return missing


def _type_mapper(con: BaseBackend) -> Callable[[dt.DataType], sge.DataType]:
    compiler = getattr(con, "compiler", None)
    mapper = getattr(compiler, "type_mapper", None)
    if mapper is None:
        raise BackendUnsupportedError(f"the {con.name} warehouse does not compile SQL; cannot add columns")
    from_ibis: Callable[[dt.DataType], sge.DataType] = mapper.from_ibis
    return from_ibis
