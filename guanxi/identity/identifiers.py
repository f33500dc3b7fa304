"""Every identifier of every record, as one long table built from the sightings.

A record's identifiers come from its own profile row and from every order,
event and ticket carrying its id. The ingestion layer has already normalised
the values (E.164 phones, lower-cased e-mails); here values are only scoped
where they need it:

* ``wechat_openid`` → ``appid/openid`` (openids are unique only within one app);
* ``phone_partial_name`` → ``138****1234|name`` (masked phone plus name);
* ``source_id_kinds`` (e.g. ``taobao``) → a record's own id is its Taobao id.

Everything here builds Ibis expressions; nothing is executed.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.identity.rules import BUILTIN_IDENTIFIERS, COMPOSITE_KIND, IdentityRules
from guanxi.identity.sightings import custom_columns, sightings
from guanxi.portable import unpivot

_COLUMNS = ["source", "source_customer_id", "kind", "value", "origin"]


def name_key(name: ir.StringValue) -> ir.StringValue:
    """A name as compared for the masked-phone rule: lower-cased, without white space."""
    key: ir.StringValue = name.lower().re_replace(r"\s+", "")
    return key.nullif("")


def _openid_scope(rows: ir.Table, rules: IdentityRules) -> ir.StringValue:
    configured: ir.StringValue = ibis.null("string")
    if rules.wechat_appids:
        configured = ibis.cases(
            *[(rows.source == src, app) for src, app in sorted(rules.wechat_appids.items())]
        )
    return ibis.coalesce(rows.wechat_appid, configured, "source:" + rows.source)


def _values(rows: ir.Table, rules: IdentityRules) -> dict[str, ir.Value]:
    """Slot name → value; a slot is named ``s<i>__<kind>`` so one kind may fill several slots."""
    values: list[tuple[str, ir.Value]] = []
    for kind in BUILTIN_IDENTIFIERS:
        value: ir.Value = rows[kind]
        if kind == "wechat_openid":
            value = _openid_scope(rows, rules) + "/" + rows.wechat_openid
        values.append((kind, value))
    values.append((COMPOSITE_KIND, rows.phone_partial + "|" + name_key(rows.name)))
    for custom, column in zip(rules.custom_identifiers, custom_columns(rules), strict=True):
        values.append((custom.kind, rows[column]))
    return {f"s{i}__{kind}": value.cast("string") for i, (kind, value) in enumerate(values)}


def identifiers_from(rows: ir.Table, rules: IdentityRules) -> ir.Table:
    """One row per identifier occurrence (source, source_customer_id, kind, value, origin)
    from sightings. The records' own platform ids have origin ``record``."""
    values = _values(rows, rules)
    wide = rows.select("source", "source_customer_id", "origin", **values)
    long = unpivot(
        wide, ["source", "source_customer_id", "origin"], list(values), names_to="slot", values_to="value"
    )
    occurrences = long.select(
        "source",
        "source_customer_id",
        kind=long.slot.re_replace(r"^s[0-9]+__", ""),
        value="value",
        origin="origin",
    )
    parts = [occurrences]
    if rules.source_id_kinds:
        keys = rows.select("source", "source_customer_id").distinct()
        kind = ibis.cases(*[(keys.source == src, k) for src, k in sorted(rules.source_id_kinds.items())])
        own = keys.select(
            "source",
            "source_customer_id",
            kind=kind,
            value=keys.source_customer_id,
            origin=ibis.literal("record"),
        )
        parts.append(own.filter(own.kind.notnull()))
    union = ibis.union(*[part.select(*_COLUMNS) for part in parts])
    return union.filter(union.value.notnull())


def distinct_identifiers(occurrences: ir.Table) -> ir.Table:
    """Each record's distinct identifiers: source, source_customer_id, kind, value,
    origins (comma-separated, sorted), occurrences (rows that carried it)."""
    return occurrences.group_by(["source", "source_customer_id", "kind", "value"]).agg(
        origins=occurrences.origin.collect(distinct=True).sort().join(","),
        occurrences=occurrences.count().cast("int64"),
    )


def record_identifiers(con: BaseBackend, rules: IdentityRules) -> ir.Table:
    """:func:`distinct_identifiers` straight from the raw tables (an expression)."""
    return distinct_identifiers(identifiers_from(sightings(con, rules), rules))
