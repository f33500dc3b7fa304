"""Customer 360: everything known about one customer, in one call.

The golden record, every source record and identifier (with the ones that do
not link and why), every value each source gave, the timeline of orders,
tickets, events and messages, the company and role for B2B contacts, the
merge/split history, and whatever later stages wrote per customer (metrics,
scores, segments, tags) when those tables exist. Each part is one filtered Ibis
query; only this customer's rows come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.errors import NotFoundError
from guanxi.identity.errors import AmbiguousKeyError, CustomerRetiredError
from guanxi.identity.keys import CustomerKey, KeyKind, parse_customer_key
from guanxi.identity.schema import (
    COMPANIES,
    CONTACTS,
    HISTORY,
    IDENTIFIER_FLAGS,
    IDENTITY_IDENTIFIERS,
    IDENTITY_RECORDS,
    SOURCE_VALUES,
    ensure_identity_tables,
)
from guanxi.measures import order_amount
from guanxi.portable import within
from guanxi.tables import CUSTOMERS, IDENTITY_MAP, RAW_EVENTS, RAW_ORDERS, RAW_TICKETS

TimelineKind = Literal["order", "ticket", "event", "message"]

MESSAGE_TYPES = ("message", "reply", "chat", "sms", "email", "wechat_message", "im")
"""Event types shown as messages (conversations) rather than behaviour."""

PROFILE_TABLES = (
    "customer_metrics",
    "customer_scores",
    "customer_tags",
    "customer_segments",
    "segment_memberships",
    "lifecycle_transitions",
    "tier_changes",
    "points_ledger",
    "score_snapshots",
)
"""Per-customer tables of later stages (models, segments), included when they exist and have a
``customer_id`` column; newest rows first, at most 100 per table."""

_TIME_COLUMNS = (
    "as_of",
    "computed_at",
    "scored_at",
    "run_at",
    "entered_at",
    "occurred_at",
    "recorded_at",
    "updated_at",
    "created_at",
)
_MAX_MERGE_HOPS = 50


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened, newest first in :attr:`Customer360.timeline`."""

    at: datetime | None
    kind: TimelineKind
    source: str
    reference: str
    summary: str | None
    status: str | None
    channel: str | None
    amount: Decimal | None
    """An order's amount as :func:`guanxi.measures.order_amount` defines it (before refunds); None otherwise."""


@dataclass(frozen=True)
class Customer360:
    """The whole customer. ``redirected_from`` is the id asked for when it had been merged into this one."""

    customer_id: int
    golden: dict[str, Any]
    records: list[dict[str, Any]]
    identifiers: list[dict[str, Any]]
    source_values: list[dict[str, Any]]
    timeline: list[TimelineEntry]
    companies: list[dict[str, Any]]
    history: list[dict[str, Any]]
    profile: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    redirected_from: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes and dates as ISO 8601 text, money as decimal text."""
        return {
            "customer_id": self.customer_id,
            "redirected_from": self.redirected_from,
            "golden": _plain(self.golden),
            "records": _plain(self.records),
            "identifiers": _plain(self.identifiers),
            "source_values": _plain(self.source_values),
            "timeline": [_plain(entry.__dict__) for entry in self.timeline],
            "companies": _plain(self.companies),
            "history": _plain(self.history),
            "profile": _plain(self.profile),
        }


def _rows(table: ir.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pyarrow().to_pylist()
    return rows


def _customers_for(con: BaseBackend, kind: KeyKind, value: str) -> list[int]:
    if kind == "customer_id":
        customers = con.table(CUSTOMERS.name)
        found = customers.filter(customers.customer_id == int(value)).select("customer_id")
        return [int(r["customer_id"]) for r in _rows(found)]
    identifiers = con.table(IDENTITY_IDENTIFIERS.name)
    mapping = con.table(IDENTITY_MAP.name)
    holders = identifiers.filter(identifiers.kind == kind, identifiers.value == value)
    ids = holders.join(mapping, ["source", "source_customer_id"]).select("customer_id").distinct()
    return sorted(int(r["customer_id"]) for r in _rows(ids))


def _follow_merges(con: BaseBackend, customer_id: int) -> int | None:
    """The customer a retired id now lives in; raises when it was split; None if unknown."""
    history = con.table(HISTORY.name)
    current = customer_id
    for _ in range(_MAX_MERGE_HOPS):
        events = _rows(
            history.filter(history.customer_id == current, history.event.isin(["merge", "split"])).select(
                "event", "other_customer_id", "at"
            )
        )
        if not events:
            return None if current == customer_id else current
        splits = sorted({int(e["other_customer_id"]) for e in events if e["event"] == "split"})
        if splits:
            raise CustomerRetiredError(
                f"customer {current} was split into {', '.join(map(str, splits))}; show one of those", splits
            )
        latest = max(events, key=lambda e: (e["at"], e["other_customer_id"]))
        current = int(latest["other_customer_id"])
        if _customers_for(con, "customer_id", str(current)):
            return current
    return None


def find_customer(con: BaseBackend, settings: Settings, key: str) -> tuple[int, int | None]:
    """The customer id a key names, and the retired id it was redirected from (if any).

    Raises :class:`NotFoundError`, :class:`AmbiguousKeyError` (a phone or e-mail on
    several customers, e.g. a shared shop phone) or :class:`CustomerRetiredError`.
    """
    ensure_identity_tables(con)
    parsed: CustomerKey = parse_customer_key(key, settings.default_region)
    for kind, value in ((parsed.kind, parsed.value), *parsed.alternatives):
        found = _customers_for(con, kind, value)
        if len(found) > 1:
            raise AmbiguousKeyError(
                f"{kind} {value} belongs to {len(found)} customers ({', '.join(map(str, found[:10]))}); "
                "show one of them by id",
                found,
            )
        if found:
            return found[0], None
        if kind == "customer_id":
            successor = _follow_merges(con, int(value))
            if successor is not None:
                return successor, int(value)
    raise NotFoundError(f"no customer for {key!r} ({parsed.kind} {parsed.value}); has `guanxi resolve` run?")


def _records(con: BaseBackend, customer_id: int) -> ir.Table:
    mapping = con.table(IDENTITY_MAP.name)
    return mapping.filter(mapping.customer_id == customer_id).select(
        "source", "source_customer_id", "resolved_at"
    )


def _timeline(con: BaseBackend, records: ir.Table, limit: int) -> list[TimelineEntry]:
    keys = ["source", "source_customer_id"]
    orders = within(con.table(RAW_ORDERS.name), records, keys)
    tickets = within(con.table(RAW_TICKETS.name), records, keys)
    events = within(con.table(RAW_EVENTS.name), records, keys)
    parts = [
        orders.select(
            at=orders.created_at,
            kind=ibis.literal("order"),
            source=orders.source,
            reference=orders.order_id,
            summary=ibis.coalesce(orders.product_title, orders.item_count.cast("string") + " items"),
            status=orders.status,
            channel=ibis.coalesce(orders.channel, orders.store),
            amount=order_amount(orders),
        ),
        tickets.select(
            at=tickets.created_at,
            kind=ibis.literal("ticket"),
            source=tickets.source,
            reference=tickets.ticket_id,
            summary=ibis.coalesce(tickets.kind + ": " + tickets.subject, tickets.subject, tickets.kind),
            status=tickets.status,
            channel=tickets.channel,
            amount=ibis.null("decimal(18, 2)"),
        ),
        events.select(
            at=events.occurred_at,
            kind=ibis.ifelse(events.type.lower().isin(MESSAGE_TYPES), "message", "event"),
            source=events.source,
            reference=events.event_id,
            summary=ibis.coalesce(events.event, events.type),
            status=ibis.null("string"),
            channel=events.channel,
            amount=ibis.null("decimal(18, 2)"),
        ),
    ]
    union = ibis.union(*parts)
    ordered = union.order_by(
        [ibis.desc(union.at, nulls_first=False), union.kind, union.source, union.reference]
    )
    return [TimelineEntry(**row) for row in _rows(ordered.limit(limit))]


def _companies(con: BaseBackend, customer_id: int) -> list[dict[str, Any]]:
    contacts = con.table(CONTACTS.name)
    companies = con.table(COMPANIES.name)
    mine = _rows(contacts.filter(contacts.customer_id == customer_id).order_by("company_key"))
    result: list[dict[str, Any]] = []
    for row in mine:
        company = _rows(companies.filter(companies.company_key == row["company_key"]))
        colleagues = contacts.filter(
            contacts.company_key == row["company_key"], contacts.customer_id != customer_id
        )
        result.append(
            {
                "company_key": row["company_key"],
                "company": company[0]["name"] if company else None,
                "title": row["title"],
                "role": row["role"],
                "colleagues": _rows(
                    colleagues.select("customer_id", "name", "title", "role")
                    .order_by("customer_id")
                    .limit(50)
                ),
            }
        )
    return result


def _profile(con: BaseBackend, customer_id: int) -> dict[str, list[dict[str, Any]]]:
    existing = set(con.list_tables())
    profile: dict[str, list[dict[str, Any]]] = {}
    for name in PROFILE_TABLES:
        if name not in existing:
            continue
        table = con.table(name)
        if "customer_id" not in table.columns:
            continue
        rows = table.filter(table.customer_id == customer_id)
        time_column = next((c for c in _TIME_COLUMNS if c in table.columns), None)
        if time_column is not None:
            rows = rows.order_by(ibis.desc(rows[time_column], nulls_first=False))
        profile[name] = _rows(rows.limit(100))
    return profile


def customer_360(con: BaseBackend, settings: Settings, key: str, *, timeline_limit: int = 200) -> Customer360:
    """Everything about the customer ``key`` names (an id, a phone in any common spelling, an e-mail).

    A retired id that was merged leads to the surviving customer
    (``redirected_from`` says so). Read-only. Raises :class:`NotFoundError`,
    :class:`AmbiguousKeyError`, :class:`CustomerRetiredError`,
    :class:`~guanxi.identity.errors.IdentityInputError` for an unreadable key.
    """
    customer_id, redirected = find_customer(con, settings, key)
    customers = con.table(CUSTOMERS.name)
    golden = _rows(customers.filter(customers.customer_id == customer_id))
    if not golden:
        raise NotFoundError(f"customer {customer_id} has no golden record; run `guanxi resolve`")
    records = _records(con, customer_id)
    seniority = con.table(IDENTITY_RECORDS.name)
    record_rows = records.left_join(seniority, ["source", "source_customer_id"]).select(
        records.source, records.source_customer_id, records.resolved_at, seniority.seniority_at
    )
    identifiers = within(con.table(IDENTITY_IDENTIFIERS.name), records, ["source", "source_customer_id"])
    flags = con.table(IDENTIFIER_FLAGS.name)
    reasons = flags.group_by(["kind", "value"]).agg(
        excluded=flags.reason.collect(distinct=True).sort().join(",")
    )
    listed = identifiers.left_join(reasons, ["kind", "value"]).select(
        identifiers.kind,
        identifiers.value,
        identifiers.source,
        identifiers.source_customer_id,
        identifiers.origins,
        identifiers.occurrences,
        reasons.excluded,
    )
    values = con.table(SOURCE_VALUES.name)
    history = con.table(HISTORY.name)
    involved = history.filter(
        (history.customer_id == customer_id) | (history.other_customer_id == customer_id)
    )
    return Customer360(
        customer_id=customer_id,
        golden=golden[0],
        records=_rows(record_rows.order_by(["seniority_at", "source", "source_customer_id"])),
        identifiers=_rows(listed.order_by(["kind", "value", "source", "source_customer_id"])),
        source_values=_rows(
            values.filter(values.customer_id == customer_id)
            .drop("customer_id")
            .order_by(["field", ibis.desc("chosen"), ibis.desc("last_observed_at"), "value", "source"])
        ),
        timeline=_timeline(con, records, timeline_limit),
        companies=_companies(con, customer_id),
        history=_rows(involved.order_by(["at", "event", "customer_id"])),
        profile=_profile(con, customer_id),
        redirected_from=redirected,
    )
