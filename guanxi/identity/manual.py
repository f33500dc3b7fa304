"""A person's decisions: merge two customers, split a record off, settle the review queue.

Each decision is stored (``identity_links``, ``identity_detached``) so later
runs keep it, then a resolve run applies it at once and the decision is written
to ``identity_history`` with who made it and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.errors import NotFoundError
from guanxi.identity.clock import wall_clock
from guanxi.identity.errors import IdentityInputError
from guanxi.identity.links import Record, add_manual_link, detach, record_decisions, unlink_record
from guanxi.identity.resolve import ResolveReport, resolve
from guanxi.identity.rules import IdentityRules
from guanxi.identity.schema import HISTORY, IDENTITY_RECORDS, LINKS, ensure_identity_tables
from guanxi.tables import IDENTITY_MAP


def _oldest_record(con: BaseBackend, customer_id: int) -> Record:
    mapping = con.table(IDENTITY_MAP.name)
    records = con.table(IDENTITY_RECORDS.name)
    members = mapping.filter(mapping.customer_id == customer_id).join(
        records, ["source", "source_customer_id"]
    )
    first = (
        members.order_by([members.seniority_at, members.source, members.source_customer_id])
        .select("source", "source_customer_id")
        .limit(1)
        .to_pyarrow()
        .to_pylist()
    )
    if not first:
        raise NotFoundError(f"customer {customer_id} does not exist (run `guanxi resolve` first?)")
    return str(first[0]["source"]), str(first[0]["source_customer_id"])


def _customer_of(con: BaseBackend, record: Record) -> int:
    mapping = con.table(IDENTITY_MAP.name)
    found = (
        mapping.filter(mapping.source == record[0], mapping.source_customer_id == record[1])
        .select("customer_id")
        .to_pyarrow()
        .to_pylist()
    )
    if not found:
        raise NotFoundError(f"record {record[0]}:{record[1]} is not resolved to any customer")
    return int(found[0]["customer_id"])


def _note(
    con: BaseBackend,
    report: ResolveReport,
    event: str,
    customer: int,
    other: int | None,
    detail: str,
    now: datetime,
) -> None:
    row = {
        "run_id": report.run_id,
        "event": event,
        "customer_id": customer,
        "other_customer_id": other,
        "record_count": None,
        "at": now,
        "detail": detail,
    }
    con.insert(HISTORY.name, ibis.memtable([row], schema=HISTORY.schema))


def merge(
    con: BaseBackend,
    settings: Settings,
    first: int,
    second: int,
    *,
    now: datetime,
    actor: str,
    reason: str = "",
    rules: IdentityRules | None = None,
) -> ResolveReport:
    """Merge two customers for good and re-resolve.

    The merged customer keeps the id of the older of the two (its oldest
    member). Stored as a manual link between their oldest records, so every
    later run keeps them together. Raises :class:`NotFoundError` for an unknown
    id and :class:`IdentityInputError` when both ids are the same.
    """
    if first == second:
        raise IdentityInputError(f"customer {first} cannot be merged with itself")
    ensure_identity_tables(con)
    stamp = wall_clock(now, settings)
    a, b = _oldest_record(con, first), _oldest_record(con, second)
    add_manual_link(con, a, b, reason=reason, actor=actor, now=stamp)
    report = resolve(con, settings, now=now, rules=rules)
    _note(con, report, "manual_merge", first, second, f"{actor}: {reason}".strip(), stamp)
    return report


def unmerge(
    con: BaseBackend,
    settings: Settings,
    record: Record,
    *,
    now: datetime,
    actor: str,
    reason: str = "",
    rules: IdentityRules | None = None,
) -> ResolveReport:
    """Split one record off its customer for good and re-resolve.

    The record no longer takes part in automatic links (shared identifiers,
    probabilistic matches) and its manual links are undone. As with every
    split, the parts get new customer ids. Raises :class:`NotFoundError` for a
    record that was never resolved.
    """
    ensure_identity_tables(con)
    stamp = wall_clock(now, settings)
    before = _customer_of(con, record)
    unlink_record(con, record, actor=actor, now=stamp)
    detach(con, record, reason=reason, actor=actor, now=stamp)
    report = resolve(con, settings, now=now, rules=rules)
    after = _customer_of(con, record)
    detail = f"{actor}: {record[0]}:{record[1]} split off. {reason}".strip()
    _note(con, report, "manual_unmerge", before, after, detail, stamp)
    return report


def review_queue(con: BaseBackend) -> ir.Table:
    """Pairs waiting for a person: link_id, match_probability, both records and their
    current customers, created_at; most likely first. Pairs already in one customer are left out."""
    ensure_identity_tables(con)
    links = con.table(LINKS.name)
    pending = links.filter(links.status == "pending")
    left = con.table(IDENTITY_MAP.name)
    right = left.view()
    joined = pending.join(
        left, [pending.left_source == left.source, pending.left_source_customer_id == left.source_customer_id]
    ).join(
        right,
        [pending.right_source == right.source, pending.right_source_customer_id == right.source_customer_id],
    )
    queue = joined.filter(left.customer_id != right.customer_id).select(
        link_id=pending.link_id,
        match_probability=pending.match_probability,
        left_source=pending.left_source,
        left_source_customer_id=pending.left_source_customer_id,
        left_customer_id=left.customer_id,
        right_source=pending.right_source,
        right_source_customer_id=pending.right_source_customer_id,
        right_customer_id=right.customer_id,
        created_at=pending.created_at,
    )
    return queue.order_by([ibis.desc("match_probability"), "link_id"])


def decide_reviews(
    con: BaseBackend,
    settings: Settings,
    decisions: Mapping[int, bool],
    *,
    now: datetime,
    actor: str,
    rules: IdentityRules | None = None,
) -> ResolveReport:
    """Accept (True) or reject (False) review items by link id, then re-resolve once.

    Decisions are final: a rejected pair is never proposed again. Raises
    :class:`NotFoundError` / :class:`IdentityInputError` for an unknown or
    already-decided item, before anything is changed.
    """
    ensure_identity_tables(con)
    links = con.table(LINKS.name)
    wanted = sorted(decisions)
    found = {
        int(row["link_id"]): str(row["status"])
        for row in links.filter(links.link_id.isin(wanted))
        .select("link_id", "status")
        .to_pyarrow()
        .to_pylist()
    }
    for link_id in wanted:
        if link_id not in found:
            raise NotFoundError(f"no review item {link_id} (see `guanxi identity review`)")
        if found[link_id] != "pending":
            raise IdentityInputError(f"pair {link_id} is {found[link_id]}, not pending review")
    stamp = wall_clock(now, settings)
    record_decisions(con, decisions, actor=actor, now=stamp)
    return resolve(con, settings, now=now, rules=rules)
