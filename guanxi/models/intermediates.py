"""Order-level tables kept between runs, rebuilt in full or updated per changed record.

The models read orders and items already joined to customers with money
normalised. Building those joins is the costliest part of a run, and the result
does not depend on the as-of date (a run filters it with
:func:`~guanxi.models.inputs.orders_before`), so it is kept in two warehouse
tables:

* ``model_orders`` — :func:`~guanxi.models.inputs.normalised_orders`, every order
  of a resolved customer;
* ``model_items``  — :func:`~guanxi.models.inputs.keyed_items`, the items of paid
  orders.

``model_state`` remembers what they were built from: the newest ``ingested_at``
of ``raw_orders`` and ``raw_order_items`` and the newest ``resolved_at`` of
``identity_map``. An **incremental** refresh finds the records whose rows or
identity changed since then (newer ``ingested_at`` / ``resolved_at``), deletes
their orders and items (under their old customer too) and inserts them again
from the raw tables; everything else is left as it is. The result equals a
full rebuild because every row is a function of its own raw row and its
record's identity only. The importer replaces a changed row with a new
``ingested_at`` and ``guanxi resolve`` stamps ``resolved_at`` on every record
whose customer changed, which is what makes the change visible; rows loaded
without those stamps (straight into the warehouse) count as changed on every
incremental run, which costs time but never gives a wrong answer.

Crash safety: the state row is deleted before a refresh changes anything and
written back by :func:`commit` once the caller has finished everything that
depends on the refresh (the whole model run), so an interrupted refresh or run
makes the next one a full rebuild instead of trusting half-updated tables or
skipping changes the interrupted run had already taken in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi import portable
from guanxi.errors import BackendUnsupportedError
from guanxi.models import inputs
from guanxi.models.outputs import MODEL_ITEMS, MODEL_ORDERS, MODEL_STATE
from guanxi.tables import conform

Keep = Callable[[str, ir.Table], ir.Table]

_STATE_NAME = "order_tables"
_NEVER = datetime(1900, 1, 1)  # noqa: DTZ001 - warehouse times are naive wall-clock times


@dataclass(frozen=True)
class _Marks:
    orders_ingested: datetime
    items_ingested: datetime
    identity_resolved: datetime
    config_key: str


@dataclass(frozen=True)
class Refresh:
    """What a refresh did: ``full`` or not, records and customers whose rows were rebuilt.

    ``records`` and ``customers`` are counted for an incremental refresh only
    (a full one rebuilds everything; counting would cost another scan).

    ``orders`` holds the ``(source, order_id)`` keys rebuilt by an incremental
    refresh and ``changed_customers`` the ``customer_id`` of every customer
    those orders belonged to before or after it (tables in the caller's
    workspace); both ``None`` after a full one.

    Nothing is remembered until :func:`commit` is called with this object.
    """

    full: bool
    records: int | None
    customers: int | None
    reason: str
    marks: _Marks
    orders: ir.Table | None = None
    changed_customers: ir.Table | None = None


VERSION = "1"
"""Bumped whenever what the kept tables hold changes, so the next refresh rebuilds them."""


def refresh(con: BaseBackend, keep: Keep, *, incremental: bool, config_key: str = VERSION) -> Refresh:
    """Bring ``model_orders`` and ``model_items`` up to date with the raw tables.

    ``incremental=False`` rebuilds both; ``incremental=True`` touches only the
    changed records and falls back to a full rebuild (saying why in
    :attr:`Refresh.reason`) when there is no usable state: first run, an
    interrupted refresh, or a different ``config_key`` (whatever the caller's
    configuration that the tables depend on). Raises
    :class:`BackendUnsupportedError` when the warehouse cannot delete rows.
    The next incremental refresh builds on this one only after
    :func:`commit`.

    ``keep(name, expr)`` materialises a temporary table for the run (see
    :class:`~guanxi.models.workspace.Workspace`).
    """
    marks = _current_marks(con, config_key)
    state = _read_state(con)
    if not incremental:
        return _full(con, marks, "full run")
    if state is None:
        return _full(con, marks, "no earlier order tables: full rebuild")
    if state.config_key != config_key:
        return _full(con, marks, "configuration changed: full rebuild")
    return _incremental(con, keep, state, marks)


def commit(con: BaseBackend, refreshed: Refresh) -> None:
    """Remember what the kept tables were built from; call once the run that refreshed them is complete.

    :func:`refresh` emptied the state before it changed anything, so this writes the one state row.
    """
    _write_state(con, refreshed.marks)


def orders(con: BaseBackend) -> ir.Table:
    """The kept ``model_orders`` table."""
    return con.table(MODEL_ORDERS.name)


def items(con: BaseBackend) -> ir.Table:
    """The kept ``model_items`` table."""
    return con.table(MODEL_ITEMS.name)


def _full(con: BaseBackend, marks: _Marks, reason: str) -> Refresh:
    _clear_state(con)
    identity_map = inputs.table(con, "identity_map")
    built = conform(inputs.normalised_orders(inputs.table(con, "raw_orders"), identity_map), MODEL_ORDERS)
    con.create_table(MODEL_ORDERS.name, built, overwrite=True)
    paid = inputs.paid_orders(orders(con))
    kept = conform(inputs.keyed_items(inputs.table(con, "raw_order_items"), paid), MODEL_ITEMS)
    con.create_table(MODEL_ITEMS.name, kept, overwrite=True)
    return Refresh(True, None, None, reason, marks)


def _incremental(con: BaseBackend, keep: Keep, state: _Marks, marks: _Marks) -> Refresh:
    if not portable.supports_delete(con):
        raise BackendUnsupportedError(
            f"incremental model runs delete changed rows, which the {con.name} warehouse does not support "
            "here; run `guanxi models run` without --incremental"
        )
    raw_orders = inputs.table(con, "raw_orders")
    raw_items = inputs.table(con, "raw_order_items")
    identity_map = inputs.table(con, "identity_map")
    record = ["source", "source_customer_id"]
    changed = ibis.union(
        raw_orders.filter(_newer(raw_orders.ingested_at, state.orders_ingested)).select(*record),
        identity_map.filter(_newer(identity_map.resolved_at, state.identity_resolved)).select(*record),
        distinct=True,
    )
    changed_t = keep("changed_records", changed)
    # Orders of changed records (as kept and as now in raw), plus orders whose items changed.
    kept = orders(con)
    order_key = ["source", "order_id"]
    touched = keep(
        "changed_orders",
        ibis.union(
            kept.semi_join(changed_t, record).select(*order_key),
            raw_orders.semi_join(changed_t, record).select(*order_key),
            raw_items.filter(_newer(raw_items.ingested_at, state.items_ingested)).select(*order_key),
            distinct=True,
        ),
    )
    _clear_state(con)
    old_customers = keep("changed_customers_before", kept.semi_join(touched, order_key).select("customer_id"))
    portable.delete_matching(con, MODEL_ITEMS.name, touched, order_key)
    portable.delete_matching(con, MODEL_ORDERS.name, touched, order_key)
    fresh = inputs.normalised_orders(raw_orders.semi_join(touched, order_key), identity_map)
    con.insert(MODEL_ORDERS.name, conform(fresh, MODEL_ORDERS))
    paid = inputs.paid_orders(orders(con).semi_join(touched, order_key))
    con.insert(
        MODEL_ITEMS.name,
        conform(inputs.keyed_items(raw_items.semi_join(touched, order_key), paid), MODEL_ITEMS),
    )
    after = orders(con).semi_join(touched, order_key).select("customer_id")
    customers = keep("changed_customers", ibis.union(old_customers, after, distinct=True))
    count = customers.count().execute()
    records = changed_t.count().execute()
    return Refresh(False, int(records), int(count), "changed records only", marks, touched, customers)


def _newer(stamp: ir.TimestampColumn, mark: datetime) -> ir.BooleanColumn:
    """Rows stamped after ``mark``; rows without a stamp (loaded around the importer) always count."""
    return stamp.isnull() | (stamp > mark)


def _current_marks(con: BaseBackend, config_key: str) -> _Marks:
    raw_orders = inputs.table(con, "raw_orders")
    raw_items = inputs.table(con, "raw_order_items")
    identity_map = inputs.table(con, "identity_map")

    def mark(column: ir.TimestampColumn) -> datetime:
        value = column.max().to_pyarrow().as_py()
        return value if isinstance(value, datetime) else _NEVER

    return _Marks(
        mark(raw_orders.ingested_at), mark(raw_items.ingested_at), mark(identity_map.resolved_at), config_key
    )


def _read_state(con: BaseBackend) -> _Marks | None:
    if MODEL_STATE.name not in con.list_tables():
        return None
    if MODEL_ORDERS.name not in con.list_tables() or MODEL_ITEMS.name not in con.list_tables():
        return None
    state = con.table(MODEL_STATE.name)
    rows = state.filter(state.name == _STATE_NAME).to_pyarrow().to_pylist()
    if len(rows) != 1:
        return None
    row = rows[0]
    return _Marks(row["orders_ingested"], row["items_ingested"], row["identity_resolved"], row["config_key"])


def _clear_state(con: BaseBackend) -> None:
    """Forget the state (the table holds this one row only, so it is recreated empty)."""
    con.create_table(MODEL_STATE.name, schema=MODEL_STATE.schema, overwrite=True)


def _write_state(con: BaseBackend, marks: _Marks) -> None:
    row = ibis.memtable(
        {
            "name": [_STATE_NAME],
            "orders_ingested": [marks.orders_ingested],
            "items_ingested": [marks.items_ingested],
            "identity_resolved": [marks.identity_resolved],
            "config_key": [marks.config_key],
        },
        schema=MODEL_STATE.schema,
    )
    con.insert(MODEL_STATE.name, row)
