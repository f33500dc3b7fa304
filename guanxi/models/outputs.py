"""The tables the models write, and the statements that write them.

**Layout.** ``customer_scores`` is *wide*: one row per customer per run, one
column per score, so a segment rule reads ``rfm_segment = 'Champions' AND
credit_level = 'good'`` without pivoting; a model that is switched off leaves
its columns null. Tags, which vary in number per customer, are *long*
(``customer_tags``). ``score_snapshots`` keeps, per as-of date, the labels that
movement over time is shown with; a run for a date replaces that date's
snapshot. The ledger is append-only. Every table is created on first use.

Deletions go through :mod:`guanxi.portable` (``DELETE`` built from sqlglot
expressions with literal values, or a rewrite where the engine cannot delete).
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi import portable
from guanxi.tables import TableSpec

_RUN = {"customer_id": "int64", "run_id": "string", "as_of": "date"}

CUSTOMER_SCORES = TableSpec(
    "customer_scores",
    {
        **_RUN,
        # RFM
        "rfm_recency_days": "int64",
        "rfm_frequency": "int64",
        "rfm_monetary": "decimal(18, 2)",
        "r_score": "int64",
        "f_score": "int64",
        "m_score": "int64",
        "rfm_cell": "string",
        "rfm_segment": "string",
        "rfm_class": "string",
        # value
        "contribution": "decimal(18, 2)",
        "value_rank": "int64",
        "pareto_cum_share": "float64",
        "pareto_top": "boolean",
        "value_tier": "string",
        "value_score": "float64",
        # loyalty, activity, two-factor
        "loyalty_purchases": "int64",
        "regularity": "float64",
        "loyalty_score": "float64",
        "recent_purchases": "int64",
        "recent_events": "int64",
        "activity_score": "float64",
        "value_activity": "string",
        # lifecycle
        "lifecycle_stage": "string",
        "purchases": "int64",
        "days_since_last_purchase": "int64",
        "expected_interval_days": "float64",
        "interval_basis": "string",
        # frequency × order value
        "quadrant_frequency": "int64",
        "average_order_value": "decimal(18, 2)",
        "quadrant_group": "string",
        # CLV
        "clv_repeat_purchases": "int64",
        "p_alive": "float64",
        "expected_purchases": "float64",
        "expected_spend": "float64",
        "clv": "decimal(18, 2)",
        # credit
        "paid_orders": "int64",
        "unpaid_rate": "float64",
        "refund_rate": "float64",
        "complaints": "int64",
        "credit_score": "float64",
        "credit_level": "string",
        "no_cash_coupon": "boolean",
        # points and tiers
        "points_balance": "int64",
        "member_tier": "string",
        "tier_since": "date",
        # portrait
        "top_category": "string",
        "cluster": "int64",
        "cluster_label": "string",
    },
    ("customer_id", "run_id"),
)

SNAPSHOT_COLUMNS = (
    "rfm_cell",
    "rfm_segment",
    "rfm_class",
    "value_tier",
    "value_score",
    "activity_score",
    "value_activity",
    "lifecycle_stage",
    "quadrant_group",
    "clv",
    "credit_level",
    "member_tier",
    "tier_since",
    "cluster_label",
)
"""The labels a snapshot keeps (the dimensions migrations are shown over)."""

SCORE_SNAPSHOTS = TableSpec(
    "score_snapshots",
    {**_RUN, **{name: CUSTOMER_SCORES.columns[name] for name in SNAPSHOT_COLUMNS}},
    ("as_of", "customer_id"),
)

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

OUTPUT_TABLES = (
    CUSTOMER_SCORES,
    SCORE_SNAPSHOTS,
    LIFECYCLE_TRANSITIONS,
    TIER_CHANGES,
    POINTS_LEDGER,
    CUSTOMER_TAGS,
    PORTRAIT_CLUSTERS,
    MODEL_RUNS,
)


def ensure_outputs(con: BaseBackend) -> None:
    """Create every missing output table (idempotent)."""
    existing = set(con.list_tables())
    for spec in OUTPUT_TABLES:
        if spec.name not in existing:
            con.create_table(spec.name, schema=spec.schema)


def conform(expr: ir.Table, spec: TableSpec) -> ir.Table:
    """``expr`` with exactly ``spec``'s columns, in order and cast; missing ones null."""
    present = set(expr.columns)
    columns = {
        name: (expr[name] if name in present else ibis.null()).cast(kind)
        for name, kind in spec.columns.items()
    }
    return expr.select(**columns)


def delete_where(con: BaseBackend, spec: TableSpec, **equals: str | date) -> None:
    """Remove the rows of ``spec`` whose columns equal the given values (see :mod:`guanxi.portable`)."""
    portable.delete_where(con, spec.name, **equals)


def delete_runs_except(con: BaseBackend, spec: TableSpec, keep: list[str]) -> None:
    """Remove the rows of ``spec`` whose run_id is not in ``keep`` (which must not be empty)."""
    portable.delete_except(con, spec.name, "run_id", keep)
