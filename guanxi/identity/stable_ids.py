"""Stable customer ids: who keeps which id from one run to the next.

The rule, applied to whole tables:

* a previous customer *continues* into a new component when all of its records
  that still exist are in that one component;
* a component takes the id of the continuing customer whose oldest member is
  oldest (by frozen seniority), so a merged customer keeps the id of its oldest
  member and the other ids are retired as ``merge`` events;
* a component no previous customer continues into gets a new id: a split
  (``split`` events name the parts) or a brand-new customer; new ids are issued
  in seniority order of each component's oldest member, above every id ever
  issued, so a retired id is never reused;
* a previous customer none of whose records exist any more is ``retire``d.

Consequences: running again on the same data changes nothing (idempotent);
adding records never moves an id except by merging; the result does not depend
on the order rows were loaded in.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

from guanxi.identity.schema import HISTORY
from guanxi.portable import without
from guanxi.tables import IDENTITY_MAP


def next_customer_id(previous_map: ir.Table, history: ir.Table) -> int:
    """One above every customer id ever issued (1 on an empty warehouse). Executes three scalars."""
    issued = [
        ibis.coalesce(previous_map.customer_id.max(), 0).execute(),
        ibis.coalesce(history.customer_id.max(), 0).execute(),
        ibis.coalesce(history.other_customer_id.max(), 0).execute(),
    ]
    return max(int(v) for v in issued) + 1


def previous_members(previous_map: ir.Table, members: ir.Table) -> ir.Table:
    """Each surviving record of a previous customer with its new component and seniority rank.

    Columns: previous_id, component, rank.
    """
    joined = previous_map.join(members, ["source", "source_customer_id"])
    return joined.select(
        previous_id=previous_map.customer_id, component=members.component, rank=members["rank"]
    )


def assign_ids(members: ir.Table, previous: ir.Table, first_new_id: int) -> ir.Table:
    """component → customer_id, with ``is_new`` for ids issued in this run.

    ``members`` has component and rank (seniority, 0 = oldest) per record;
    ``previous`` is :func:`previous_members`.
    """
    per_previous = previous.group_by("previous_id").agg(
        components=previous.component.nunique(),
        component=previous.component.min(),
        oldest=previous["rank"].min(),
    )
    continuing = per_previous.filter(per_previous.components == 1)
    winner = ibis.row_number().over(group_by="component", order_by=["oldest", "previous_id"])
    claims = continuing.mutate(pick=winner).filter(ibis._.pick == 0)
    claimed = claims.select("component", customer_id=claims.previous_id, is_new=ibis.literal(False))

    per_component = members.group_by("component").agg(oldest=members["rank"].min())
    unclaimed = without(per_component, claimed, ["component"])
    issued = unclaimed.mutate(
        customer_id=(ibis.row_number().over(order_by="oldest") + first_new_id).cast("int64"),
        is_new=ibis.literal(True),
    ).select("component", "customer_id", "is_new")
    return ibis.union(claimed, issued)


def identity_map_rows(
    members: ir.Table, assigned: ir.Table, previous_map: ir.Table, now: datetime
) -> ir.Table:
    """The next ``identity_map``: ``resolved_at`` stays as it was for records whose id did not change."""
    joined = members.join(assigned, "component").left_join(previous_map, ["source", "source_customer_id"])
    stamp = ibis.literal(now, type="timestamp")
    same = previous_map.customer_id.notnull() & (previous_map.customer_id == assigned.customer_id)
    rows = joined.select(
        source=members.source,
        source_customer_id=members.source_customer_id,
        customer_id=assigned.customer_id,
        resolved_at=ibis.ifelse(same, previous_map.resolved_at, stamp),
    )
    return rows.select(*IDENTITY_MAP.columns).cast(IDENTITY_MAP.schema)


def history_events(
    previous_map: ir.Table,
    previous: ir.Table,
    assigned: ir.Table,
    members: ir.Table,
    *,
    run_id: str,
    now: datetime,
) -> ir.Table:
    """``identity_history`` rows for this run: create, merge, split, retire."""
    stamp = ibis.literal(now, type="timestamp")
    lineage = previous.join(assigned, "component")
    pairs = lineage.group_by(["previous_id", "customer_id"]).agg(record_count=lineage.count().cast("int64"))
    per_previous = previous.group_by("previous_id").agg(components=previous.component.nunique())
    pairs = pairs.join(per_previous, "previous_id")

    def event(table: ir.Table, name: str, customer: ir.Value, other: ir.Value, count: ir.Value) -> ir.Table:
        return table.select(
            run_id=ibis.literal(run_id),
            event=ibis.literal(name),
            customer_id=customer.cast("int64"),
            other_customer_id=other.cast("int64"),
            record_count=count.cast("int64"),
            at=stamp,
            detail=ibis.null("string"),
        )

    merged = pairs.filter(pairs.components == 1, pairs.previous_id != pairs.customer_id)
    split = pairs.filter(pairs.components > 1)
    sizes = members.group_by("component").agg(record_count=members.count())
    fresh = assigned.filter(assigned.is_new).join(sizes, "component")
    all_previous = previous_map.select(previous_id=previous_map.customer_id).distinct()
    gone = without(all_previous, previous, ["previous_id"])
    events = ibis.union(
        event(fresh, "create", fresh.customer_id, ibis.null("int64"), fresh.record_count),
        event(merged, "merge", merged.previous_id, merged.customer_id, merged.record_count),
        event(split, "split", split.previous_id, split.customer_id, split.record_count),
        event(gone, "retire", gone.previous_id, ibis.null("int64"), ibis.literal(0)),
    )
    return events.select(*HISTORY.columns).cast(HISTORY.schema)
