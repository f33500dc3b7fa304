"""Records: the unit identity resolution links, with their activity times and seniority.

A record's *activity* is every time a raw row says something happened to it
(profile registered or updated, order created, event, ticket). Its *seniority*
is frozen the first time a run sees it (``identity_records.seniority_at``): the
earliest activity then known, or the run's time when there is none. Seniority
decides which member is a customer's oldest, so it must not move when older
rows for the same record arrive later.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

from guanxi.identity.schema import IDENTITY_RECORDS
from guanxi.portable import without


def record_activity(rows: ir.Table) -> ir.Table:
    """Every record in the sightings ``rows`` with ``first_at`` / ``last_at`` (its earliest
    and latest activity; NULL when no row has a time)."""
    return rows.group_by(["source", "source_customer_id"]).agg(
        first_at=rows.first_at.min(), last_at=rows.observed_at.max()
    )


def numbered_records(activity: ir.Table, known: ir.Table, now: datetime) -> ir.Table:
    """Records with a dense ``node`` number, seniority and a global ``rank`` by seniority.

    ``node`` orders records by ``(source, source_customer_id)`` and ``rank`` by
    ``(seniority_at, source, source_customer_id)``; both start at 0 and are
    unique, so nothing depends on the order rows were loaded in. ``known`` is the
    ``identity_records`` table; records it lacks get seniority ``first_at`` (or
    ``now``) and ``first_resolved_at = now``.
    """
    joined = activity.left_join(known, ["source", "source_customer_id"])
    stamp = ibis.literal(now, type="timestamp")
    rows = joined.select(
        source=activity.source,
        source_customer_id=activity.source_customer_id,
        first_at=activity.first_at,
        last_at=activity.last_at,
        seniority_at=ibis.coalesce(known.seniority_at, activity.first_at, stamp),
        first_resolved_at=ibis.coalesce(known.first_resolved_at, stamp),
    )
    return rows.mutate(
        node=ibis.row_number().over(order_by=["source", "source_customer_id"]).cast("int64"),
        rank=ibis.row_number().over(order_by=["seniority_at", "source", "source_customer_id"]).cast("int64"),
    )


def seniority_rows(numbered: ir.Table, known: ir.Table) -> ir.Table:
    """The next ``identity_records``: every known record as it was, plus the new ones.

    Records that left the raw tables keep their row, so a record that comes back
    keeps its seniority.
    """
    fresh = without(numbered, known, ["source", "source_customer_id"])
    columns = list(IDENTITY_RECORDS.columns)
    return ibis.union(
        known.select(*columns).cast(IDENTITY_RECORDS.schema),
        fresh.select(*columns).cast(IDENTITY_RECORDS.schema),
    )
