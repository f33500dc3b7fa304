"""One model run: every model as of a date, written to the output tables.

:func:`run_models` brings the kept order tables up to date
(:mod:`~guanxi.models.intermediates`: in full, or only for changed records with
``incremental=True``), materialises the shared per-run intermediates once
(purchase days), runs
each model as a ``Table → Table`` expression, and writes:

* ``customer_scores`` — one wide row per customer in ``customers`` for this run;
* ``score_snapshots`` — the labels for the as-of date (a re-run replaces them);
* ``lifecycle_transitions`` and ``tier_changes`` — against the latest earlier
  snapshot (a re-run for the same date replaces that date's rows);
* ``points_ledger`` — new entries only (idempotent per order, event, expiry date);
* ``customer_tags`` — the current preference and credit tags (replaced);
* ``portrait_clusters`` and ``model_runs`` — one row per cluster / per run.

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
from ibis.backends import BaseBackend

from guanxi import portable
from guanxi.config import Settings
from guanxi.errors import ConfigError
from guanxi.models import (
    clv,
    credit,
    engagement,
    inputs,
    intermediates,
    lifecycle,
    points,
    portrait,
    preference,
    quadrant,
    rfm,
    tiers,
    value,
)
from guanxi.models.bgnbd import FitError
from guanxi.models.config import ModelsConfig, load_models_config
from guanxi.models.outputs import (
    CUSTOMER_SCORES,
    CUSTOMER_TAGS,
    LIFECYCLE_TRANSITIONS,
    MODEL_RUNS,
    POINTS_LEDGER,
    PORTRAIT_CLUSTERS,
    SCORE_SNAPSHOTS,
    TIER_CHANGES,
    conform,
    delete_runs_except,
    delete_where,
    ensure_outputs,
)
from guanxi.models.workspace import Workspace


@dataclass
class ModelsReport:
    """What a run did: counts, fitted parameters, wall time and per-step timings (seconds), warnings.

    Step timings may overlap (``ledger`` includes its ``ledger_*`` batches).
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
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        return json.dumps(data, ensure_ascii=False, default=str)


def latest_snapshot_date(con: BaseBackend, before: date) -> date | None:
    """The latest snapshot date strictly before ``before`` (None if there is none)."""
    snaps = con.table(SCORE_SNAPSHOTS.name)
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
) -> ModelsReport:
    """Run every enabled model as of ``as_of`` (default: today in ``settings.timezone``).

    ``incremental=True`` rebuilds the kept order tables only for records whose
    rows or identity changed since the last run and checks the points ledger
    only for those orders and orders reached since the last as-of date; every
    model is then scored for all customers from those tables (quintiles, tiers,
    CLV and clusters are relative to the whole population), so the outcome
    equals a full run. Without usable state it falls back to a full rebuild and
    says so in ``warnings``.

    Raises :class:`~guanxi.errors.NotFoundError` when identity tables are
    missing and :class:`ConfigError` for an invalid models file or an RFM
    reference date after ``as_of``. A CLV or portrait fit that cannot be made
    (too little history) is skipped with a warning, not an error.
    """
    config = config or load_models_config(settings)
    started_at = datetime.now(settings.zone).replace(tzinfo=None)
    as_of = as_of or started_at.date()
    reference = config.rfm.reference_date or as_of
    if reference > as_of:
        raise ConfigError(f"rfm.reference_date {reference} is after the run's as-of date {as_of}")
    run_key = uuid.uuid4().hex[:12]
    run_id = f"{as_of:%Y%m%d}-{run_key}"
    report = ModelsReport(run_id=run_id, as_of=as_of)
    ensure_outputs(con)
    clock = time.perf_counter()
    with Workspace(con, run_key) as ws:
        _run(
            con,
            settings,
            ws,
            config,
            report,
            started_at=started_at,
            reference=reference,
            incremental=incremental,
        )
        report.timings = {name: round(seconds, 3) for name, seconds in ws.timings.items()}
    report.seconds = round(time.perf_counter() - clock, 3)
    return report


def _run(
    con: BaseBackend,
    settings: Settings,
    ws: Workspace,
    config: ModelsConfig,
    report: ModelsReport,
    *,
    started_at: datetime,
    reference: date,
    incremental: bool,
) -> None:
    as_of, run_id = report.as_of, report.run_id
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
    days = ws.keep("purchase_days", engagement.purchase_days(bought))
    kept_items = intermediates.items(con)
    items = kept_items.filter(kept_items.paid_at < end).drop("source", "order_id")
    events = inputs.customer_events(inputs.table(con, "raw_events"), identity_map, before=end)
    tickets = inputs.customer_tickets(inputs.table(con, "raw_tickets"), identity_map, before=end)

    parts: dict[str, ir.Table] = {}
    parts["rfm"] = ws.keep("rfm", rfm.rfm_scores(bought, reference_date=reference, config=config.rfm))
    parts["value"] = ws.keep(
        "value",
        value.value_scores(
            value.contribution(bought, items, as_of=as_of, config=config.value), config=config.value
        ),
    )
    parts["loyalty"] = ws.keep("loyalty", engagement.loyalty_scores(days, as_of=as_of, config=config.loyalty))
    parts["activity"] = ws.keep(
        "activity", engagement.activity_scores(bought, events, as_of=as_of, config=config.activity)
    )
    rhythm = lifecycle.purchase_rhythm(days, as_of=as_of)
    parts["lifecycle"] = ws.keep(
        "lifecycle", lifecycle.lifecycle_stages(customers, rhythm, as_of=as_of, config=config.lifecycle)
    )
    parts["quadrant"] = ws.keep(
        "quadrant", quadrant.quadrant_groups(bought, as_of=as_of, config=config.quadrant)
    )
    if config.clv.enabled:
        parts.update(_clv(ws, days, config, report))
    parts["credit"] = ws.keep(
        "credit", credit.credit_scores(customers, orders, tickets, as_of=as_of, config=config.credit)
    )
    last_run = _last_run(con, as_of) if not refreshed.full else None
    tag_scope = None
    same_preference = last_run is not None and last_run.config.get(
        "preference"
    ) == config.preference.model_dump(mode="json")
    if last_run is not None and same_preference and refreshed.changed_customers is not None:
        moved = preference.changed_customers(
            intermediates.orders(con),
            since=last_run.as_of,
            as_of=as_of,
            window_days=config.preference.window_days,
        )
        tag_scope = ws.keep("tag_scope", ibis.union(refreshed.changed_customers, moved, distinct=True))
    tags = ws.keep(
        "tags",
        preference.preference_tags(bought, items, as_of=as_of, config=config.preference, customers=tag_scope),
    )
    with ws.timed("write_tags"):
        _preference_tags(con, ws, tags, tag_scope, as_of, run_id)
    parts["top_category"] = ws.keep("top_category", preference.top_category(_current_tags(con, "preference")))

    previous_date = latest_snapshot_date(con, as_of)
    ledger_orders, ledger_since = orders, None
    if refreshed.orders is not None and config.points.enabled and last_run is not None:
        if last_run.config.get("points") == config.points.model_dump(mode="json"):
            ledger_since = last_run.as_of
        if ledger_since is not None:
            ledger_orders = ws.keep(
                "ledger_candidates", _ledger_candidates(orders, refreshed.orders, ledger_since)
            )
    snapshots = con.table(SCORE_SNAPSHOTS.name)
    previous = snapshots.filter(snapshots.as_of == previous_date) if previous_date else snapshots.limit(0)
    previous = ws.keep("previous", previous)
    ledger = con.table(POINTS_LEDGER.name)
    if config.points.enabled:
        with ws.timed("ledger"):
            report.ledger_entries = points.update_ledger(
                con,
                ledger_orders,
                bought,
                events,
                as_of=as_of,
                config=config.points,
                run_id=run_id,
                recorded_at=started_at,
                keep=ws.keep,
                since=ledger_since,
            )
        parts["points"] = ws.keep("balances", points.balances(con.table(POINTS_LEDGER.name), identity_map))
    if config.tiers.enabled:
        amounts = tiers.qualifying_amounts(bought, ledger, as_of=as_of, config=config.tiers)
        parts["tiers"] = ws.keep(
            "tiers", tiers.member_tiers(customers, amounts, previous, as_of=as_of, config=config.tiers)
        )
    if config.portrait.enabled:
        parts.update(_portrait(con, ws, bought, customers, parts["top_category"], settings, config, report))

    scores = customers.select("customer_id")
    for part in parts.values():
        scores = scores.left_join(part, "customer_id").drop("customer_id_right")
    scores = scores.mutate(
        run_id=ibis.literal(run_id),
        as_of=ibis.literal(as_of),
        value_score=ibis.coalesce(scores.value_score, 0.0),
        activity_score=ibis.coalesce(scores.activity_score, 0.0),
    )
    scores = scores.mutate(
        value_activity=engagement.two_factor_group(
            scores.value_score, scores.activity_score, config.activity.high_score
        )
    )
    this_run = ws.keep("scores", conform(scores, CUSTOMER_SCORES))  # read by the writes below
    with ws.timed("write_scores"):
        con.insert(CUSTOMER_SCORES.name, this_run)

    with ws.timed("write_snapshot"):
        delete_where(con, SCORE_SNAPSHOTS, as_of=as_of)
        con.insert(SCORE_SNAPSHOTS.name, conform(this_run, SCORE_SNAPSHOTS))
    with ws.timed("write_transitions"):
        report.lifecycle_transitions = _transitions(con, this_run, previous, previous_date, as_of, run_id)
        if config.tiers.enabled:
            report.tier_changes = _tier_changes(con, parts["tiers"], as_of, run_id)
    with ws.timed("write_tags"):
        _credit_tags(con, this_run, as_of, run_id)

    with ws.timed("report"):
        _summarise(report, this_run, parts["value"])
    report.timings.update(ws.timings)
    _record_run(con, report, started_at, settings, config)
    intermediates.commit(con, refreshed)


@dataclass(frozen=True)
class _LastRun:
    as_of: date
    config: dict[str, Any]


def _last_run(con: BaseBackend, as_of: date) -> _LastRun | None:
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
    return _LastRun(last_as_of, dict(last_report.get("config", {})))


def _ledger_candidates(orders: ir.Table, refreshed: ir.Table, since: date) -> ir.Table:
    """Orders whose ledger entries can have changed since the run as of ``since``.

    Those refreshed in this run, plus every order paid or delivered since the
    start of ``since`` (the cut-off moved past them).
    """
    start = datetime.combine(since, datetime.min.time())
    recent = orders.filter((orders.paid_at >= start) | (orders.delivered_at >= start))
    changed = orders.semi_join(refreshed, ["source", "order_id"])
    return ibis.union(recent, changed, distinct=True)


def _summarise(report: ModelsReport, this_run: ir.Table, values: ir.Table) -> None:
    summary = (
        this_run.aggregate(
            customers=this_run.count(), buyers=this_run.count(where=this_run.rfm_frequency.notnull())
        )
        .to_pandas()
        .iloc[0]
    )
    report.customers, report.buyers = int(summary.customers), int(summary.buyers or 0)
    share = value.pareto_customer_share(values).execute()
    report.pareto_customer_share = None if share is None or share != share else round(float(share), 4)
    segmented = this_run.filter(this_run.rfm_segment.notnull())
    segs = segmented.group_by("rfm_segment").aggregate(n=segmented.count())
    report.segments = {str(r.rfm_segment): int(r.n) for r in segs.to_pandas().itertuples()}


def _clv(ws: Workspace, days: ir.Table, config: ModelsConfig, report: ModelsReport) -> dict[str, ir.Table]:
    summary = ws.keep("clv_summary", clv.clv_summary(days, as_of=report.as_of))
    try:
        with ws.timed("clv_fit"):
            fit = clv.fit_clv(summary, config.clv)
    except FitError as err:
        report.warnings.append(f"clv skipped: {err.message}")
        return {}
    report.clv = {
        "r": fit.bgnbd.r,
        "alpha": fit.bgnbd.alpha,
        "a": fit.bgnbd.a,
        "b": fit.bgnbd.b,
        "p": fit.gamma_gamma.p,
        "q": fit.gamma_gamma.q,
        "gamma": fit.gamma_gamma.gamma,
        "customers": fit.customers,
        "repeat_customers": fit.repeat_customers,
        "distinct_summaries": fit.distinct_summaries,
    }
    return {"clv": ws.keep("clv", clv.clv_scores(summary, fit, config=config.clv))}


def _portrait(
    con: BaseBackend,
    ws: Workspace,
    bought: ir.Table,
    customers: ir.Table,
    top_categories: ir.Table,
    settings: Settings,
    config: ModelsConfig,
    report: ModelsReport,
) -> dict[str, ir.Table]:
    cfg = config.portrait
    features = ws.keep(
        "features", portrait.portrait_features(bought, as_of=report.as_of, window_days=cfg.window_days)
    )
    try:
        with ws.timed("portrait_fit"):
            model = portrait.fit_clusters(features, cfg)
    except FitError as err:
        report.warnings.append(f"portrait skipped: {err.message}")
        return {}
    assigned = portrait.assign_clusters(features, model)
    assigned = assigned.left_join(top_categories, "customer_id").drop("customer_id_right")
    assigned = assigned.left_join(customers, "customer_id").drop("customer_id_right")
    assigned = ws.keep("clusters", assigned)
    with ws.timed("portrait_describe"):
        described = portrait.describe_clusters(assigned, features, model, config=cfg, locale=settings.locale)
    report.clusters = described
    report.silhouette = round(model.silhouette, 4)
    labels = ibis.memtable(
        {
            "cluster": [int(str(d["cluster"])) for d in described],
            "cluster_label": [str(d["label"]) for d in described],
        },
        schema={"cluster": "int64", "cluster_label": "string"},
    )
    rows = ibis.memtable(
        [
            {
                "run_id": report.run_id,
                "as_of": report.as_of,
                "silhouette": model.silhouette,
                "monetary": d["monetary"],
                "frequency": d["frequency"],
                "recency_days": d["recency_days"],
                "average_order_value": d["average_order_value"],
                "discount_rate": d["discount_rate"],
                **{k: d[k] for k in ("cluster", "label", "customers", "top_category", "top_province")},
            }
            for d in described
        ],
        schema=PORTRAIT_CLUSTERS.schema,
    )
    con.insert(PORTRAIT_CLUSTERS.name, conform(rows, PORTRAIT_CLUSTERS))
    named = assigned.select("customer_id", "cluster").join(labels, "cluster")
    return {"portrait": ws.keep("portrait", named)}


def _transitions(
    con: BaseBackend,
    this_run: ir.Table,
    previous: ir.Table,
    previous_date: date | None,
    as_of: date,
    run_id: str,
) -> int:
    delete_where(con, LIFECYCLE_TRANSITIONS, as_of=as_of)
    if previous_date is None:
        return 0
    moved = lifecycle.stage_transitions(this_run, previous)
    rows = moved.select(
        "customer_id",
        from_stage=moved.from_value,
        to_stage=moved.to_value,
        from_as_of=ibis.literal(previous_date),
        as_of=ibis.literal(as_of),
        run_id=ibis.literal(run_id),
    )
    con.insert(LIFECYCLE_TRANSITIONS.name, conform(rows, LIFECYCLE_TRANSITIONS))
    written = con.table(LIFECYCLE_TRANSITIONS.name)
    return int(written.filter(written.as_of == as_of).count().execute())


def _tier_changes(con: BaseBackend, tier_table: ir.Table, as_of: date, run_id: str) -> int:
    delete_where(con, TIER_CHANGES, as_of=as_of)
    changed = tier_table.filter(tier_table.tier_change.notnull())
    rows = changed.select(
        "customer_id",
        from_tier=changed.previous_tier,
        to_tier=changed.member_tier,
        direction=changed.tier_change,
        as_of=ibis.literal(as_of),
        run_id=ibis.literal(run_id),
    )
    con.insert(TIER_CHANGES.name, conform(rows, TIER_CHANGES))
    written = con.table(TIER_CHANGES.name)
    return int(written.filter(written.as_of == as_of).count().execute())


def _preference_tags(
    con: BaseBackend, ws: Workspace, tags: ir.Table, scope: ir.Table | None, as_of: date, run_id: str
) -> None:
    """Write this run's preference tags: all of them, or those of ``scope`` plus every price band.

    With a scope the other customers' tags stay as the earlier run wrote them
    (with its run id and as-of date): they are what this run would compute.
    """
    stamp = {
        "run_id": ibis.literal(run_id),
        "as_of": ibis.literal(as_of),
        "model": ibis.literal("preference"),
    }
    if scope is None:
        delete_where(con, CUSTOMER_TAGS, model="preference")
    else:
        delete_where(con, CUSTOMER_TAGS, model="preference", tag="price_band")
        doomed = ws.keep("tag_doomed", scope.mutate(model=ibis.literal("preference")))
        portable.delete_matching(con, CUSTOMER_TAGS.name, doomed, ["customer_id", "model"])
    con.insert(CUSTOMER_TAGS.name, conform(tags.mutate(**stamp), CUSTOMER_TAGS))


def _current_tags(con: BaseBackend, model: str) -> ir.Table:
    tags = con.table(CUSTOMER_TAGS.name)
    return tags.filter(tags.model == model).select("customer_id", "tag", "value", "weight")


def _credit_tags(con: BaseBackend, this_run: ir.Table, as_of: date, run_id: str) -> None:
    """Replace the credit tags (a restriction per customer the marketing side must respect)."""
    restricted = this_run.filter(this_run.no_cash_coupon)
    rows = restricted.select(
        "customer_id",
        tag=ibis.literal("restriction"),
        value=ibis.literal("no_cash_coupon"),
        weight=restricted.refund_rate,
        model=ibis.literal("credit"),
        run_id=ibis.literal(run_id),
        as_of=ibis.literal(as_of),
    )
    delete_where(con, CUSTOMER_TAGS, model="credit")
    con.insert(CUSTOMER_TAGS.name, conform(rows, CUSTOMER_TAGS))


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
        delete_runs_except(con, CUSTOMER_SCORES, kept)
