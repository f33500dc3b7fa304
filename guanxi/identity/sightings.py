"""Sightings: every raw row that names a record, in one shape.

A *sighting* is what one row of ``raw_customers``, ``raw_orders``, ``raw_events``
or ``raw_tickets`` says about the record ``(source, source_customer_id)`` it
carries: when (``observed_at``; ``first_at``/``last_at`` for activity), its
contact identifiers and the golden-record fields it knows (an order's buyer
name and shipping address, a profile's everything). Identifiers
(:mod:`~guanxi.identity.identifiers`), activity (:mod:`~guanxi.identity.records`)
and observations (:mod:`~guanxi.identity.golden`) are all read from this one
table, so the four raw tables are scanned once per run.

Rows without a source or a source_customer_id are not records and are left out.
Text is trimmed and empty text is NULL; e-mails are lower-cased.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.identity.rules import IdentityRules
from guanxi.tables import RAW_CUSTOMERS, RAW_EVENTS, RAW_ORDERS, RAW_TICKETS

RAW_BY_KIND = {
    "customers": RAW_CUSTOMERS.name,
    "orders": RAW_ORDERS.name,
    "events": RAW_EVENTS.name,
    "tickets": RAW_TICKETS.name,
}

TEXT_FIELDS: tuple[str, ...] = (
    "name",
    "gender",
    "phone",
    "phone_partial",
    "email",
    "wechat_appid",
    "wechat_openid",
    "wechat_unionid",
    "qq",
    "taobao_id",
    "jd_id",
    "member_no",
    "company",
    "title",
    "province",
    "city",
    "district",
    "address",
)
"""Every text column a sighting may carry (``birthday`` is a date)."""

_RENAMED: dict[str, dict[str, str]] = {"orders": {"name": "buyer_name"}}

_OBSERVED: dict[str, tuple[str, ...]] = {
    "customers": ("updated_at", "registered_at", "ingested_at"),
    "orders": ("created_at", "paid_at", "ingested_at"),
    "events": ("occurred_at", "ingested_at"),
    "tickets": ("created_at", "ingested_at"),
}
_FIRST: dict[str, tuple[str, ...]] = {"customers": ("registered_at", "updated_at", "ingested_at")}


def clean(value: ir.Value) -> ir.StringValue:
    """Trimmed text, empty → NULL."""
    text: ir.StringValue = value.cast("string").strip()
    return text.nullif("")


def custom_columns(rules: IdentityRules) -> list[str]:
    """The sighting column of each custom identifier, in rule order."""
    return [f"custom_{i}" for i in range(len(rules.custom_identifiers))]


def _custom_value(table: ir.Table, origin: str, index: int, rules: IdentityRules) -> ir.Value:
    custom = rules.custom_identifiers[index]
    if custom.table != origin:
        return ibis.null("string")
    if custom.column is not None:
        value = clean(table[custom.column])
    else:
        assert custom.json_key is not None
        node = table[custom.json_column].cast("json")[custom.json_key]
        value = clean(ibis.coalesce(node.str, node.unwrap_as("int64").cast("string")))
    return value.lower() if custom.lower else value


def _part(table: ir.Table, origin: str, rules: IdentityRules) -> ir.Table:
    source = clean(table.source)
    record = clean(table.source_customer_id)
    rows = table.filter(source.notnull(), record.notnull())
    renamed = _RENAMED.get(origin, {})
    fields: dict[str, ir.Value] = {}
    for field in TEXT_FIELDS:
        column = renamed.get(field, field)
        value = clean(rows[column]) if column in rows.columns else ibis.null("string")
        fields[field] = value.lower() if field == "email" else value
    fields["birthday"] = rows.birthday.cast("date") if "birthday" in rows.columns else ibis.null("date")
    observed = ibis.coalesce(*[rows[c] for c in _OBSERVED[origin]]).cast("timestamp")
    first = ibis.coalesce(*[rows[c] for c in _FIRST.get(origin, _OBSERVED[origin])]).cast("timestamp")
    customs = {name: _custom_value(rows, origin, i, rules) for i, name in enumerate(custom_columns(rules))}
    return rows.select(
        source=clean(rows.source),
        source_customer_id=clean(rows.source_customer_id),
        origin=ibis.literal(origin),
        observed_at=observed,
        first_at=first,
        **fields,
        **customs,
    )


def sightings(con: BaseBackend, rules: IdentityRules) -> ir.Table:
    """The union of every raw table's rows in sighting shape (an expression; nothing runs)."""
    return ibis.union(*[_part(con.table(name), origin, rules) for origin, name in RAW_BY_KIND.items()])
