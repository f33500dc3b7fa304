"""Factories that put tiny named data sets into the test warehouse.

Every customer ``n`` is the record ``("shop", "c{n}")`` resolved to
``customer_id = n``; rows only name the columns a scenario cares about and the
rest are null.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from guanxi.tables import (
    CUSTOMERS,
    IDENTITY_MAP,
    RAW_EVENTS,
    RAW_ORDER_ITEMS,
    RAW_ORDERS,
    RAW_TICKETS,
    TableSpec,
)

SOURCE = "shop"
AS_OF = date(2024, 12, 31)
"""The as-of date of most scenarios."""


def record(customer_id: int) -> str:
    return f"c{customer_id}"


def _rows(spec: TableSpec, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    full = []
    for row in rows:
        unknown = set(row) - set(spec.columns)
        assert not unknown, f"{spec.name} has no columns {unknown}"
        full.append({name: row.get(name) for name in spec.columns})
    return full


def insert(con: BaseBackend, spec: TableSpec, rows: Iterable[Mapping[str, Any]]) -> None:
    data = _rows(spec, rows)
    if spec.name not in con.list_tables():
        con.create_table(spec.name, schema=spec.schema)
    if data:
        con.insert(spec.name, ibis.memtable(pa.Table.from_pylist(data, schema=spec.schema.to_pyarrow())))


def customers(con: BaseBackend, ids: Iterable[int], **columns: Mapping[int, Any]) -> None:
    """Golden records and identity map rows for ``ids`` (extra columns per id, e.g. province={1: "广东"})."""
    ids = list(ids)
    insert(
        con,
        CUSTOMERS,
        [{"customer_id": i, **{name: values.get(i) for name, values in columns.items()}} for i in ids],
    )
    insert(
        con,
        IDENTITY_MAP,
        [{"source": SOURCE, "source_customer_id": record(i), "customer_id": i} for i in ids],
    )


def money(value: float | str | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def order(
    order_id: str,
    customer_id: int,
    paid_at: datetime | date | None,
    amount: float,
    *,
    status: str = "paid",
    refund: float | None = None,
    discount: float | None = None,
    channel: str | None = None,
    created_at: datetime | None = None,
    delivered_at: datetime | None = None,
) -> dict[str, Any]:
    """One raw order; a date for ``paid_at`` means noon that day."""
    if isinstance(paid_at, date) and not isinstance(paid_at, datetime):
        paid_at = datetime(paid_at.year, paid_at.month, paid_at.day, 12)
    return {
        "source": SOURCE,
        "order_id": order_id,
        "source_customer_id": record(customer_id),
        "status": status,
        "created_at": created_at or paid_at,
        "paid_at": paid_at,
        "delivered_at": delivered_at,
        "total_amount": money(amount),
        "paid_amount": money(amount) if paid_at is not None else None,
        "discount_amount": money(discount),
        "refund_amount": money(refund),
        "channel": channel,
    }


def item(
    order_id: str, key: str, *, category: str, brand: str, quantity: int, price: float
) -> dict[str, Any]:
    return {
        "source": SOURCE,
        "order_id": order_id,
        "item_key": key,
        "category": category,
        "brand": brand,
        "quantity": quantity,
        "price": money(price),
        "amount": money(price * quantity),
    }


def event(event_id: str, customer_id: int, occurred_at: datetime, name: str = "view") -> dict[str, Any]:
    return {
        "source": SOURCE,
        "event_id": event_id,
        "source_customer_id": record(customer_id),
        "type": "track",
        "event": name,
        "occurred_at": occurred_at,
    }


def ticket(
    ticket_id: str, customer_id: int, kind: str, created_at: datetime, order_id: str | None = None
) -> dict[str, Any]:
    return {
        "source": SOURCE,
        "ticket_id": ticket_id,
        "source_customer_id": record(customer_id),
        "order_id": order_id,
        "kind": kind,
        "created_at": created_at,
    }


def orders(con: BaseBackend, rows: Iterable[Mapping[str, Any]]) -> None:
    insert(con, RAW_ORDERS, rows)


def items(con: BaseBackend, rows: Iterable[Mapping[str, Any]]) -> None:
    insert(con, RAW_ORDER_ITEMS, rows)


def events(con: BaseBackend, rows: Iterable[Mapping[str, Any]]) -> None:
    insert(con, RAW_EVENTS, rows)


def tickets(con: BaseBackend, rows: Iterable[Mapping[str, Any]]) -> None:
    insert(con, RAW_TICKETS, rows)
