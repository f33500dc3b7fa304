"""The canonical warehouse tables: names, columns, natural keys.

This module says *what* the warehouse holds; :mod:`guanxi.warehouse` creates the
tables on whichever backend is configured. Conventions every module relies on:

* timestamps are wall-clock times in ``Settings.timezone`` (naive ``timestamp``),
  so they compare the same on DuckDB, PostgreSQL and Spark;
* money is ``decimal(18, 2)`` in ``Settings.currency``;
* phones are E.164 (``+8613812345678``); a masked phone (``138****1234``) is kept
  in ``phone_partial`` and is never used as a phone;
* ``source`` names the system a row came from (``taobao``, ``jd``, ``youzan``,
  ``shopify``, ``wechat``, ``crm`` …); a *record* is the pair
  ``(source, source_customer_id)``, the unit identity resolution links;
* ``extra`` is a JSON object (stored as a string) with every input column the
  mapping did not place, so nothing read is lost;
* ``row_hash`` is a digest of the business columns, so an unchanged re-import is
  recognised as unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir


@dataclass(frozen=True)
class TableSpec:
    """A warehouse table: its columns (Ibis types) and its natural key."""

    name: str
    columns: dict[str, str]
    key: tuple[str, ...]

    @property
    def schema(self) -> ibis.Schema:
        return ibis.schema({name: dt.dtype(kind) for name, kind in self.columns.items()})


def conform(expr: ir.Table, spec: TableSpec) -> ir.Table:
    """``expr`` with exactly ``spec``'s columns, in order and cast; missing ones null, extra ones dropped."""
    present = set(expr.columns)
    columns = {
        name: (expr[name] if name in present else ibis.null()).cast(kind)
        for name, kind in spec.columns.items()
    }
    return expr.select(**columns)


_LOAD = {"batch_id": "string", "ingested_at": "timestamp", "row_hash": "string"}
_CONTACT = {
    "phone": "string",
    "phone_partial": "string",
    "email": "string",
}
_PLACE = {"province": "string", "city": "string", "district": "string", "address": "string"}

RAW_CUSTOMERS = TableSpec(
    "raw_customers",
    {
        "source": "string",
        "source_customer_id": "string",
        "name": "string",
        "gender": "string",
        "birthday": "date",
        **_CONTACT,
        "wechat_appid": "string",
        "wechat_openid": "string",
        "wechat_unionid": "string",
        "qq": "string",
        "taobao_id": "string",
        "jd_id": "string",
        "member_no": "string",
        "company": "string",
        "title": "string",
        **_PLACE,
        "registered_at": "timestamp",
        "updated_at": "timestamp",
        "extra": "string",
        **_LOAD,
    },
    ("source", "source_customer_id"),
)

RAW_ORDERS = TableSpec(
    "raw_orders",
    {
        "source": "string",
        "order_id": "string",
        "source_customer_id": "string",
        "buyer_name": "string",
        **_CONTACT,
        "status": "string",
        "created_at": "timestamp",
        "paid_at": "timestamp",
        "shipped_at": "timestamp",
        "delivered_at": "timestamp",
        "total_amount": "decimal(18, 2)",
        "paid_amount": "decimal(18, 2)",
        "discount_amount": "decimal(18, 2)",
        "refund_amount": "decimal(18, 2)",
        "shipping_fee": "decimal(18, 2)",
        "currency": "string",
        "channel": "string",
        "store": "string",
        **_PLACE,
        "product_title": "string",
        "item_count": "int64",
        "extra": "string",
        **_LOAD,
    },
    ("source", "order_id"),
)

RAW_ORDER_ITEMS = TableSpec(
    "raw_order_items",
    {
        "source": "string",
        "order_id": "string",
        "item_key": "string",
        "sku": "string",
        "product": "string",
        "category": "string",
        "brand": "string",
        "quantity": "int64",
        "price": "decimal(18, 2)",
        "amount": "decimal(18, 2)",
        "status": "string",
        "extra": "string",
        **_LOAD,
    },
    ("source", "order_id", "item_key"),
)

RAW_EVENTS = TableSpec(
    "raw_events",
    {
        "source": "string",
        "event_id": "string",
        "source_customer_id": "string",
        "anonymous_id": "string",
        "type": "string",
        "event": "string",
        "occurred_at": "timestamp",
        "channel": "string",
        **_CONTACT,
        "wechat_openid": "string",
        "wechat_unionid": "string",
        "properties": "string",
        "extra": "string",
        **_LOAD,
    },
    ("source", "event_id"),
)

RAW_TICKETS = TableSpec(
    "raw_tickets",
    {
        "source": "string",
        "ticket_id": "string",
        "source_customer_id": "string",
        **_CONTACT,
        "order_id": "string",
        "kind": "string",
        "channel": "string",
        "status": "string",
        "satisfaction": "int64",
        "subject": "string",
        "created_at": "timestamp",
        "resolved_at": "timestamp",
        "extra": "string",
        **_LOAD,
    },
    ("source", "ticket_id"),
)

IMPORT_BATCHES = TableSpec(
    "import_batches",
    {
        "batch_id": "string",
        "kind": "string",
        "source": "string",
        "preset": "string",
        "file_name": "string",
        "file_sha256": "string",
        "file_format": "string",
        "encoding": "string",
        "started_at": "timestamp",
        "finished_at": "timestamp",
        "rows_read": "int64",
        "rows_loaded": "int64",
        "rows_inserted": "int64",
        "rows_updated": "int64",
        "rows_unchanged": "int64",
        "rows_quarantined": "int64",
        "warnings": "int64",
        "status": "string",
    },
    ("batch_id",),
)

IMPORT_QUARANTINE = TableSpec(
    "import_quarantine",
    {
        "batch_id": "string",
        "kind": "string",
        "file_name": "string",
        "file_sha256": "string",
        "row_number": "int64",
        "column_name": "string",
        "value": "string",
        "reason": "string",
        "severity": "string",
        "raw_row": "string",
        "quarantined_at": "timestamp",
    },
    ("file_sha256", "row_number", "column_name", "reason"),
)

IDENTITY_MAP = TableSpec(
    "identity_map",
    {
        "source": "string",
        "source_customer_id": "string",
        "customer_id": "int64",
        "resolved_at": "timestamp",
    },
    ("source", "source_customer_id"),
)
"""Each record ``(source, source_customer_id)`` → its resolved ``customer_id``.

Written by :mod:`guanxi.identity`; every downstream model joins raw tables to
this map on ``(source, source_customer_id)``. Customer ids are positive int64,
stable across runs (a merged customer keeps the id of its oldest member).
"""

CUSTOMERS = TableSpec(
    "customers",
    {
        "customer_id": "int64",
        "name": "string",
        "gender": "string",
        "birthday": "date",
        "phone": "string",
        "email": "string",
        "wechat_unionid": "string",
        "company": "string",
        "title": "string",
        "province": "string",
        "city": "string",
        "district": "string",
        "address": "string",
        "sources": "string",
        "record_count": "int64",
        "first_seen_at": "timestamp",
        "last_seen_at": "timestamp",
        "updated_at": "timestamp",
    },
    ("customer_id",),
)
"""The golden record: one row per resolved customer (see :mod:`guanxi.identity`)."""

RAW_TABLES: dict[str, TableSpec] = {
    "customers": RAW_CUSTOMERS,
    "orders": RAW_ORDERS,
    "order-items": RAW_ORDER_ITEMS,
    "events": RAW_EVENTS,
    "tickets": RAW_TICKETS,
}
"""Import KIND → the raw table it loads."""

ALL_TABLES: tuple[TableSpec, ...] = (*RAW_TABLES.values(), IMPORT_BATCHES, IMPORT_QUARANTINE)

ORDER_STATUSES = ("created", "unpaid", "paid", "shipped", "delivered", "refunded", "cancelled")
"""The canonical order statuses; every preset maps its own words onto these."""

TICKET_KINDS = ("inquiry", "complaint", "return", "praise")
