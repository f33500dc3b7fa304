"""One resolve run: raw tables → identity graph → stable ids → golden records.

Every step is an Ibis expression over whole tables, materialised as a working
table (``_identity_stage_*``) in the warehouse; only counts come back to Python.
The outputs are replaced at the end of the run, after everything has been
computed, so a failing run leaves the previous results in place.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.identity.clock import wall_clock
from guanxi.identity.companies import companies, company_contacts
from guanxi.identity.deltas import transaction_for
from guanxi.identity.exclusive import one_at_a_time
from guanxi.identity.golden import (
    customer_base,
    customer_observations,
    golden_records,
    observations,
    source_values,
)
from guanxi.identity.graph import connected_components
from guanxi.identity.guards import identifier_flags, identifier_record_counts, linking_identifiers
from guanxi.identity.identifiers import distinct_identifiers, identifiers_from
from guanxi.identity.links import link_edges, replace_probabilistic
from guanxi.identity.probabilistic import MatchOutcome, match_pairs, node_pairs_to_records, record_profiles
from guanxi.identity.records import numbered_records, record_activity, seniority_rows
from guanxi.identity.rules import IdentityRules, load_rules, rules_path
from guanxi.identity.schema import (
    COMPANIES,
    CONTACTS,
    DETACHED,
    HISTORY,
    IDENTIFIER_FLAGS,
    IDENTITY_IDENTIFIERS,
    IDENTITY_RECORDS,
    LINKS,
    RUNS,
    SOURCE_VALUES,
    STAGE_PREFIX,
    ensure_identity_tables,
)
from guanxi.identity.sightings import sightings
from guanxi.identity.stable_ids import (
    assign_ids,
    history_events,
    identity_map_rows,
    next_customer_id,
    previous_members,
)
from guanxi.portable import drop_statement, execute, rename_statement, without
from guanxi.progress import Progress, Steps
from guanxi.tables import CUSTOMERS, IDENTITY_MAP, TableSpec

RESOLVE_STEPS = (
    "sightings",
    "records",
    "identifiers",
    "flags",
    "observations",
    "matching",
    "edges",
    "graph",
    "ids",
    "golden",
    "publish",
)
"""The steps of a run, in order, as :func:`resolve` reports them (``matching`` only with ``probabilistic``)."""

STEP_LABELS = {
    "sightings": "reading sightings",
    "records": "numbering records",
    "identifiers": "collecting identifiers",
    "flags": "flagging identifiers",
    "observations": "collecting observations",
    "matching": "probabilistic matching",
    "edges": "building edges",
    "graph": "connecting the graph",
    "ids": "assigning ids",
    "golden": "building golden records",
    "publish": "publishing",
}
"""The progress message of each step in :data:`RESOLVE_STEPS`."""


@dataclass(frozen=True)
class ResolveReport:
    """What a resolve run did. Counts are of records, customers and identifier values."""

    run_id: str
    records: int
    customers: int
    identifiers: int
    flagged_identifiers: int
    edges: int
    iterations: int
    created: int
    merged: int
    split: int
    retired: int
    probabilistic_links: int
    review_pending: int
    graph_seconds: float
    seconds: float
    matching: MatchOutcome | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)
    """Wall-clock seconds of each materialised step (``graph`` included), to see where time goes."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Stage:
    """The run's working tables, dropped at the end whatever happens."""

    def __init__(self, con: BaseBackend) -> None:
        self.con = con
        self.names: list[str] = []
        self.outputs: list[tuple[str, TableSpec]] = []
        self.seconds: dict[str, float] = {}

    def name(self, short: str) -> str:
        full = f"{STAGE_PREFIX}{short}"
        self.names.append(full)
        return full

    def put(self, short: str, expr: ir.Table) -> ir.Table:
        started = time.perf_counter()
        table = self.con.create_table(self.name(short), expr, overwrite=True)
        self.seconds[short] = round(time.perf_counter() - started, 3)
        return table

    def put_output(self, short: str, spec: TableSpec, expr: ir.Table) -> ir.Table:
        """A working table shaped exactly like the output ``spec``, published by :meth:`publish`."""
        shaped = expr if list(expr.columns) == list(spec.columns) else expr.select(*spec.columns)
        if shaped.schema() != spec.schema:
            shaped = shaped.cast(spec.schema)
        table = self.put(short, shaped)
        self.outputs.append((f"{STAGE_PREFIX}{short}", spec))
        return table

    def publish(self) -> None:
        """Swap every output in: drop the old table, rename the working one (no copy).

        On DuckDB and PostgreSQL all the swaps are one transaction, so a reader
        (a page, a campaign build) sees either every old table or every new one,
        never a missing ``customers`` or new customers with an old identity map.
        Elsewhere (Spark) the tables are swapped one after another.
        """
        existing = set(self.con.list_tables())
        statements: list[sge.Expression] = []
        for staged, spec in self.outputs:
            if spec.name in existing:
                statements.append(drop_statement(spec.name))
            statements.append(rename_statement(staged, spec.name))
        transaction = transaction_for(self.con)
        if transaction is None:
            for statement in statements:
                execute(self.con, statement)
        else:
            with transaction() as run:
                for statement in statements:
                    run(statement.sql(dialect=self.con.dialect))
        for staged, _ in self.outputs:
            self.names.remove(staged)

    def drop_all(self) -> None:
        existing = set(self.con.list_tables())
        for name in dict.fromkeys(self.names):
            if name in existing:
                self.con.drop_table(name)


def _counts(**tables: ir.Table) -> dict[str, int]:
    """Row counts of several tables in one query."""
    parts = [
        t.aggregate(n=t.count().cast("int64")).mutate(what=ibis.literal(name)) for name, t in tables.items()
    ]
    return {row["what"]: int(row["n"]) for row in ibis.union(*parts).to_pyarrow().to_pylist()}


def identifier_edges(
    identifiers: ir.Table, flags: ir.Table, nodes: ir.Table, detached: ir.Table, rules: IdentityRules
) -> ir.Table:
    """Star edges (src, dst node numbers): every record holding a linking, unflagged identifier
    points at the smallest node holding it. Detached records take part in none."""
    linking = linking_identifiers(identifiers, flags, rules)
    free = without(linking, detached, ["source", "source_customer_id"])
    located = free.join(nodes, ["source", "source_customer_id"]).select("node", "kind", "value")
    anchor = located.node.min().over(ibis.window(group_by=["kind", "value"]))
    star = located.mutate(anchor=anchor)
    star = star.filter(star.node != star.anchor)
    return star.select(src=star.node, dst=star.anchor)


def _pending_reviews(links: ir.Table, identity_map: ir.Table) -> ir.Table:
    pending = links.filter(links.status == "pending")
    left = identity_map.view()
    right = identity_map.view()
    joined = pending.join(
        left, [pending.left_source == left.source, pending.left_source_customer_id == left.source_customer_id]
    ).join(
        right,
        [pending.right_source == right.source, pending.right_source_customer_id == right.source_customer_id],
    )
    return joined.filter(left.customer_id != right.customer_id)


@one_at_a_time
def resolve(
    con: BaseBackend,
    settings: Settings,
    *,
    now: datetime,
    probabilistic: bool = False,
    rules: IdentityRules | None = None,
    progress: Progress | None = None,
) -> ResolveReport:
    """Resolve every record in the raw tables to a customer and rebuild the golden records.

    Guarantees: idempotent (a second run on unchanged data changes no id, no
    ``resolved_at``/``updated_at`` and records no history); independent of the
    order rows were loaded in; existing ids are kept (see
    :mod:`guanxi.identity.stable_ids`). ``now`` (aware, or naive wall-clock in
    ``settings.timezone``) stamps what this run changes. With
    ``probabilistic=True`` the Splink step runs first and its links count in this
    run. ``rules`` default to :func:`~guanxi.identity.rules.load_rules` of
    ``identity.yaml``. ``progress`` is told each step of :data:`RESOLVE_STEPS` as
    it starts (``done`` = steps finished, ``total`` = steps of this run, message
    from :data:`STEP_LABELS`) and ``(total, total, "done")`` once the outputs are
    published; it does not change the results. Raises
    :class:`~guanxi.errors.WarehouseError` when the graph does not converge.
    """
    started = time.perf_counter()
    chosen = rules if rules is not None else load_rules(rules_path(settings))
    stamp = wall_clock(now, settings)
    run_id = f"{stamp:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    ensure_identity_tables(con)
    names = RESOLVE_STEPS if probabilistic else tuple(n for n in RESOLVE_STEPS if n != "matching")
    steps = Steps(names, progress, STEP_LABELS)
    stage = _Stage(con)
    try:
        known = con.table(IDENTITY_RECORDS.name)
        steps.start("sightings")
        rows = stage.put("sightings", sightings(con, chosen))
        steps.start("records")
        records = stage.put("records", numbered_records(record_activity(rows), known, stamp))
        steps.start("identifiers")
        identifiers = stage.put_output(
            "identifiers", IDENTITY_IDENTIFIERS, distinct_identifiers(identifiers_from(rows, chosen))
        )
        steps.start("flags")
        counts = identifier_record_counts(identifiers, chosen)
        flags = stage.put_output(
            "flags", IDENTIFIER_FLAGS, identifier_flags(con, settings, counts, chosen, stamp)
        )
        steps.start("observations")
        observed = stage.put("observations", observations(rows))
        detached = con.table(DETACHED.name)
        nodes = records.select("node", "source", "source_customer_id")

        outcome: MatchOutcome | None = None
        if probabilistic:
            steps.start("matching")
            profiles = stage.put("profiles", record_profiles(observed, nodes, detached))
            scored_name = stage.name("scored")
            outcome = match_pairs(con, profiles, chosen.probabilistic, output=scored_name)
            replace_probabilistic(con, node_pairs_to_records(con.table(scored_name), nodes), chosen, stamp)

        steps.start("edges")
        links = con.table(LINKS.name)
        edges = stage.put(
            "edges",
            ibis.union(
                identifier_edges(identifiers, flags, nodes, detached, chosen),
                link_edges(links, nodes, detached),
            ),
        )
        steps.start("graph")
        graph = connected_components(con, nodes, edges, output=stage.name("components"))
        components = con.table(graph.table)
        members = stage.put(
            "members",
            records.join(components, "node").select(
                "node", "source", "source_customer_id", "rank", "component", "first_at", "last_at"
            ),
        )

        steps.start("ids")
        previous_map = con.table(IDENTITY_MAP.name)
        first_new = next_customer_id(previous_map, con.table(HISTORY.name))
        previous = stage.put("previous", previous_members(previous_map, members))
        assigned = stage.put("assigned", assign_ids(members, previous, first_new))
        new_map = stage.put_output(
            "map", IDENTITY_MAP, identity_map_rows(members, assigned, previous_map, stamp)
        )
        events = stage.put(
            "events", history_events(previous_map, previous, assigned, members, run_id=run_id, now=stamp)
        )

        steps.start("golden")
        observed_by_customer = stage.put(
            "customer_observations", customer_observations(observed, new_map, chosen)
        )
        base = customer_base(new_map, members.select("source", "source_customer_id", "first_at", "last_at"))
        golden = stage.put_output(
            "customers",
            CUSTOMERS,
            golden_records(base, observed_by_customer, con.table(CUSTOMERS.name), chosen, stamp),
        )
        stage.put_output("source_values", SOURCE_VALUES, source_values(observed_by_customer, golden))
        stage.put_output("contacts", CONTACTS, company_contacts(observed_by_customer, golden))
        stage.put_output("companies", COMPANIES, companies(observed_by_customer))
        stage.put_output("seniority", IDENTITY_RECORDS, seniority_rows(records, known))

        steps.start("publish")
        event_counts = {
            row["event"]: int(row["n"])
            for row in events.group_by("event").agg(n=events.customer_id.nunique()).to_pyarrow().to_pylist()
        }
        counted = _counts(
            flagged=flags.select("kind", "value").distinct(),
            probabilistic=links.filter(links.origin == "probabilistic", links.status == "linked"),
            pending=_pending_reviews(links, new_map),
            records=records,
            customers=golden,
            identifiers=identifiers.select("kind", "value").distinct(),
        )
        stage.publish()
        con.insert(HISTORY.name, events)

        report = ResolveReport(
            run_id=run_id,
            records=counted["records"],
            customers=counted["customers"],
            identifiers=counted["identifiers"],
            flagged_identifiers=counted["flagged"],
            edges=graph.edges,
            iterations=graph.iterations,
            created=event_counts.get("create", 0),
            merged=event_counts.get("merge", 0),
            split=event_counts.get("split", 0),
            retired=event_counts.get("retire", 0),
            probabilistic_links=counted["probabilistic"],
            review_pending=counted["pending"],
            graph_seconds=graph.seconds,
            seconds=time.perf_counter() - started,
            matching=outcome,
            step_seconds={**stage.seconds, "graph": round(graph.seconds, 3)},
        )
        run_row = {name: getattr(report, name) for name in RUNS.columns if name not in {"started_at"}}
        run_row["started_at"] = stamp
        con.insert(RUNS.name, ibis.memtable([run_row], schema=RUNS.schema))
        steps.finish("done")
        return report
    finally:
        stage.drop_all()
