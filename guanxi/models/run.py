"""One model run: every declared model as of a date, written to the output tables.

:func:`run_models` takes the registered models (:func:`~guanxi.models.declared.declared_models`,
in dependency order), checks each enabled model's settings against the as-of
date, creates or widens the output tables, brings the kept order tables up to
date (:mod:`~guanxi.models.intermediates`: in full, or only for changed records
with ``incremental=True``), materialises the shared inputs once, runs each
model's step with a :class:`~guanxi.models.declared.RunContext`, and writes:

* ``customer_scores`` — one wide row per customer in ``customers`` for this run,
  every model's table left-joined on ``customer_id`` (a disabled or skipped
  model leaves its columns null, or at its declared ``fill``);
* ``score_snapshots`` — the declared snapshot columns for the as-of date (a re-run replaces them);
* ``model_runs`` — one row per run (report and configuration as JSON), pruning
  ``customer_scores`` to ``output.keep_runs`` runs;

and, through the built-in models' own steps, ``lifecycle_transitions`` and
``tier_changes`` (against the latest earlier snapshot), ``points_ledger`` (new
entries only), ``customer_tags`` (preference and credit) and
``portrait_clusters``.

Runs for the same warehouse must not overlap (the ledger's deltas assume one
writer). Data are as of the end of ``as_of`` in ``Settings.timezone``.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pluggy
from ibis.backends import BaseBackend

from guanxi import portable
from guanxi.config import Settings
from guanxi.errors import ConfigError
from guanxi.models import inputs, intermediates
from guanxi.models.config import ModelsConfig, load_models_config
from guanxi.models.declared import (
    SCORES_TABLE,
    SNAPSHOTS_TABLE,
    ModelDefinition,
    PreviousRun,
    RunContext,
    RunInputs,
    declared_models,
)
from guanxi.models.engagement import purchase_days
from guanxi.models.outputs import MODEL_RUNS, declared_tables, ensure_outputs
from guanxi.models.workspace import Workspace
from guanxi.progress import Progress, Steps
from guanxi.tables import TableSpec, conform

INPUTS_STEP, WRITE_STEP = "inputs", "write"
"""The steps :func:`run_models` reports around its models: preparing the shared inputs, writing the outputs."""


@dataclass
class ModelsReport:
    """What a run did: counts, fitted parameters, wall time and per-step timings (seconds), warnings.

    Step timings may overlap (``ledger`` includes its ``ledger_*`` batches).
    ``details`` holds what plugin models report (fitted parameters, counts), by model name.
    """

    run_id: str
    as_of: date
    customers: int = 0
    buyers: int = 0
    pareto_customer_share: float | None = None
    clv: dict[str, float] | None = None
    clusters: list[dict[str, object]] = field(default_factory=list)
    silhouette: float | None = None
    ledger_entries: int = 0
    lifecycle_transitions: int = 0
    tier_changes: int = 0
    incremental: bool = False
    refreshed_records: int | None = None
    refreshed_customers: int | None = None
    segments: dict[str, int] = field(default_factory=dict)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        return json.dumps(data, ensure_ascii=False, default=str)


def latest_snapshot_date(con: BaseBackend, before: date) -> date | None:
    """The latest snapshot date strictly before ``before`` (None if there is none)."""
    snaps = con.table(SNAPSHOTS_TABLE)
    value_ = snaps.filter(snaps.as_of < before).as_of.max().execute()
    if value_ is None or value_ != value_:  # None or NaT
        return None
    return value_.date() if isinstance(value_, datetime) else value_


def run_models(
    con: BaseBackend,
    settings: Settings,
    *,
    as_of: date | None = None,
    config: ModelsConfig | None = None,
    incremental: bool = False,
    pm: pluggy.PluginManager | None = None,
    progress: Progress | None = None,
) -> ModelsReport:
    """Run every enabled model as of ``as_of`` (default: today in ``settings.timezone``).

    The models are those registered with ``pm`` (default: the process's plugin
    manager); ``config`` defaults to ``settings.models_config`` read for them.

    ``incremental=True`` rebuilds the kept order tables only for records whose
    rows or identity changed since the last run and checks the points ledger
    only for those orders and orders reached since the last as-of date; every
    model is then scored for all customers from those tables (quintiles, tiers,
    CLV and clusters are relative to the whole population), so the outcome
    equals a full run. Without usable state it falls back to a full rebuild and
    says so in ``warnings``.

    Raises :class:`~guanxi.errors.NotFoundError` when identity tables are
    missing and :class:`ConfigError` for an invalid models file, wrongly
    declared models, or settings a model refuses for ``as_of`` (an RFM
    reference date after it) — those before anything is read or written. A CLV
    or portrait fit that cannot be made (too little history) is skipped with a
    warning, not an error.

    ``progress`` is told each step as it starts: ``preparing inputs``, then each
    enabled model (message = the model's name, in run order), then ``writing
    outputs``; ``done`` counts finished steps out of ``len(enabled) + 2``, and a
    last ``(total, total, "done")`` follows the write. It does not change the results.
    """
    definitions = declared_models(pm)
    config = config or load_models_config(settings, pm)
    started_at = datetime.now(settings.zone).replace(tzinfo=None)
    as_of = as_of or started_at.date()
    sections = {d.name: _section(config, d) for d in definitions}
    enabled = tuple(d for d in definitions if d.enabled(sections[d.name]))
    for d in enabled:
        if d.check is not None:
            d.check(sections[d.name], as_of)
    run_key = uuid.uuid4().hex[:12]
    run_id = f"{as_of:%Y%m%d}-{run_key}"
    report = ModelsReport(run_id=run_id, as_of=as_of)
    steps = _steps(enabled, progress)
    steps.start(INPUTS_STEP)
    ensure_outputs(con, definitions)
    clock = time.perf_counter()
    with Workspace(con, run_key) as ws:
        _run(
            con,
            settings,
            ws,
            config,
            report,
            _Plan(definitions, enabled, sections),
            steps,
            started_at=started_at,
            incremental=incremental,
        )
        report.timings = {name: round(seconds, 3) for name, seconds in ws.timings.items()}
    report.seconds = round(time.perf_counter() - clock, 3)
    steps.finish("done")
    return report


def _steps(enabled: tuple[ModelDefinition[Any], ...], progress: Progress | None) -> Steps:
    """Inputs, one step per enabled model (keyed apart from the other two, labelled with its name), write."""
    models = {f"model:{d.name}": d.name for d in enabled}
    labels = {INPUTS_STEP: "preparing inputs", WRITE_STEP: "writing outputs", **models}
    return Steps((INPUTS_STEP, *models, WRITE_STEP), progress, labels)


@dataclass(frozen=True)
class _Plan:
    """The run's models: all declared (for the tables' columns), those enabled, each one's config section."""

    definitions: tuple[ModelDefinition[Any], ...]
    enabled: tuple[ModelDefinition[Any], ...]
    sections: dict[str, Any]


def _section(config: ModelsConfig, definition: ModelDefinition[Any]) -> Any:
    if definition.config is None:
        return None
    section = config.section(definition.config.key)
    if not isinstance(section, definition.config.model):
        raise ConfigError(
            f"models.yaml section {definition.config.key!r} is a {type(section).__name__}, "
            f"but model {definition.name!r} expects {definition.config.model.__name__}"
        )
    return section


def _run(
    con: BaseBackend,
    settings: Settings,
    ws: Workspace,
    config: ModelsConfig,
    report: ModelsReport,
    plan: _Plan,
    steps: Steps,
    *,
    started_at: datetime,
    incremental: bool,
) -> None:
    as_of = report.as_of
    end = inputs.cutoff(as_of)
    identity_map = inputs.table(con, "identity_map")
    customers = ws.keep("customers", inputs.table(con, "customers").select("customer_id", "province"))
    with ws.timed("order_tables"):
        refreshed = intermediates.refresh(con, ws.keep, incremental=incremental)
    report.incremental = not refreshed.full
    report.refreshed_records, report.refreshed_customers = refreshed.records, refreshed.customers
    if incremental and refreshed.full:
        report.warnings.append(refreshed.reason)
    orders = inputs.orders_before(intermediates.orders(con), end)
    bought = inputs.purchases(orders)  # filters over the kept orders: cheaper to re-read than to copy
    kept_items = intermediates.items(con)
    shared = RunInputs(
        customers=customers,
        orders=orders,
        bought=bought,
        days=ws.keep("purchase_days", purchase_days(bought)),
        items=kept_items.filter(kept_items.paid_at < end).drop("source", "order_id"),
        events=inputs.customer_events(inputs.table(con, "raw_events"), identity_map, before=end),
        tickets=inputs.customer_tickets(inputs.table(con, "raw_tickets"), identity_map, before=end),
        identity_map=identity_map,
    )
    previous_date = latest_snapshot_date(con, as_of)
    snapshots = con.table(SNAPSHOTS_TABLE)
    previous = snapshots.filter(snapshots.as_of == previous_date) if previous_date else snapshots.limit(0)
    run = RunContext[Any](
        con=con,
        ws=ws,
        settings=settings,
        as_of=as_of,
        run_id=report.run_id,
        started_at=started_at,
        inputs=shared,
        models_config=config,
        report=report,
        refresh=refreshed,
        previous_run=_last_run(con, as_of) if not refreshed.full else None,
        previous=ws.keep("previous", previous),
        previous_date=previous_date,
        config=None,
    )

    parts: dict[str, ir.Table] = {}
    for d in plan.enabled:
        steps.start(f"model:{d.name}")
        table = d.compute(run.for_model(d, plan.sections[d.name], parts))
        if table is not None:
            parts[d.name] = _checked(d, table)

    steps.start(WRITE_STEP)
    scores_spec, snapshots_spec = declared_tables(plan.definitions)
    this_run = ws.keep("scores", _scores(run, plan, parts, scores_spec))  # read by the writes below
    with ws.timed("write_scores"):
        con.insert(SCORES_TABLE, this_run)
    with ws.timed("write_snapshot"):
        portable.delete_where(con, SNAPSHOTS_TABLE, as_of=as_of)
        con.insert(SNAPSHOTS_TABLE, conform(this_run, snapshots_spec))
    for d in plan.enabled:
        if d.after_write is not None:
            d.after_write(run.for_model(d, plan.sections[d.name], parts, own=True), this_run)

    with ws.timed("report"):
        report.customers = int(this_run.count().execute())
    report.timings.update(ws.timings)
    _record_run(con, report, started_at, settings, config)
    intermediates.commit(con, refreshed)


def _checked(definition: ModelDefinition[Any], table: ir.Table) -> ir.Table:
    """``table`` if it has ``customer_id`` and every declared column (else a :class:`ConfigError`)."""
    missing = [c for c in ("customer_id", *definition.columns) if c not in table.columns]
    if missing:
        raise ConfigError(
            f"model {definition.name!r} returned a table without the column(s) {', '.join(missing)}"
        )
    return table


def _scores(run: RunContext[Any], plan: _Plan, parts: dict[str, ir.Table], spec: TableSpec) -> ir.Table:
    """Every customer with each model's declared columns (left joins), ``fill`` applied, stamped with the run."""
    scores = run.customers.select("customer_id")
    filled: dict[str, Any] = {}
    for d in plan.enabled:
        part = parts.get(d.name)
        if part is None:
            continue
        scores = scores.left_join(part.select("customer_id", *d.columns), "customer_id").drop(
            "customer_id_right"
        )
        filled.update(d.fill)
    stamp = {
        "run_id": ibis.literal(run.run_id),
        "as_of": ibis.literal(run.as_of),
        **{c: ibis.coalesce(scores[c], ibis.literal(v, type=spec.columns[c])) for c, v in filled.items()},
    }
    return conform(scores.mutate(**stamp), spec)


def _last_run(con: BaseBackend, as_of: date) -> PreviousRun | None:
    """The latest completed run with its configuration, if it was not for a later date than ``as_of``.

    Incremental steps build on that run's outputs; with None they redo all the work.
    """
    runs = con.table(MODEL_RUNS.name)
    latest = runs.order_by(ibis.desc(runs.started_at)).limit(1).to_pyarrow().to_pylist()
    if not latest:
        return None
    last_as_of, last_report = latest[0]["as_of"], json.loads(latest[0]["report"] or "{}")
    if not isinstance(last_as_of, date) or last_as_of > as_of:
        return None
    return PreviousRun(last_as_of, dict(last_report.get("config", {})))


def _record_run(
    con: BaseBackend, report: ModelsReport, started_at: datetime, settings: Settings, config: ModelsConfig
) -> None:
    finished_at = datetime.now(settings.zone).replace(tzinfo=None)
    payload: dict[str, Any] = json.loads(report.to_json())
    payload["config"] = config.model_dump(mode="json")
    row = ibis.memtable(
        {
            "run_id": [report.run_id],
            "as_of": [report.as_of],
            "started_at": [started_at],
            "finished_at": [finished_at],
            "customers": [report.customers],
            "report": [json.dumps(payload, ensure_ascii=False)],
        },
        schema=MODEL_RUNS.schema,
    )
    con.insert(MODEL_RUNS.name, row)
    keep = config.output.keep_runs
    if keep is not None:
        runs = con.table(MODEL_RUNS.name)
        recent = runs.order_by(ibis.desc(runs.started_at), ibis.desc(runs.run_id)).limit(keep).run_id
        kept = [str(r) for r in recent.to_pandas()]
        portable.delete_except(con, SCORES_TABLE, "run_id", kept)
