"""The warehouse tables the built-in triggers read, and the empty answer when nothing wrote them yet.

A table that does not exist (nothing imported, models never run) gives no
entries rather than an error: each function returns None for it, and the
trigger answers :func:`no_entries`. Orders and events reach their customer
through ``identity_map`` (:func:`guanxi.models.inputs.attach_customer`, an
inner join on the record), so rows of unresolved records enter no journey.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend

from guanxi.marketing.triggers import OUTPUT_COLUMNS
from guanxi.models.inputs import attach_customer
from guanxi.tables import IDENTITY_MAP

ENTRY_SCHEMA = ibis.schema(dict(zip(OUTPUT_COLUMNS, ("string", "string", "timestamp"), strict=True)))
"""The schema of :meth:`~guanxi.marketing.triggers.TriggerKind.entries`."""


def rows_table(columns: dict[str, list[Any]], schema: dict[str, str]) -> ir.Table:
    """A small in-memory table of ``columns`` typed by ``schema`` (through Arrow, so NULLs stay NULL)."""
    typed = ibis.schema(schema)
    return ibis.memtable(pa.Table.from_pydict(columns, schema=typed.to_pyarrow()))


def no_entries() -> ir.Table:
    """An empty entries table (``customer_id``, ``occurrence_key``, ``entered_at``)."""
    return rows_table({name: [] for name in ENTRY_SCHEMA.names}, dict(ENTRY_SCHEMA.items()))


def existing(con: BaseBackend, *names: str) -> list[ir.Table] | None:
    """The tables ``names`` of ``con``, or None when any of them does not exist yet."""
    present = set(con.list_tables())
    if not set(names) <= present:
        return None
    return [con.table(name) for name in names]


def with_customer(con: BaseBackend, rows: ir.Table) -> ir.Table:
    """``rows`` (with ``source``, ``source_customer_id``) joined to their ``customer_id``."""
    return attach_customer(rows, con.table(IDENTITY_MAP.name))


def record_key(rows: ir.Table, id_column: str) -> ir.StringValue:
    """``<source>:<id>``: the occurrence key of an order (``order_id``) or an event (``event_id``)."""
    return rows.source.cast("string") + ":" + rows[id_column].cast("string")


def shifted(moment: ir.TimestampValue, delay: timedelta) -> ir.TimestampValue:
    """``moment + delay`` (whole seconds), the column unchanged for no delay."""
    seconds = int(delay.total_seconds())
    return moment if seconds == 0 else moment + ibis.interval(seconds=seconds)
