"""Which records an incremental run looks at, where the next run starts, and which raw rows it reads.

A record ``(source, source_customer_id)`` is in the run's *batch* when

* one of its raw rows (``raw_customers``, ``raw_orders``, ``raw_events``,
  ``raw_tickets``) was ingested after the *watermark*, or
* it is not in ``identity_map`` and has a row ingested less than :data:`GRACE`
  before the watermark (a writer that committed late) or without ``ingested_at``,
  or an earlier incremental run left it ``unplaced``
  (:mod:`~guanxi.identity.deferred`). Older unresolved records were seen by
  the last full resolve.

The watermark is the later of the last full resolve's ``started_at``
(``identity_runs``) and the last incremental run's ``watermark`` (the latest
``ingested_at`` it saw, ``identity_incremental_runs``). Both are wall-clock
times in ``Settings.timezone``, like ``ingested_at``. Rows are appended in
ingestion order, so filters on ``ingested_at`` skip old data cheaply (DuckDB's
zone maps; an index on PostgreSQL): finding the batch costs little however large
the raw tables are. The importer and the HTTP API always set ``ingested_at``.

Only two kinds of raw rows are read in sighting shape (:func:`restricted_sightings`):
the recent rows (to find which customers the batch may touch) and every row of
the records in scope (:func:`scope_records`: the batch and those customers'
records), in one scan; :func:`member_sightings` adds the rare customer found only
later (through a link).
Keys are cleaned as :mod:`~guanxi.identity.sightings` cleans them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.identity.deferred import pending_notes
from guanxi.identity.deltas import Scratch
from guanxi.identity.identifiers import identifiers_from
from guanxi.identity.rules import IdentityRules
from guanxi.identity.schema import IDENTITY_IDENTIFIERS, RUNS
from guanxi.identity.sightings import RAW_BY_KIND, clean, sightings
from guanxi.portable import within, without
from guanxi.tables import IDENTITY_MAP, TableSpec

KEYS = ["source", "source_customer_id"]
VALUE = ["kind", "value"]

GRACE = timedelta(minutes=10)
"""How late a row may be committed after its ``ingested_at`` and still be found as a new record's."""

INCREMENTAL_RUNS = TableSpec(
    "identity_incremental_runs",
    {
        "run_id": "string",
        "started_at": "timestamp",
        "watermark": "timestamp",
        "records": "int64",
        "new_records": "int64",
        "joined": "int64",
        "created": "int64",
        "unplaced": "int64",
        "deferred": "int64",
        "refreshed": "int64",
        "seconds": "float64",
    },
    ("run_id",),
)
"""One row per incremental run that found something: ``watermark`` is where the next one starts."""

Keep = Callable[[ir.Table], ir.Table]
"""Restricts one raw table to the rows a step reads."""


def _scalar(table: ir.Table, column: str) -> Any:
    """The largest value of ``column`` (None on an empty table), NULL kept as None on every backend."""
    rows = table.aggregate(m=table[column].max()).to_pyarrow().to_pylist()
    return rows[0]["m"] if rows else None


def watermark(con: BaseBackend) -> datetime | None:
    """Rows ingested after this time are new to identity resolution (None: no run yet)."""
    marks = [
        _scalar(con.table(RUNS.name), "started_at"),
        _scalar(con.table(INCREMENTAL_RUNS.name), "watermark"),
    ]
    present = [m for m in marks if isinstance(m, datetime)]
    return max(present) if present else None


def recent(since: datetime | None) -> Keep:
    """Rows ingested after ``since`` minus :data:`GRACE`, or without ``ingested_at`` (all rows for None)."""

    def keep(raw: ir.Table) -> ir.Table:
        if since is None:
            return raw
        start = ibis.literal(since - GRACE, type="timestamp")
        return raw.filter((raw.ingested_at.cast("timestamp") > start) | raw.ingested_at.isnull())

    return keep


def of_records(records: ir.Table) -> Keep:
    """Every row of the ``records`` (source, source_customer_id), matched on the cleaned keys."""

    def keep(raw: ir.Table) -> ir.Table:
        keyed = raw.mutate(_guanxi_s=clean(raw.source), _guanxi_r=clean(raw.source_customer_id))
        matched = within(keyed, records, {"_guanxi_s": "source", "_guanxi_r": "source_customer_id"})
        return matched.drop("_guanxi_s", "_guanxi_r")

    return keep


class _RawRows:
    """Stands in for the backend where :func:`~guanxi.identity.sightings.sightings` asks for a raw
    table (its only use of the backend), handing out the table restricted by ``keep``."""

    def __init__(self, con: BaseBackend, keep: Keep) -> None:
        self.con = con
        self.keep = keep

    def table(self, name: str) -> ir.Table:
        return self.keep(self.con.table(name))


def restricted_sightings(con: BaseBackend, rules: IdentityRules, keep: Keep) -> ir.Table:
    """:func:`~guanxi.identity.sightings.sightings` of the raw rows ``keep`` selects (an expression)."""
    return sightings(cast(BaseBackend, _RawRows(con, keep)), rules)


def candidate_records(con: BaseBackend, since: datetime | None, unplaced: ir.Table) -> ir.Table:
    """The batch: source, source_customer_id, latest (largest recent ``ingested_at``), mapped (in identity_map).

    ``since`` None takes every record; ``unplaced`` (source, source_customer_id) are
    records an earlier run left to the full resolve. An expression; nothing runs.
    """
    keep = recent(since)
    parts = []
    for name in RAW_BY_KIND.values():
        raw = keep(con.table(name))
        source, record = clean(raw.source), clean(raw.source_customer_id)
        parts.append(
            raw.filter(source.notnull(), record.notnull()).select(
                source=source, source_customer_id=record, latest=raw.ingested_at.cast("timestamp")
            )
        )
    waiting = unplaced.select(
        source=unplaced.source.cast("string"),
        source_customer_id=unplaced.source_customer_id.cast("string"),
        latest=ibis.null("timestamp"),
    )
    rows = ibis.union(*parts, waiting)
    keys = rows.group_by(KEYS).agg(latest=rows.latest.max())
    mapping = con.table(IDENTITY_MAP.name)
    marker = mapping.select(_m_source="source", _m_record="source_customer_id").distinct()
    joined = keys.left_join(
        marker, [keys.source == marker._m_source, keys.source_customer_id == marker._m_record]
    )
    marked = joined.select(
        keys.source, keys.source_customer_id, keys.latest, mapped=marker._m_source.notnull()
    )
    if since is None:
        return marked
    fresh = marked.latest > ibis.literal(since, type="timestamp")
    return marked.filter(fresh.fill_null(False) | ~marked.mapped)


def scope_records(
    con: BaseBackend,
    scratch: Scratch,
    batch: ir.Table,
    since: datetime | None,
    rules: IdentityRules,
    full_runs: int,
) -> ir.Table:
    """Records whose rows the run reads in one scan: the batch, and every record of each customer
    it may touch (holding a linking value of a recent row or of a batch record's last identifiers,
    owning a batch record, or in a noted merge)."""
    identifiers = con.table(IDENTITY_IDENTIFIERS.name)
    mapping = con.table(IDENTITY_MAP.name)
    recent_rows = restricted_sightings(con, rules, recent(since))
    hints = ibis.union(
        identifiers_from(recent_rows, rules).select(*VALUE),
        within(identifiers, batch, KEYS).select(*VALUE),
        distinct=True,
    )
    hints = scratch.put("hints", hints.filter(hints.kind.isin(rules.linking_kinds())))
    holding = within(identifiers, hints, VALUE).select(*KEYS)
    merges = pending_notes(con, full_runs)
    merges = merges.filter(merges.reason == "merge")
    customers = ibis.union(
        within(mapping, holding, KEYS).select("customer_id"),
        within(mapping, batch, KEYS).select("customer_id"),
        merges.select(customer_id=merges.customer_id.cast("int64")),
        merges.select(customer_id=merges.other_customer_id.cast("int64")),
        distinct=True,
    )
    their_records = within(mapping, customers, ["customer_id"]).select(*KEYS)
    return scratch.put("scope_records", ibis.union(batch.select(*KEYS), their_records, distinct=True))


def member_sightings(
    con: BaseBackend,
    scratch: Scratch,
    members: ir.Table,
    scope: ir.Table,
    scoped: ir.Table,
    rules: IdentityRules,
) -> ir.Table:
    """Sightings of every member: from the scan of the scope, plus a scan of the few members outside
    it (a customer reached only through a link), when there are any."""
    missing = scratch.put("missing_records", without(members.select(*KEYS), scope, KEYS))
    if not int(missing.count().execute()):
        return scoped
    extra = scratch.put("missing_sightings", restricted_sightings(con, rules, of_records(missing)))
    return ibis.union(scoped, extra)
