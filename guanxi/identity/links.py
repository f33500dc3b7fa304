"""Record pairs linked outside shared identifiers, and records kept apart.

``identity_links`` holds manual merges, probabilistic matches and the review
queue; ``identity_detached`` the records a manual un-merge split off. A human
decision always wins: a pair someone accepted or rejected is never proposed
again, and a manual merge is never undone by a later run. Every change here
takes effect on the next resolve run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.identity.errors import IdentityInputError
from guanxi.identity.rules import IdentityRules
from guanxi.identity.schema import DETACHED, LINKS, ensure_identity_tables
from guanxi.portable import replace_table, within, without

Record = tuple[str, str]

_PAIR = ["left_source", "left_source_customer_id", "right_source", "right_source_customer_id"]


def ordered(a: Record, b: Record) -> tuple[Record, Record]:
    """The pair with the smaller record first, as ``identity_links`` stores it."""
    return (a, b) if a <= b else (b, a)


def link_edges(links: ir.Table, nodes: ir.Table, detached: ir.Table) -> ir.Table:
    """Edges (src, dst node numbers) for every linked pair whose records both exist.

    Automatic links (probabilistic, accepted reviews) skip detached records;
    manual merges always hold.
    """
    linked = links.filter(links.status == "linked")
    left = nodes.view()
    right = nodes.view()
    joined = linked.join(
        left, [linked.left_source == left.source, linked.left_source_customer_id == left.source_customer_id]
    ).join(
        right,
        [linked.right_source == right.source, linked.right_source_customer_id == right.source_customer_id],
    )
    edges = joined.select(src=left.node, dst=right.node, origin=linked.origin)
    free = without(nodes, detached, ["source", "source_customer_id"])
    automatic = edges.filter(edges.origin != "manual")
    automatic = within(within(automatic, free, {"src": "node"}), free, {"dst": "node"})
    manual = edges.filter(edges.origin == "manual")
    return ibis.union(manual.select("src", "dst"), automatic.select("src", "dst"))


def _next_link_id(con: BaseBackend) -> int:
    """One above the largest link id (1 for no links). The empty case is settled in the query:
    a NULL scalar comes back as None from DuckDB and PostgreSQL but as NaN from Spark."""
    largest = ibis.coalesce(con.table(LINKS.name).link_id.max(), 0)
    return int(largest.execute()) + 1


def _insert(con: BaseBackend, rows: list[dict[str, Any]]) -> None:
    con.insert(LINKS.name, ibis.memtable(rows, schema=LINKS.schema))


def add_manual_link(con: BaseBackend, a: Record, b: Record, *, reason: str, actor: str, now: datetime) -> int:
    """Link two records by a person's decision; returns the link id.

    Raises :class:`IdentityInputError` when both are the same record."""
    require_pair(a, b)
    ensure_identity_tables(con)
    (ls, lid), (rs, rid) = ordered(a, b)
    link_id = _next_link_id(con)
    _insert(
        con,
        [
            {
                "link_id": link_id,
                "left_source": ls,
                "left_source_customer_id": lid,
                "right_source": rs,
                "right_source_customer_id": rid,
                "origin": "manual",
                "status": "linked",
                "match_probability": None,
                "reason": reason,
                "actor": actor,
                "created_at": now,
                "decided_at": now,
            }
        ],
    )
    return link_id


def replace_probabilistic(con: BaseBackend, pairs: ir.Table, rules: IdentityRules, now: datetime) -> None:
    """Replace the previous run's probabilistic links and proposals by ``pairs``.

    ``pairs``: left_source, left_source_customer_id, right_source,
    right_source_customer_id (left sorting first), match_probability. Pairs at or
    above the link threshold are ``linked``, the others ``pending`` review. Pairs
    with a manual or human decision are left alone; a pair proposed before keeps
    its link id.
    """
    ensure_identity_tables(con)
    links = con.table(LINKS.name)
    decided = links.filter(links.origin != "probabilistic")
    earlier = links.filter(links.origin == "probabilistic").select(*_PAIR, "link_id", "created_at")
    fresh = without(pairs, decided, _PAIR)
    joined = fresh.left_join(earlier, _PAIR)
    start = _next_link_id(con)
    new_id = ibis.row_number().over(order_by=[fresh[c] for c in _PAIR]) + start
    stamp = ibis.literal(now, type="timestamp")
    status = ibis.ifelse(fresh.match_probability >= rules.probabilistic.link_threshold, "linked", "pending")
    rows = joined.select(
        link_id=ibis.coalesce(earlier.link_id, new_id).cast("int64"),
        **{c: fresh[c] for c in _PAIR},
        origin=ibis.literal("probabilistic"),
        status=status,
        match_probability=fresh.match_probability.cast("float64"),
        reason=ibis.literal("name, birthday, address, city"),
        actor=ibis.literal("splink"),
        created_at=ibis.coalesce(earlier.created_at, stamp),
        decided_at=ibis.ifelse(status == "linked", stamp, ibis.null("timestamp")),
    )
    result = ibis.union(decided.select(*LINKS.columns).cast(LINKS.schema), rows.cast(LINKS.schema))
    replace_table(con, LINKS.name, result)


def record_decisions(con: BaseBackend, decisions: Mapping[int, bool], *, actor: str, now: datetime) -> None:
    """Accept (True → ``linked``) or reject (False → ``rejected``) pending pairs by link id, in one rewrite.

    Only pending pairs change; the caller checks the ids first
    (:func:`guanxi.identity.manual.decide_reviews`).
    """
    ensure_identity_tables(con)
    if not decisions:
        return
    links = con.table(LINKS.name)
    accepted = [link_id for link_id, accept in sorted(decisions.items()) if accept]
    rejected = [link_id for link_id, accept in sorted(decisions.items()) if not accept]
    pending = links.status == "pending"
    is_accepted = pending & links.link_id.isin(accepted or [-1])
    is_rejected = pending & links.link_id.isin(rejected or [-1])
    target = is_accepted | is_rejected
    updated = links.mutate(
        origin=ibis.ifelse(target, "review", links.origin),
        status=ibis.cases((is_accepted, "linked"), (is_rejected, "rejected"), else_=links.status),
        actor=ibis.ifelse(target, actor, links.actor),
        decided_at=ibis.ifelse(target, ibis.literal(now, type="timestamp"), links.decided_at),
    )
    replace_table(con, LINKS.name, updated.select(*LINKS.columns).cast(LINKS.schema))


def unlink_record(con: BaseBackend, record: Record, *, actor: str, now: datetime) -> int:
    """Mark every linked pair touching ``record`` as ``unlinked``; returns how many there were."""
    ensure_identity_tables(con)
    links = con.table(LINKS.name)
    source, record_id = record
    touches = ((links.left_source == source) & (links.left_source_customer_id == record_id)) | (
        (links.right_source == source) & (links.right_source_customer_id == record_id)
    )
    target = touches & (links.status == "linked")
    count = int(links.filter(target).count().execute())
    if count:
        updated = links.mutate(
            status=ibis.ifelse(target, "unlinked", links.status),
            actor=ibis.ifelse(target, actor, links.actor),
            decided_at=ibis.ifelse(target, ibis.literal(now, type="timestamp"), links.decided_at),
        )
        replace_table(con, LINKS.name, updated.select(*LINKS.columns).cast(LINKS.schema))
    return count


def detach(con: BaseBackend, record: Record, *, reason: str, actor: str, now: datetime) -> bool:
    """Keep ``record`` apart from automatic links; False when it already was. Idempotent."""
    ensure_identity_tables(con)
    table = con.table(DETACHED.name)
    source, record_id = record
    if int(table.filter(table.source == source, table.source_customer_id == record_id).count().execute()):
        return False
    row = {
        "source": source,
        "source_customer_id": record_id,
        "reason": reason,
        "actor": actor,
        "detached_at": now,
    }
    con.insert(DETACHED.name, ibis.memtable([row], schema=DETACHED.schema))
    return True


def require_pair(a: Record, b: Record) -> None:
    """Raise :class:`IdentityInputError` when a record would be linked to itself."""
    if a == b:
        raise IdentityInputError(f"cannot link record {a[0]}:{a[1]} to itself")
