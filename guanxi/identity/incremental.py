"""Incremental identity resolution: place the records of the last few seconds without rebuilding the graph.

Events arrive through the HTTP API in micro-batches; a full :func:`~guanxi.identity.resolve`
rebuilds every customer and is too slow to follow them. :func:`resolve_incremental`

1. takes the *batch*: records with raw rows ingested since the last run (full or
   incremental) and records not yet in ``identity_map`` (:mod:`~guanxi.identity.batch`);
2. computes their identifiers from all their rows with the full resolve's code
   (sightings, openid scoping, masked phone + name, custom kinds) and re-flags the
   values they touch (shared-identifier limit, placeholders, block list) over all
   records (:mod:`~guanxi.identity.placement`);
3. places each new record: a new customer, or the existing customer its usable
   identifiers lead to; never merges or splits existing customers, but notes where a
   full resolve would (:mod:`~guanxi.identity.deferred`);
4. rebuilds the golden records of the customers touched (:mod:`~guanxi.identity.golden_refresh`);
5. publishes every change in one warehouse transaction (:mod:`~guanxi.identity.deltas`)
   with ``create`` events in ``identity_history`` and a row in ``identity_incremental_runs``.

Guarantees: when a batch needs no merge or split, the identity map groups records
exactly as a full resolve over the same data would, and a full resolve afterwards
changes no id, ``resolved_at``, golden record or ``updated_at``; a run that finds
nothing new writes nothing; a failing run leaves every table as it was. Run it in
the same queue as the full resolve (one writer; they share graph working tables).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.identity.batch import (
    INCREMENTAL_RUNS,
    KEYS,
    candidate_records,
    member_sightings,
    of_records,
    restricted_sightings,
    scope_records,
    watermark,
)
from guanxi.identity.blocklist import blocklist_table
from guanxi.identity.clock import wall_clock
from guanxi.identity.deferred import DEFERRED, NOTE_COLUMNS, full_run_count, pending_notes
from guanxi.identity.deltas import (
    Delta,
    Scratch,
    apply,
    changed_rows,
    inserted_rows,
    scratch_tables,
    transaction_for,
)
from guanxi.identity.exclusive import one_at_a_time
from guanxi.identity.golden_refresh import refresh_golden
from guanxi.identity.graph import connected_components
from guanxi.identity.guards import identifier_flags, identifier_record_counts
from guanxi.identity.identifiers import distinct_identifiers, identifiers_from
from guanxi.identity.placement import (
    VALUE,
    components_summary,
    decisions,
    entity_edges,
    graph_nodes,
    holders,
    new_customers,
    new_nodes,
    notes,
    placed,
    scope_values,
    split_risk,
)
from guanxi.identity.records import record_activity
from guanxi.identity.resolve import ResolveReport, resolve
from guanxi.identity.rules import IdentityRules, load_rules, rules_path
from guanxi.identity.schema import (
    DETACHED,
    HISTORY,
    IDENTIFIER_FLAGS,
    IDENTITY_IDENTIFIERS,
    IDENTITY_RECORDS,
    LINKS,
    ensure_identity_tables,
)
from guanxi.identity.stable_ids import next_customer_id
from guanxi.portable import within
from guanxi.tables import IDENTITY_MAP
from guanxi.warehouse import ensure_tables


@dataclass(frozen=True)
class IncrementalReport:
    """What an incremental run did. Counts are of records, customers and notes.

    ``needs_full_resolve`` is True while any note (this run's or an earlier one's)
    waits for a full resolve; ``pending`` counts them. ``full_resolve`` is set when
    the run was a full resolve instead (empty identity tables, or a warehouse
    without transactions). ``changed_rows`` gives rows written per table.
    """

    run_id: str
    records: int
    new_records: int
    joined: int
    created: int
    unplaced: int
    deferred: int
    refreshed: int
    needs_full_resolve: bool
    pending: int
    watermark: datetime | None
    seconds: float
    changed_rows: dict[str, int] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)
    full_resolve: ResolveReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _full(
    con: BaseBackend, settings: Settings, now: datetime, rules: IdentityRules, started: float
) -> IncrementalReport:
    report = resolve(con, settings, now=now, rules=rules)
    return IncrementalReport(
        run_id=report.run_id,
        records=report.records,
        new_records=report.records,
        joined=0,
        created=report.created,
        unplaced=0,
        deferred=0,
        refreshed=report.customers,
        needs_full_resolve=False,
        pending=0,
        watermark=watermark(con),
        seconds=time.perf_counter() - started,
        full_resolve=report,
    )


def _counts(**tables: ir.Table) -> dict[str, int]:
    parts = [t.aggregate(n=t.count().cast("int64")).mutate(what=ibis.literal(k)) for k, t in tables.items()]
    found = {r["what"]: int(r["n"]) for r in ibis.union(*parts).to_pyarrow().to_pylist()}
    return {k: found.get(k, 0) for k in tables}


def _kept_flag_times(flags: ir.Table, previous: ir.Table) -> ir.Table:
    """Flags that were already there keep their ``flagged_at``."""
    keys = ["kind", "value", "reason"]
    joined = flags.left_join(previous.select(*keys, was=previous.flagged_at), keys)
    return joined.select(
        *[flags[c] for c in IDENTIFIER_FLAGS.columns if c != "flagged_at"],
        flagged_at=ibis.coalesce(joined.was, flags.flagged_at),
    )


def _history(created: ir.Table, run_id: str, stamp: datetime) -> ir.Table:
    return created.select(
        run_id=ibis.literal(run_id),
        event=ibis.literal("create"),
        customer_id=created.customer_id,
        other_customer_id=ibis.null("int64"),
        record_count=created.record_count,
        at=ibis.literal(stamp, type="timestamp"),
        detail=ibis.null("string"),
    )


def _stale_notes(con: BaseBackend, full_runs: int) -> str:
    """The statement deleting the notes a full resolve has settled since they were written."""
    condition = sge.column("full_runs", quoted=True).neq(sge.Literal.number(full_runs))
    return sge.delete(sge.table_(DEFERRED.name, quoted=True), where=condition).sql(dialect=con.dialect)


@dataclass(frozen=True)
class _Placement:
    batch: ir.Table
    batch_identifiers: ir.Table
    previous_identifiers: ir.Table
    scope: ir.Table
    flags: ir.Table
    decided: ir.Table
    created: ir.Table
    placed: ir.Table
    notes: ir.Table


def _place(
    con: BaseBackend,
    settings: Settings,
    scratch: Scratch,
    batch: ir.Table,
    scoped: ir.Table,
    rules: IdentityRules,
    stamp: datetime,
    full_runs: int,
) -> _Placement:
    """Steps 2 and 3: identifiers, flags and the entity graph → where each new record goes.

    ``scoped`` holds every sighting of the records in scope (:func:`~guanxi.identity.batch.scope_records`)."""
    rows = scratch.put("sightings", within(scoped, batch, KEYS))
    batch_ids = scratch.put("identifiers", distinct_identifiers(identifiers_from(rows, rules)))
    identifiers = con.table(IDENTITY_IDENTIFIERS.name)
    flags0 = con.table(IDENTIFIER_FLAGS.name)
    previous_ids = scratch.put("previous_identifiers", within(identifiers, batch, KEYS))
    scope = scratch.put("scope", scope_values(batch_ids, previous_ids, blocklist_table(con), flags0, rules))
    current = scratch.put("holders", holders(identifiers, batch, batch_ids, scope, rules))
    counts = identifier_record_counts(current, rules)
    fresh_flags = within(identifier_flags(con, settings, counts, rules, stamp), scope, VALUE)
    flags = scratch.put("flags", _kept_flag_times(fresh_flags, flags0))

    mapping = con.table(IDENTITY_MAP.name)
    detached = con.table(DETACHED.name)
    known = con.table(IDENTITY_RECORDS.name)
    pending = pending_notes(con, full_runs)
    before = within(identifiers, scope, VALUE)
    before = before.filter(before.kind.isin(rules.linking_kinds()))
    noted_splits = pending.filter(pending.reason == "split").select(
        customer_id=pending.customer_id.cast("int64")
    )
    risk = scratch.put(
        "risk",
        ibis.union(
            split_risk(before, flags0, current, flags, detached, mapping), noted_splits, distinct=True
        ),
    )
    nodes = scratch.put("nodes", new_nodes(batch, record_activity(rows), known, stamp))
    merges = pending.filter(pending.reason == "merge")
    links = con.table(LINKS.name)
    linked = int(links.filter(links.status == "linked").count().execute()) > 0
    edges = entity_edges(current, flags, detached, mapping, nodes, links if linked else None, merges)
    edges = scratch.put("edges", edges)
    started = time.perf_counter()
    graph = connected_components(
        con, graph_nodes(edges, nodes), edges, output=scratch.ordinary_name("components")
    )
    scratch.seconds["graph"] = round(time.perf_counter() - started, 3)
    components = con.table(graph.table)
    summary = scratch.put("summary", components_summary(components, mapping, known, risk))
    decided = scratch.put("decisions", decisions(nodes, components, summary))
    first_new = next_customer_id(mapping, con.table(HISTORY.name))
    created = scratch.put("created", new_customers(decided, first_new))
    fresh_notes = notes(components, summary, risk, decided).select(*NOTE_COLUMNS)
    unseen = scratch.put("notes", fresh_notes.difference(pending.select(*NOTE_COLUMNS)))
    place = placed(decided, created)
    return _Placement(batch, batch_ids, previous_ids, scope, flags, decided, created, place, unseen)


def _deltas(con: BaseBackend, p: _Placement, run_id: str, stamp: datetime, full_runs: int) -> list[Delta]:
    """Identity map, seniority, identifiers, flags, history and notes of the run."""
    stamp_value = ibis.literal(stamp, type="timestamp")
    place = p.placed
    new_map = place.select(*KEYS, "customer_id", resolved_at=stamp_value)
    seniority = place.filter(~place.known).select(*KEYS, "seniority_at", "first_resolved_at")
    notes_rows = p.notes.mutate(
        run_id=ibis.literal(run_id), noted_at=stamp_value, full_runs=ibis.literal(full_runs, type="int64")
    )
    old_flags = within(con.table(IDENTIFIER_FLAGS.name), p.scope, VALUE)
    return [
        inserted_rows(IDENTITY_MAP, new_map),
        inserted_rows(IDENTITY_RECORDS, seniority),
        changed_rows(IDENTITY_IDENTIFIERS, KEYS, p.previous_identifiers, p.batch_identifiers),
        changed_rows(IDENTIFIER_FLAGS, VALUE, old_flags, p.flags),
        inserted_rows(HISTORY, _history(p.created, run_id, stamp)),
        inserted_rows(DEFERRED, notes_rows),
    ]


def _members(con: BaseBackend, scratch: Scratch, p: _Placement) -> ir.Table:
    """Every record (after this run) of every customer to refresh: those new records joined or
    created, and those of the batch's existing records."""
    mapping = con.table(IDENTITY_MAP.name).select(*KEYS, "customer_id")
    existing = within(mapping, p.batch.filter(p.batch.mapped), KEYS).select("customer_id")
    touched = ibis.union(p.placed.select("customer_id"), existing, distinct=True)
    after = ibis.union(mapping, p.placed.select(*KEYS, "customer_id"))
    return scratch.put("members", within(after, touched, ["customer_id"]))


@one_at_a_time
def resolve_incremental(
    con: BaseBackend,
    settings: Settings,
    *,
    now: datetime,
    rules: IdentityRules | None = None,
) -> IncrementalReport:
    """Resolve the records that arrived since the last run and refresh their customers' golden records.

    New records join the one existing customer their usable identifiers lead to,
    or form new customers (ids above every id ever issued, in seniority order);
    merges and splits of existing customers are noted in ``identity_deferred`` for
    the next full resolve instead (see :mod:`~guanxi.identity.deferred`); new
    records whose place depends on a split wait for it. ``now`` (aware, or naive
    wall-clock in ``settings.timezone``) stamps what this run writes. Idempotent (a
    run with nothing new writes nothing); atomic (one transaction); when the
    identity tables are empty, or the warehouse has no transactions (Spark), runs
    the full :func:`~guanxi.identity.resolve` and returns its report in
    ``full_resolve``. Raises :class:`~guanxi.errors.WarehouseError` when the graph
    does not converge.
    """
    started = time.perf_counter()
    chosen = rules if rules is not None else load_rules(rules_path(settings))
    stamp = wall_clock(now, settings)
    run_id = f"inc-{stamp:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    ensure_identity_tables(con)
    ensure_tables(con, (INCREMENTAL_RUNS, DEFERRED))
    transaction = transaction_for(con)
    full_runs = full_run_count(con)
    never_resolved = full_runs == 0 and int(con.table(IDENTITY_MAP.name).count().execute()) == 0
    if transaction is None or never_resolved:
        return _full(con, settings, now, chosen, started)

    since = watermark(con)
    with scratch_tables(con) as scratch:
        unplaced = pending_notes(con, full_runs)
        unplaced = unplaced.filter(unplaced.reason == "unplaced")
        batch = scratch.put("batch", candidate_records(con, since, unplaced))
        head = _head(batch, pending_notes(con, full_runs), con.table(DEFERRED.name), full_runs)
        mark = max([m for m in (since, head["latest"]) if isinstance(m, datetime)], default=None)
        if head["records"] == 0:
            return _report(run_id, head, {}, {}, mark, started, scratch)

        scope = scope_records(con, scratch, batch, since, chosen, full_runs)
        scoped = scratch.put("scope_sightings", restricted_sightings(con, chosen, of_records(scope)))
        placement = _place(con, settings, scratch, batch, scoped, chosen, stamp, full_runs)
        members = _members(con, scratch, placement)
        rows = member_sightings(con, scratch, members, scope, scoped, chosen)
        golden = refresh_golden(con, scratch, members, rows, chosen, stamp)
        deltas = [*_deltas(con, placement, run_id, stamp, full_runs), *golden.deltas]
        decided = placement.decided
        outcome = _counts(
            joined=decided.filter(decided.decision == "join"),
            unplaced=decided.filter(decided.decision == "unplaced"),
            created=placement.created,
            refreshed=golden.customers,
        )
        publishing = time.perf_counter()
        with transaction() as execute:
            written = apply(con, execute, deltas)
            if head["stale"]:
                execute(_stale_notes(con, full_runs))
            report = _report(run_id, head, outcome, written, mark, started, scratch)
            if written or mark != since:
                run_row = {"run_id": run_id, "started_at": stamp}
                run_row.update({c: getattr(report, c) for c in INCREMENTAL_RUNS.columns if c not in run_row})
                row = scratch.put("run", ibis.memtable([run_row], schema=INCREMENTAL_RUNS.schema))
                apply(con, execute, [inserted_rows(INCREMENTAL_RUNS, row)])
        steps = {**report.step_seconds, "publish": round(time.perf_counter() - publishing, 3)}
        return replace(report, seconds=time.perf_counter() - started, step_seconds=steps)


def _head(batch: ir.Table, pending: ir.Table, notes_table: ir.Table, full_runs: int) -> dict[str, Any]:
    """records, new (not in identity_map), latest ingested_at of the batch; pending and stale notes."""
    parts = batch.aggregate(
        records=batch.count().cast("int64"),
        new=batch.count(where=~batch.mapped).cast("int64"),
        latest=batch.latest.max(),
    )
    row = parts.to_pyarrow().to_pylist()[0]
    notes_counts = _counts(pending=pending, stale=notes_table.filter(notes_table.full_runs != full_runs))
    return {
        "records": int(row["records"] or 0),
        "new": int(row["new"] or 0),
        "latest": row["latest"],
        **notes_counts,
    }


def _report(
    run_id: str,
    head: dict[str, Any],
    outcome: dict[str, int],
    written: dict[str, int],
    mark: datetime | None,
    started: float,
    scratch: Scratch,
) -> IncrementalReport:
    deferred = written.get(DEFERRED.name, 0)
    pending = int(head["pending"]) + deferred
    return IncrementalReport(
        run_id=run_id,
        records=int(head["records"]),
        new_records=int(head["new"]),
        joined=outcome.get("joined", 0),
        created=outcome.get("created", 0),
        unplaced=outcome.get("unplaced", 0),
        deferred=deferred,
        refreshed=outcome.get("refreshed", 0),
        needs_full_resolve=pending > 0,
        pending=pending,
        watermark=mark,
        seconds=time.perf_counter() - started,
        changed_rows=written,
        step_seconds=dict(scratch.seconds),
    )
