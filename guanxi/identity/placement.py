"""Where the new records of an incremental run belong, without rebuilding the identity graph.

The full resolve (:mod:`guanxi.identity.resolve`) links *records*. An
incremental run links *entities*: every existing customer is one node (its
``customer_id``, positive) and every new record of the batch is one node (a
negative number), since the existing customers are the components the last run
found. Only identifier values the batch touches can add edges, so the graph is
small:

1. the *scope*: every linking value a batch record holds now or held at the last
   run, plus values whose block-list entry was added or removed since;
2. its *holders*: the batch's identifiers plus every other record's
   (``identity_identifiers``), so the shared-identifier count and the flags of
   each value in scope are exactly those a full resolve would compute;
3. edges: each unflagged value joins its holders' entities as a star (detached
   records take part in none); linked pairs of ``identity_links`` touching a new
   record, and merges noted by earlier incremental runs, are edges too;
4. connected components (:func:`~guanxi.identity.graph.connected_components`).

A component with new records and no customer is a **new** customer; with one, the
new records **join** it; with several, the full resolve would merge them into the
one with the oldest member (:mod:`~guanxi.identity.stable_ids`), so the new
records join that one and the merge is noted for the full resolve. A customer
whose links may break (a value that linked two of its records is now flagged or
gone) is at *split risk*: new records of a component holding one wait for the full
resolve (``unplaced``), since its ids may change. Whole-table Ibis expressions only.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

from guanxi.identity.rules import IdentityRules
from guanxi.portable import within, without

KEYS = ["source", "source_customer_id"]
VALUE = ["kind", "value"]


def _linking(identifiers: ir.Table, rules: IdentityRules) -> ir.Table:
    return identifiers.filter(identifiers.kind.isin(rules.linking_kinds()))


def scope_values(
    batch_identifiers: ir.Table,
    previous_identifiers: ir.Table,
    blocklist: ir.Table,
    previous_flags: ir.Table,
    rules: IdentityRules,
) -> ir.Table:
    """kind, value: the identifier values whose holders or flags the batch may change.

    ``previous_identifiers`` are the batch records' rows of ``identity_identifiers``
    (what they held at the last run).
    """
    blocked_now = blocklist.select(*VALUE)
    blocked_before = previous_flags.filter(previous_flags.reason == "blocked").select(*VALUE)
    return ibis.union(
        _linking(batch_identifiers, rules).select(*VALUE),
        _linking(previous_identifiers, rules).select(*VALUE),
        blocked_now.difference(blocked_before),
        blocked_before.difference(blocked_now),
        distinct=True,
    )


def holders(
    identifiers: ir.Table, batch: ir.Table, batch_identifiers: ir.Table, scope: ir.Table, rules: IdentityRules
) -> ir.Table:
    """source, source_customer_id, kind, value: every record holding a linking value in scope, as of now.

    ``identifiers`` is ``identity_identifiers`` (the last run's); the batch records'
    rows come from ``batch_identifiers`` instead.
    """
    others = within(without(identifiers, batch, KEYS), scope, VALUE)
    mine = within(batch_identifiers, scope, VALUE)
    columns = [*KEYS, *VALUE]
    return _linking(ibis.union(others.select(*columns), mine.select(*columns)), rules)


def split_risk(
    previous_holders: ir.Table,
    previous_flags: ir.Table,
    current_holders: ir.Table,
    current_flags: ir.Table,
    detached: ir.Table,
    mapping: ir.Table,
) -> ir.Table:
    """customer_id of every customer a full resolve might split.

    ``previous_holders``: last run's holders of the values in scope; a value that
    linked two or more resolved records then and no longer links one of them
    (flagged now, or the record lost it) puts their customers at risk.
    """
    before = without(without(previous_holders, previous_flags, VALUE), detached, KEYS)
    before = before.join(mapping.select(*KEYS, "customer_id"), KEYS)
    after = without(without(current_holders, current_flags, VALUE), detached, KEYS)
    linked = before.group_by(VALUE).agg(n=before.count())
    linked = linked.filter(linked.n >= 2)
    lost = without(within(before, linked, VALUE), after, [*VALUE, *KEYS])
    return within(before, lost, VALUE).select("customer_id").distinct()


def new_nodes(batch: ir.Table, activity: ir.Table, known: ir.Table, now: datetime) -> ir.Table:
    """The batch's new records (not in identity_map) with node (negative), seniority_at,
    first_resolved_at and first_at, seniority frozen as :func:`~guanxi.identity.records.numbered_records` does."""
    fresh = batch.filter(~batch.mapped).join(activity, KEYS)
    joined = fresh.left_join(known, KEYS)
    stamp = ibis.literal(now, type="timestamp")
    rows = joined.select(
        source=fresh.source,
        source_customer_id=fresh.source_customer_id,
        first_at=fresh.first_at,
        seniority_at=ibis.coalesce(known.seniority_at, fresh.first_at, stamp),
        first_resolved_at=ibis.coalesce(known.first_resolved_at, stamp),
        known=known.source.notnull(),
    )
    number = ibis.row_number().over(order_by=["source", "source_customer_id"])
    return rows.mutate(node=(-number - 1).cast("int64"))


def _entities(records: ir.Table, mapping: ir.Table, nodes: ir.Table) -> ir.Table:
    """``records`` with ``node``: its customer's id, or its new-record node; others dropped."""
    joined = records.left_join(mapping.select(*KEYS, "customer_id"), KEYS).left_join(
        nodes.select(*KEYS, "node"), KEYS
    )
    located = joined.select(
        *[records[c] for c in records.columns],
        node=ibis.coalesce(mapping.customer_id, nodes.node).cast("int64"),
    )
    return located.filter(located.node.notnull())


def _link_edges(links: ir.Table, mapping: ir.Table, nodes: ir.Table, detached: ir.Table) -> ir.Table:
    """Linked pairs touching a new record, as entity edges (automatic ones skip detached records)."""
    linked = links.filter(links.status == "linked")
    left_keys = {"left_source": "source", "left_source_customer_id": "source_customer_id"}
    right_keys = {"right_source": "source", "right_source_customer_id": "source_customer_id"}
    touching = ibis.union(within(linked, nodes, left_keys), within(linked, nodes, right_keys), distinct=True)
    free = touching.filter(touching.origin == "manual")
    automatic = without(
        without(touching.filter(touching.origin != "manual"), detached, left_keys), detached, right_keys
    )
    pairs = ibis.union(free, automatic)
    left = _entities(
        pairs.select("link_id", source=pairs.left_source, source_customer_id=pairs.left_source_customer_id),
        mapping,
        nodes,
    )
    right = _entities(
        pairs.select("link_id", source=pairs.right_source, source_customer_id=pairs.right_source_customer_id),
        mapping,
        nodes,
    ).select("link_id", dst="node")
    return left.join(right, "link_id").select(src=left.node, dst=right.dst)


def entity_edges(
    current_holders: ir.Table,
    current_flags: ir.Table,
    detached: ir.Table,
    mapping: ir.Table,
    nodes: ir.Table,
    links: ir.Table | None,
    merges: ir.Table,
) -> ir.Table:
    """src, dst entity nodes: unflagged values in scope as stars, links of new records, noted merges.

    ``links`` None: ``identity_links`` holds no linked pair (saves its joins)."""
    linking = without(without(current_holders, current_flags, VALUE), detached, KEYS)
    located = _entities(linking, mapping, nodes)
    anchor = located.node.min().over(ibis.window(group_by=VALUE))
    star = located.mutate(anchor=anchor)
    star = star.filter(star.node != star.anchor).select(src=star.node, dst=star.anchor)
    noted = merges.select(src=merges.customer_id.cast("int64"), dst=merges.other_customer_id.cast("int64"))
    parts = [star, noted]
    if links is not None:
        parts.append(_link_edges(links, mapping, nodes, detached))
    return ibis.union(*parts)


def graph_nodes(edges: ir.Table, nodes: ir.Table) -> ir.Table:
    """node: every entity of the graph (the new records, and the customers an edge names)."""
    return ibis.union(
        nodes.select("node"), edges.select(node=edges.src), edges.select(node=edges.dst), distinct=True
    )


def components_summary(
    components: ir.Table, mapping: ir.Table, known: ir.Table, at_risk: ir.Table
) -> ir.Table:
    """Per component with a customer: candidates (how many customers), oldest (the customer
    with the oldest member, who keeps its id in a merge), at_risk (one is at split risk)."""
    customers = components.filter(components.node > 0).select("component", customer_id="node")
    members = within(mapping, customers, ["customer_id"]).left_join(known, KEYS)
    order = [
        ibis.asc(members.seniority_at, nulls_first=False),
        members.source,
        members.source_customer_id,
    ]
    first = members.mutate(pick=ibis.row_number().over(group_by="customer_id", order_by=order))
    oldest = first.filter(first.pick == 0).select(
        "customer_id", "seniority_at", "source", "source_customer_id"
    )
    risky = at_risk.select("customer_id", risky=ibis.literal(True)).distinct()
    ranked = customers.left_join(oldest, "customer_id").left_join(risky, "customer_id")
    ranked = ranked.select(
        customers.component,
        customers.customer_id,
        oldest.seniority_at,
        oldest.source,
        oldest.source_customer_id,
        risky=ibis.coalesce(risky.risky, False),
    )
    winner = ibis.row_number().over(
        group_by="component",
        order_by=[
            ibis.asc(ranked.seniority_at, nulls_first=False),
            ranked.source,
            ranked.source_customer_id,
            ranked.customer_id,
        ],
    )
    picked = ranked.mutate(pick=winner)
    return picked.group_by("component").agg(
        candidates=picked.count().cast("int64"),
        oldest=picked.customer_id.max(where=picked.pick == 0).cast("int64"),
        at_risk=picked.risky.any(),
    )


def decisions(nodes: ir.Table, components: ir.Table, summary: ir.Table) -> ir.Table:
    """Each new record with ``decision``: ``create`` (a new customer), ``join`` (``customer_id``)
    or ``unplaced`` (``customer_id`` = the likely one); plus ``component``."""
    located = nodes.join(components, "node").left_join(summary, "component")
    decision = ibis.cases(
        (summary.candidates.isnull(), "create"),
        (summary.at_risk, "unplaced"),
        else_="join",
    )
    return located.select(
        *[nodes[c] for c in nodes.columns],
        component=components.component,
        decision=decision,
        customer_id=summary.oldest,
    )


def new_customers(decided: ir.Table, first_new_id: int) -> ir.Table:
    """component, customer_id, record_count for the new customers, ids issued in seniority order
    of each one's oldest member (as :func:`~guanxi.identity.stable_ids.assign_ids` does)."""
    created = decided.filter(decided.decision == "create")
    order = [created.seniority_at, created.source, created.source_customer_id]
    sized = created.mutate(
        pick=ibis.row_number().over(group_by="component", order_by=order),
        record_count=created.count().over(ibis.window(group_by="component")),
    )
    oldest = sized.filter(sized.pick == 0)
    issued = ibis.row_number().over(order_by=[oldest.seniority_at, oldest.source, oldest.source_customer_id])
    return oldest.select(
        "component",
        customer_id=(issued + first_new_id).cast("int64"),
        record_count=oldest.record_count.cast("int64"),
    )


def placed(decided: ir.Table, created: ir.Table) -> ir.Table:
    """source, source_customer_id, customer_id, seniority_at, first_resolved_at, known, decision:
    every new record that gets a customer in this run."""
    kept = decided.filter(decided.decision != "unplaced")
    joined = kept.left_join(created, "component")
    return joined.select(
        kept.source,
        kept.source_customer_id,
        customer_id=ibis.coalesce(kept.customer_id, created.customer_id).cast("int64"),
        seniority_at=kept.seniority_at,
        first_resolved_at=kept.first_resolved_at,
        known=kept.known,
        decision=kept.decision,
    )


def notes(components: ir.Table, summary: ir.Table, at_risk: ir.Table, decided: ir.Table) -> ir.Table:
    """The run's notes for the full resolve (columns of :data:`~guanxi.identity.deferred.NOTE_COLUMNS`)."""
    customers = components.filter(components.node > 0).select("component", customer_id="node")
    merging = customers.join(summary.filter(summary.candidates >= 2), "component")
    merging = merging.filter(merging.customer_id != merging.oldest)
    text = ibis.null("string")
    merge = merging.select(
        reason=ibis.literal("merge"),
        customer_id=merging.customer_id.cast("int64"),
        other_customer_id=merging.oldest.cast("int64"),
        source=text,
        source_customer_id=text,
    )
    split = at_risk.select(
        reason=ibis.literal("split"),
        customer_id=at_risk.customer_id.cast("int64"),
        other_customer_id=ibis.null("int64"),
        source=text,
        source_customer_id=text,
    )
    waiting = decided.filter(decided.decision == "unplaced")
    unplaced = waiting.select(
        reason=ibis.literal("unplaced"),
        customer_id=waiting.customer_id.cast("int64"),
        other_customer_id=ibis.null("int64"),
        source=waiting.source,
        source_customer_id=waiting.source_customer_id,
    )
    return ibis.union(merge, split, unplaced, distinct=True)
