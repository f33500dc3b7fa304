"""The data-quality report (``guanxi quality``), computed in the warehouse with Ibis.

Sections, each a list of plain rows so the CLI, the web page and JSON export
render them the same way:

* ``completeness`` — share of non-empty values per field of every raw table;
* ``invalid_contacts`` — phones and e-mails dropped as invalid, masked phones kept
  only as partial identifiers, per source;
* ``duplicate_contacts`` — phones and e-mails carried by more than one customer
  record, with how many records share them;
* ``shared_identifiers`` — identifiers carried by implausibly many records
  (more than ``Settings.shared_identifier_limit``): a shop's own phone, a courier's
  number, ``test@test.com``; identity resolution never links on them;
* ``stale_records`` — customer records (from customer lists and order buyers)
  with no order, event, ticket or update in ``Settings.stale_months`` months;
* ``orphans`` — orders whose buyer has no customer record, orders with no buyer
  identifier at all, order lines and tickets pointing at unknown orders;
* ``quarantine`` — quarantined rows by table and reason across all imports.

Every figure is a whole-table aggregate; nothing is pulled row by row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.identity import shared_identifiers as identity_shared_identifiers
from guanxi.tables import (
    IMPORT_QUARANTINE,
    RAW_CUSTOMERS,
    RAW_EVENTS,
    RAW_ORDER_ITEMS,
    RAW_ORDERS,
    RAW_TABLES,
    RAW_TICKETS,
)

CONTACT_KINDS = ("phone", "email")
_SKIP = {"batch_id", "ingested_at", "row_hash", "extra"}


@dataclass
class Section:
    """One part of the report: a key, a title and rows of plain values."""

    key: str
    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class QualityReport:
    """The whole report; ``to_dict()`` is JSON-serialisable."""

    generated_at: datetime
    sections: list[Section]

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat(sep=" "),
            "sections": {
                s.key: {"title": s.title, "rows": [{k: _plain(v) for k, v in r.items()} for r in s.rows]}
                for s in self.sections
            },
        }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if hasattr(value, "item"):
        return value.item()
    return value


def _records(con: BaseBackend, expr: ir.Table) -> list[dict[str, Any]]:
    frame = con.execute(expr)
    return [
        {k: (None if _is_missing(v) else _plain(v)) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def _is_missing(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN / NaT
    except (TypeError, ValueError):
        return False


def completeness(con: BaseBackend) -> list[dict[str, Any]]:
    """Per table and field: rows, filled values and the filled share (0–1, 4 decimals)."""
    rows: list[dict[str, Any]] = []
    for spec in RAW_TABLES.values():
        table = con.table(spec.name)
        fields = [c for c in spec.columns if c not in _SKIP]
        counts = table.aggregate(_rows=table.count(), **{f: table[f].count() for f in fields})
        result = con.execute(counts).iloc[0]
        total = int(result["_rows"])
        for f in fields:
            filled = int(result[f])
            rows.append(
                {
                    "table": spec.name,
                    "field": f,
                    "rows": total,
                    "filled": filled,
                    "share": round(filled / total, 4) if total else None,
                }
            )
    return rows


def invalid_contacts(con: BaseBackend) -> list[dict[str, Any]]:
    """Invalid phones/e-mails from the quarantine and masked phones kept as partial ids, by table."""
    q = con.table(IMPORT_QUARANTINE.name)
    bad = q.filter(q.reason.isin(["invalid_phone", "invalid_email"]))
    invalid = bad.group_by(table=bad.kind, problem=bad.reason).aggregate(values=bad.count())
    rows = _records(con, invalid.order_by("table", "problem"))
    for spec in (RAW_CUSTOMERS, RAW_ORDERS, RAW_TICKETS, RAW_EVENTS):
        t = con.table(spec.name)
        masked = con.execute(t.filter(t.phone_partial.notnull() & t.phone.isnull()).count())
        if masked:
            rows.append({"table": spec.name, "problem": "masked_phone_only", "values": int(masked)})
    return rows


def _identifier_records(con: BaseBackend, kind: str) -> ir.Table:
    """Distinct ``(source, source_customer_id, value)`` carrying identifier ``kind`` in any raw table."""
    parts: list[ir.Table] = []
    for spec in (RAW_CUSTOMERS, RAW_ORDERS, RAW_EVENTS, RAW_TICKETS):
        if kind not in spec.columns:
            continue
        t = con.table(spec.name)
        parts.append(
            t.filter(t[kind].notnull() & t.source_customer_id.notnull()).select(
                source=t.source, source_customer_id=t.source_customer_id, value=t[kind].cast("string")
            )
        )
    union = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=True)
    return union.distinct()


def duplicate_contacts(con: BaseBackend, *, limit: int = 20) -> list[dict[str, Any]]:
    """Phones and e-mails carried by 2+ customer records: totals per kind and the most shared values."""
    rows: list[dict[str, Any]] = []
    for kind in CONTACT_KINDS:
        records = _identifier_records(con, kind)
        shared = records.group_by("value").aggregate(records=records.count()).filter(lambda t: t.records > 1)
        summary = con.execute(shared.aggregate(values=shared.count(), records=shared.records.sum()))
        rows.append(
            {
                "identifier": kind,
                "value": "(all)",
                "values": int(summary["values"].iloc[0] or 0),
                "records": int(summary["records"].iloc[0] or 0),
            }
        )
        top = shared.order_by([ibis.desc("records"), "value"]).limit(limit)
        rows += [
            {"identifier": kind, "value": r["value"], "values": 1, "records": r["records"]}
            for r in _records(con, top)
        ]
    return rows


def shared_identifiers(con: BaseBackend, settings: Settings, *, limit: int = 200) -> list[dict[str, Any]]:
    """Identifier values on more than ``settings.shared_identifier_limit`` records.

    Exactly the values identity resolution refuses to link on (same rules, same
    threshold), so the report and the identity graph never disagree.
    """
    shared = identity_shared_identifiers(con, settings).limit(limit)
    renamed = shared.select(identifier=shared.kind, value=shared.value, records=shared.record_count)
    return _records(con, renamed)


def stale_records(con: BaseBackend, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Customer records whose last activity is older than ``settings.stale_months`` (30-day months)."""
    cutoff = now - timedelta(days=30 * settings.stale_months)
    activity: list[ir.Table] = []
    for spec, column in (
        (RAW_CUSTOMERS, "updated_at"),
        (RAW_CUSTOMERS, "registered_at"),
        (RAW_ORDERS, "created_at"),
        (RAW_EVENTS, "occurred_at"),
        (RAW_TICKETS, "created_at"),
    ):
        t = con.table(spec.name)
        activity.append(
            t.filter(t.source_customer_id.notnull()).select(
                source=t.source, source_customer_id=t.source_customer_id, at=t[column]
            )
        )
    union = ibis.union(*activity)
    last = union.group_by(["source", "source_customer_id"]).aggregate(last_at=union.at.max())
    records = ibis.union(
        con.table(RAW_CUSTOMERS.name).select("source", "source_customer_id"),
        con.table(RAW_ORDERS.name).select("source", "source_customer_id"),
        distinct=True,
    )
    customers = records.filter(records.source_customer_id.notnull())
    joined = customers.left_join(last, ["source", "source_customer_id"]).select(
        customers.source, last.last_at
    )
    stale = joined.last_at.isnull() | (joined.last_at < ibis.literal(cutoff))
    per_source = joined.group_by("source").aggregate(
        records=joined.count(), stale=stale.sum(), no_activity=joined.last_at.isnull().sum()
    )
    rows = _records(con, per_source.order_by("source"))
    for row in rows:
        row["stale_months"] = settings.stale_months
        row["share"] = round(row["stale"] / row["records"], 4) if row["records"] else None
    return rows


def orphans(con: BaseBackend) -> list[dict[str, Any]]:
    """References that point nowhere (see the module docstring)."""
    orders = con.table(RAW_ORDERS.name)
    customers = con.table(RAW_CUSTOMERS.name).select("source", "source_customer_id").distinct()
    items = con.table(RAW_ORDER_ITEMS.name)
    tickets = con.table(RAW_TICKETS.name)
    order_keys = orders.select("source", "order_id")
    checks = {
        "orders_without_customer_record": orders.anti_join(
            customers, ["source", "source_customer_id"]
        ).count(),
        "orders_without_buyer_identifier": orders.filter(
            orders.source_customer_id.startswith("order:")
        ).count(),
        "order_items_without_order": items.anti_join(order_keys, ["source", "order_id"]).count(),
        "tickets_with_unknown_order": tickets.filter(tickets.order_id.notnull())
        .anti_join(order_keys.select(order_id="order_id"), "order_id")
        .count(),
    }
    return [{"check": name, "rows": int(con.execute(expr))} for name, expr in checks.items()]


def quarantine_summary(con: BaseBackend) -> list[dict[str, Any]]:
    """Quarantine entries by table, reason and severity, across all imports."""
    q = con.table(IMPORT_QUARANTINE.name)
    summary = q.group_by(table=q.kind, reason=q.reason, severity=q.severity).aggregate(
        entries=q.count(), rows=q.row_number.nunique(), files=q.file_sha256.nunique()
    )
    return _records(con, summary.order_by([ibis.desc("entries"), "table", "reason"]))


def quality_report(con: BaseBackend, settings: Settings, *, now: datetime | None = None) -> QualityReport:
    """The whole report; ``now`` (wall-clock in settings.timezone) defaults to the current time."""
    stamp = now or datetime.now(settings.zone).replace(tzinfo=None)
    return QualityReport(
        generated_at=stamp,
        sections=[
            Section("completeness", "字段完整度 Completeness", completeness(con)),
            Section("invalid_contacts", "无效联系方式 Invalid contacts", invalid_contacts(con)),
            Section("duplicate_contacts", "重复联系方式 Duplicate contacts", duplicate_contacts(con)),
            Section(
                "shared_identifiers",
                "异常共享标识 Implausibly shared identifiers",
                shared_identifiers(con, settings),
            ),
            Section("stale_records", "沉睡记录 Stale records", stale_records(con, settings, stamp)),
            Section("orphans", "孤立记录 Orphans", orphans(con)),
            Section("quarantine", "隔离行 Quarantined rows", quarantine_summary(con)),
        ],
    )
