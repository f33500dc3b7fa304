"""Running journeys: customers enter on their trigger, take their steps, leave on the goal.

One pass (:func:`run_pass`, the ``journeys`` service in the process that owns
the warehouse, every ``journeys_seconds``) does three things, each safe to
repeat after a crash:

1. **Enter.** For each active journey, its trigger is evaluated for the window
   ``[cursor, now)`` (the first window starts at activation: nothing before it
   enters). Each ``(customer, occurrence)`` found enters once — the enrollment is
   unique on ``(journey, customer, occurrence)`` — unless the audience, the
   active dates or the re-entry rule keep them out; a seeded hash of
   ``(journey, customer)`` puts ``control_share`` of them in the control group
   (recorded, never messaged; the same customers on every run). The first step
   of each new enrollment is scheduled at the occasion's time, and the cursor
   moves to ``now`` — all in one transaction, so a crashed pass re-runs its
   window and adds nothing twice.
2. **Goals.** Enrollments still in a journey with a goal (or a stop
   condition) are checked in the warehouse in one query per journey and kind;
   those that reached it leave (``goal``; ``exited`` for the stop condition):
   their pending steps are finished with that outcome and their unsent
   messages withdrawn.
3. **Steps.** Due steps of enrollments are claimed in batches under the step
   queue's lease. Per batch: the goal is checked once more for the batch's
   enrollments (a step never runs after the goal was reached); each step kind
   with a ``prepare`` reads the warehouse once for all its runs; then each
   step runs and commits on its own with everything it scheduled. A step is
   keyed ``journey:customer:index@enrollment`` and every effect on a key derived
   from it, so a worker killed mid-journey and restarted takes each step once.

Times: the app database keeps aware UTC times; the warehouse naive wall-clock
times in ``Settings.timezone`` (converted at the boundary here).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import pluggy
import pyarrow as pa
from pydantic import BaseModel
from sqlalchemy import and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from guanxi.config import Settings
from guanxi.errors import GuanxiError
from guanxi.jobs.kinds import JobContext
from guanxi.marketing import outbox
from guanxi.marketing.channels import registered_channels
from guanxi.marketing.errors import StepPayloadError, is_permanent
from guanxi.marketing.journey_steps import (
    FollowUp,
    JourneyStepRun,
    StepContext,
    StepKind,
    StepResult,
    StepSpec,
    registered_step_kinds,
    schedule_step,
    step_key,
    step_queue,
)
from guanxi.marketing.journeys import tables as t
from guanxi.marketing.journeys.definition import (
    Catalogue,
    JourneyDefinition,
    StepRef,
    configured,
    exits_of,
)
from guanxi.marketing.journeys.goals import GoalContext, registered_goals
from guanxi.marketing.measurement.holdout import held_out, journey_scope
from guanxi.marketing.triggers import registered_triggers

log = logging.getLogger(__name__)

MAX_BATCHES = 20
"""Step batches one pass runs at most (a pass is bounded; the next one goes on)."""


def catalogue(pm: pluggy.PluginManager | None = None, settings: Settings | None = None) -> Catalogue:
    """The step kinds, triggers, goals and channels registered on ``pm`` (the process's by default).

    With ``settings``, definitions are checked against them too (holiday names against the calendar).
    """
    return Catalogue(
        steps=registered_step_kinds(pm),
        triggers=registered_triggers(pm),
        goals=registered_goals(pm),
        channels=frozenset(registered_channels(pm)),
        settings=settings,
    )


def local(moment: datetime, settings: Settings) -> datetime:
    """``moment`` as the warehouse writes times: naive wall-clock in ``Settings.timezone``."""
    return moment.astimezone(settings.zone).replace(tzinfo=None)


def aware(moment: datetime, settings: Settings) -> datetime:
    """A warehouse time (naive, ``Settings.timezone``) as an aware UTC time."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    return moment.replace(tzinfo=settings.zone).astimezone(UTC)


def in_control(journey_key: str, customer_id: str, share: float) -> bool:
    """Whether the customer is held out of the journey (:mod:`guanxi.marketing.measurement.holdout`)."""
    return held_out(journey_scope(journey_key), customer_id, share)


class Definitions:
    """Parsed definitions by (journey, version), read once per pass."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[tuple[str, int], JourneyDefinition] = {}

    def get(self, journey_key: str, version: int) -> JourneyDefinition:
        found = self.cache.get((journey_key, version))
        if found is None:
            row = self.session.execute(
                select(t.JourneyVersion.definition)
                .join(t.Journey, t.Journey.id == t.JourneyVersion.journey_id)
                .where(t.Journey.key == journey_key, t.JourneyVersion.version == version)
            ).scalar_one()
            found = JourneyDefinition.model_validate(row)
            self.cache[(journey_key, version)] = found
        return found


@dataclass
class Frame:
    """One step of one enrollment as a handler sees it (``StepContext.journey``)."""

    enrollment: t.JourneyEnrollment
    definition: JourneyDefinition
    step: StepRef
    config: BaseModel
    kind: StepKind
    kinds: Mapping[str, StepKind]

    @property
    def journey_key(self) -> str:
        return self.enrollment.journey_key

    def spec(self, name: str) -> StepSpec:
        """The step spec of step ``name`` of this enrollment's version."""
        step = self.definition.step(name)
        return StepSpec(
            index=self.definition.index_of(name),
            name=name,
            kind=step.kind,
            payload={"version": self.enrollment.version},
        )

    def follow(self, label: str = "next", *, due_at: datetime) -> tuple[FollowUp, ...]:
        """The follow-up along the exit ``label`` at ``due_at`` (none after the last step)."""
        for name, target in exits_of(self.step, self.config, self.definition, self.kind):
            if name == label:
                return () if target is None else (FollowUp(self.spec(target), due_at),)
        raise StepPayloadError(f"step {self.step.name!r} has no exit {label!r}")


def frame_of(context: StepContext) -> Frame:
    """The journey frame of a step context; StepPayloadError for a bare queue step."""
    if not isinstance(context.journey, Frame):
        raise StepPayloadError("this step kind runs only inside a journey")
    return context.journey


# --- entering -------------------------------------------------------------------------------


def _insert(session: Session, model: Any, rows: list[dict[str, Any]], conflict: list[str]) -> Any:
    statement = (
        postgresql.insert(model) if session.get_bind().dialect.name == "postgresql" else sqlite.insert(model)
    )
    return session.execute(statement.values(rows).on_conflict_do_nothing(index_elements=conflict))


def _entries(
    context: JobContext,
    journey: t.Journey,
    definition: JourneyDefinition,
    catalogue: Catalogue,
    until: datetime,
) -> pa.Table | None:
    since = journey.cursor or journey.activated_at or until
    if since >= until:
        return None
    trigger = catalogue.triggers[definition.trigger.kind]
    zone = context.settings.zone
    table = trigger.entries(
        context.warehouse,
        since=since.astimezone(zone),
        until=until.astimezone(zone),
        params=definition.trigger.params,
        settings=context.settings,
    )
    if definition.audience is not None:
        from guanxi.marketing.journeys.audience import segment_members  # noqa: PLC0415 - segments load on use

        with context.sessions() as session:
            members = segment_members(
                context.warehouse,
                session,
                segment=definition.audience.segment,
                spec=definition.audience.spec,
                as_of=until.astimezone(zone).date(),
            )
        keyed = members.select(customer_id=members.customer_id.cast("string"))
        table = table.semi_join(keyed, "customer_id")
    return table.to_pyarrow()


def _allowed(
    session: Session,
    journey_key: str,
    definition: JourneyDefinition,
    rows: list[dict[str, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    """``rows`` the re-entry rule and the active dates let in, one per customer for ``once`` rules."""
    reentry = definition.reentry
    active = definition.active
    kept = [
        row
        for row in rows
        if (active.start is None or row["day"] >= active.start)
        and (active.until is None or row["day"] <= active.until)
    ]
    if reentry.mode == "every_time":
        return kept
    last: dict[str, datetime] = {}
    customers = sorted({row["customer_id"] for row in kept})
    for start in range(0, len(customers), 1000):
        chunk = customers[start : start + 1000]
        for customer, entered in session.execute(
            select(t.JourneyEnrollment.customer_id, t.JourneyEnrollment.entered_at).where(
                t.JourneyEnrollment.journey_key == journey_key, t.JourneyEnrollment.customer_id.in_(chunk)
            )
        ):
            if customer not in last or entered > last[customer]:
                last[customer] = entered
    allowed = []
    for row in sorted(kept, key=lambda r: (r["at"], r["occurrence_key"])):
        previous = last.get(row["customer_id"])
        if previous is not None and (
            reentry.mode == "once" or row["at"] - previous < timedelta(days=reentry.days or 0)
        ):
            continue
        last[row["customer_id"]] = row["at"]
        allowed.append(row)
    return allowed


def enter(
    context: JobContext, journey: t.Journey, definition: JourneyDefinition, catalogue: Catalogue
) -> int:
    """Evaluate ``journey``'s trigger up to ``context.now`` and enrol who it finds; returns how many entered."""
    now = context.now
    found = _entries(context, journey, definition, catalogue, now)
    rows: list[dict[str, Any]] = []
    if found is not None:
        for entry in found.to_pylist():
            occurred = entry.get("entered_at")
            at = aware(occurred, context.settings) if occurred is not None else now
            at = min(at, now)
            rows.append(
                {
                    "customer_id": str(entry["customer_id"]),
                    "occurrence_key": str(entry["occurrence_key"])[:128],
                    "at": at,
                    "day": at.astimezone(context.settings.zone).date(),
                }
            )
    entered = 0
    with context.sessions() as session, session.begin():
        stored = session.get(t.Journey, journey.id, with_for_update=True)
        if stored is None or stored.status != t.ACTIVE or stored.cursor != journey.cursor:
            return 0  # changed meanwhile (paused, or another pass moved the cursor): the next pass decides
        allowed = _allowed(session, journey.key, definition, rows, now)
        first = definition.steps[0]
        spec = StepSpec(index=0, name=first.name, kind=first.kind, payload={"version": journey.version})
        for start in range(0, len(allowed), 1000):
            chunk = allowed[start : start + 1000]
            values = [
                {
                    "journey_key": journey.key,
                    "version": journey.version,
                    "customer_id": row["customer_id"],
                    "occurrence_key": row["occurrence_key"],
                    "occurred_at": row["at"],
                    "entered_at": now,
                    "control": in_control(journey.key, row["customer_id"], definition.control_share),
                    "state": t.IN_JOURNEY,
                    "step": first.name,
                }
                for row in chunk
            ]
            for value in values:
                if value["control"]:
                    value["state"], value["step"] = t.CONTROL, None
            _insert(session, t.JourneyEnrollment, values, ["journey_key", "customer_id", "occurrence_key"])
            new = session.execute(
                select(
                    t.JourneyEnrollment.id,
                    t.JourneyEnrollment.customer_id,
                    t.JourneyEnrollment.occurred_at,
                    t.JourneyEnrollment.control,
                ).where(
                    t.JourneyEnrollment.journey_key == journey.key,
                    t.JourneyEnrollment.entered_at == now,
                    t.JourneyEnrollment.customer_id.in_([row["customer_id"] for row in chunk]),
                )
            ).all()
            runs = [
                _run_values(journey.key, customer, int(eid), spec, due_at=occurred or now, now=now)
                for eid, customer, occurred, control in new
                if not control
            ]
            if runs:
                _insert(session, JourneyStepRun, runs, ["idempotency_key"])
            entered += len(new)
        stored.cursor = now
        stored.last_error = None
    return entered


def _run_values(
    journey_key: str, customer_id: str, enrollment_id: int, spec: StepSpec, *, due_at: datetime, now: datetime
) -> dict[str, Any]:
    return {
        "journey_key": journey_key,
        "customer_id": customer_id,
        "enrollment_id": enrollment_id,
        "step_index": spec.index,
        "step_name": spec.name,
        "kind": spec.kind,
        "payload": dict(spec.payload),
        "due_at": due_at,
        "idempotency_key": step_key(journey_key, customer_id, spec.index, enrollment_id),
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": due_at,
        "created_at": now,
    }


# --- goals ----------------------------------------------------------------------------------


def _reached(
    context: JobContext,
    session: Session,
    definition: JourneyDefinition,
    catalogue: Catalogue,
    enrollments: Sequence[t.JourneyEnrollment],
) -> dict[int, str]:
    """Enrollment id → ``goal`` or ``exited`` for those of ``enrollments`` (one journey's) that leave now.

    The goal is checked first (one warehouse query), then the stop condition for
    the others (one more); an enrollment that reached both leaves as ``goal``.
    """
    refs = [(ref, state) for ref, state in ((definition.goal, t.GOAL), (definition.stop, t.EXITED)) if ref]
    if not refs or not enrollments:
        return {}
    table = ibis.memtable(
        pa.table(
            {
                "enrollment_id": pa.array([e.id for e in enrollments], pa.int64()),
                "customer_id": pa.array([e.customer_id for e in enrollments], pa.string()),
                "occurrence_key": pa.array([e.occurrence_key for e in enrollments], pa.string()),
                "entered_at": pa.array(
                    [local(e.occurred_at or e.entered_at, context.settings) for e in enrollments],
                    pa.timestamp("us"),
                ),
            }
        )
    )
    goal_context = GoalContext(
        context.warehouse, context.settings, session, context.now.astimezone(context.settings.zone).date()
    )
    leaving: dict[int, str] = {}
    for ref, state in refs:
        goal = catalogue.goals.get(ref.kind)
        if goal is None:
            continue
        found = goal.reached(goal_context, table, ref.params).to_pyarrow()
        for value in found.column("enrollment_id").to_pylist():
            leaving.setdefault(int(value), state)
    return leaving


def _leave(session: Session, leaving: Mapping[int, str], now: datetime) -> int:
    """End each enrollment of ``leaving`` in its state; returns how many ended."""
    ended = 0
    for state in (t.GOAL, t.EXITED):
        ids = [enrollment for enrollment, wanted in leaving.items() if wanted == state]
        if ids:
            ended += end_enrollments(session, ids, state, now)
    return ended


def end_enrollments(session: Session, ids: Iterable[int], state: str, now: datetime) -> int:
    """End the enrollments ``ids`` in ``state``: pending steps finished, unsent messages withdrawn."""
    chosen = sorted(set(ids))
    ended = 0
    for start in range(0, len(chosen), 500):
        chunk = chosen[start : start + 500]
        ended += int(
            session.execute(  # type: ignore[attr-defined]
                update(t.JourneyEnrollment)
                .where(t.JourneyEnrollment.id.in_(chunk), t.JourneyEnrollment.state == t.IN_JOURNEY)
                .values(state=state, ended_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
        )
        session.execute(
            update(JourneyStepRun)
            .where(JourneyStepRun.enrollment_id.in_(chunk), JourneyStepRun.state.in_(["pending", "failed"]))
            .values(state="done", outcome=state, finished_at=now, finished_by="journeys")
            .execution_options(synchronize_session=False)
        )
        keys = session.execute(
            select(
                JourneyStepRun.journey_key,
                JourneyStepRun.customer_id,
                JourneyStepRun.step_index,
                JourneyStepRun.enrollment_id,
            ).where(JourneyStepRun.enrollment_id.in_(chunk))
        ).all()
        message_keys = ["journey:" + step_key(j, c, i, e) for j, c, i, e in keys]
        for position in range(0, len(message_keys), 500):
            session.execute(
                update(outbox.OutboxMessage)
                .where(
                    outbox.OutboxMessage.idempotency_key.in_(message_keys[position : position + 500]),
                    outbox.OutboxMessage.state.in_(
                        [outbox.STATES.pending, outbox.STATES.failed, outbox.HELD]
                    ),
                )
                .values(state=outbox.CANCELLED, last_error=f"journey ended: {state}")
                .execution_options(synchronize_session=False)
            )
    return ended


def sweep_goals(context: JobContext, catalogue: Catalogue, *, chunk: int = 50_000) -> int:
    """Take every customer who reached their journey's goal out of it; returns how many left."""
    left = 0
    with context.sessions() as session:
        definitions = Definitions(session)
        journeys = list(session.scalars(select(t.Journey).where(t.Journey.status.in_([t.ACTIVE, t.PAUSED]))))
        for journey in journeys:
            last_id = 0
            while True:
                batch = list(
                    session.scalars(
                        select(t.JourneyEnrollment)
                        .where(
                            t.JourneyEnrollment.journey_key == journey.key,
                            t.JourneyEnrollment.state == t.IN_JOURNEY,
                            t.JourneyEnrollment.id > last_id,
                        )
                        .order_by(t.JourneyEnrollment.id)
                        .limit(chunk)
                    )
                )
                if not batch:
                    break
                last_id = batch[-1].id
                by_version: dict[int, list[t.JourneyEnrollment]] = {}
                for enrollment in batch:
                    by_version.setdefault(enrollment.version, []).append(enrollment)
                reached: dict[int, str] = {}
                for version, group in by_version.items():
                    reached.update(
                        _reached(context, session, definitions.get(journey.key, version), catalogue, group)
                    )
                if reached:
                    left += _leave(session, reached, context.now)
                    session.commit()
    return left


# --- steps ----------------------------------------------------------------------------------


@dataclass
class PassStats:
    entered: int = 0
    goals: int = 0
    steps: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.entered + self.goals + self.steps + self.failed


def _claim(session: Session, settings: Settings, worker_id: str, now: datetime) -> list[JourneyStepRun]:
    queue = step_queue(settings)
    active = select(t.Journey.key).where(t.Journey.status == t.ACTIVE)
    return queue.claim(
        session,
        worker_id,
        settings.journeys_batch,
        now,
        where=and_(JourneyStepRun.enrollment_id.is_not(None), JourneyStepRun.journey_key.in_(active)),
    )


def run_due_steps(context: JobContext, catalogue: Catalogue, stats: PassStats) -> int:
    """Claim and run due journey steps, batch after batch (at most :data:`MAX_BATCHES`); returns how many ran."""
    worker_id = f"journeys:{context.owner or 'pass'}"
    queue = step_queue(context.settings)
    ran = 0
    rng = random.Random()  # noqa: S311 - retry jitter, not a secret
    for _ in range(MAX_BATCHES):
        with context.sessions() as session:
            runs = _claim(session, context.settings, worker_id, context.now)
            session.commit()
            if not runs:
                break
            ran += _run_batch(context, session, catalogue, queue, runs, worker_id, stats, rng)
    return ran


def _run_batch(
    context: JobContext,
    session: Session,
    catalogue: Catalogue,
    queue: Any,
    runs: list[JourneyStepRun],
    worker_id: str,
    stats: PassStats,
    rng: random.Random,
) -> int:
    now = context.now
    definitions = Definitions(session)
    enrollments = {
        e.id: e
        for e in session.scalars(
            select(t.JourneyEnrollment).where(t.JourneyEnrollment.id.in_({r.enrollment_id for r in runs}))
        )
    }
    by_journey: dict[tuple[str, int], list[t.JourneyEnrollment]] = {}
    for enrollment in enrollments.values():
        if enrollment.state == t.IN_JOURNEY:
            by_journey.setdefault((enrollment.journey_key, enrollment.version), []).append(enrollment)
    reached: dict[int, str] = {}
    for (key, version), members in by_journey.items():
        reached.update(_reached(context, session, definitions.get(key, version), catalogue, members))
    if reached:
        _leave(session, reached, now)
        session.commit()
        for enrollment_id in reached:
            session.refresh(enrollments[enrollment_id])
    frames: dict[int, Frame] = {}
    live: list[JourneyStepRun] = []
    for run in runs:
        found = enrollments.get(run.enrollment_id or -1)
        if found is None or found.state != t.IN_JOURNEY:
            queue.finish(session, run, worker_id, finished_at=now, finished_by=worker_id, outcome="skipped")
            continue
        definition = definitions.get(found.journey_key, found.version)
        step = definition.step(run.step_name)
        kind = catalogue.steps[step.kind]
        frames[run.id] = Frame(
            found, definition, step, configured(step, catalogue.steps), kind, catalogue.steps
        )
        live.append(run)
    session.commit()
    facts: dict[int, Any] = {}
    by_kind: dict[str, list[JourneyStepRun]] = {}
    for run in live:
        by_kind.setdefault(frames[run.id].kind.kind, []).append(run)
    for kind_name, group in by_kind.items():
        kind = catalogue.steps[kind_name]
        if kind.prepare is None:
            continue
        base = StepContext(session, now, worker_id, context.warehouse, context.settings, frames)
        try:
            facts.update(kind.prepare(base, group))
        except GuanxiError as err:
            for run in group:
                _fail(session, queue, run, worker_id, now, err, stats, rng)
            live = [run for run in live if run not in group]
        session.commit()
    for run in live:
        frame = frames[run.id]
        step_context = StepContext(
            session, now, worker_id, context.warehouse, context.settings, frame, facts.get(run.id)
        )
        try:
            result = frame.kind.handler(step_context, run)
            _settle(session, queue, run, frame, result, worker_id, now)
            session.commit()
            stats.steps += 1
        except Exception as err:  # a failing step must not stop the others; it is retried or dead
            session.rollback()
            _fail(session, queue, run, worker_id, now, err, stats, rng)
    return len(runs)


def _fail(
    session: Session,
    queue: Any,
    run: JourneyStepRun,
    worker_id: str,
    now: datetime,
    err: Exception,
    stats: PassStats,
    rng: random.Random,
) -> None:
    code = err.code if isinstance(err, GuanxiError) else type(err).__name__
    state = queue.fail(session, run, worker_id, now=now, error=str(err), permanent=is_permanent(err), rng=rng)
    session.commit()
    stats.failed += 1
    stats.errors.append(f"{run.idempotency_key}: {code}")
    log.warning("journey step %s failed (%s), now %s", run.idempotency_key, code, state or "taken over")


def _settle(
    session: Session,
    queue: Any,
    run: JourneyStepRun,
    frame: Frame,
    result: StepResult,
    worker_id: str,
    now: datetime,
) -> None:
    enrollment = frame.enrollment
    if result.recheck_at is not None and not result.follow_ups:
        queue.settle(
            session,
            run,
            worker_id,
            "pending",
            next_attempt_at=result.recheck_at,
            attempts=max(run.attempts - 1, 0),
            outcome=result.outcome,
        )
        return
    for follow_up in result.follow_ups:
        schedule_step(
            session,
            journey_key=run.journey_key,
            customer_id=run.customer_id,
            step=follow_up.step,
            due_at=follow_up.due_at,
            now=now,
            enrollment_id=enrollment.id,
        )
    if not queue.finish(
        session, run, worker_id, finished_at=now, finished_by=worker_id, outcome=result.outcome
    ):
        raise StepPayloadError(f"step {run.idempotency_key} was taken over by another worker")
    values: dict[str, Any] = {}
    if result.follow_ups:
        values["step"] = result.follow_ups[0].step.name
    else:
        values.update(state=t.EXITED if frame.kind.terminal else t.COMPLETED, ended_at=now)
    session.execute(
        update(t.JourneyEnrollment)
        .where(t.JourneyEnrollment.id == enrollment.id, t.JourneyEnrollment.state == t.IN_JOURNEY)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


# --- the pass -------------------------------------------------------------------------------


def enter_all(context: JobContext, catalogue: Catalogue, stats: PassStats) -> None:
    with context.sessions() as session:
        journeys = list(session.scalars(select(t.Journey).where(t.Journey.status == t.ACTIVE)))
        definitions = Definitions(session)
        pairs = [(journey, definitions.get(journey.key, journey.version)) for journey in journeys]
        session.expunge_all()
    for journey, definition in pairs:
        try:
            stats.entered += enter(context, journey, definition, catalogue)
        except GuanxiError as err:
            stats.errors.append(f"{journey.key}: {err.code}: {err.message}")
            log.warning("journey %s: trigger pass failed: %s", journey.key, err.message)
            with context.sessions() as session, session.begin():
                session.execute(
                    update(t.Journey).where(t.Journey.id == journey.id).values(last_error=err.message[:2000])
                )


def run_pass(context: JobContext, pm: pluggy.PluginManager | None = None) -> PassStats:
    """One pass: enter, leave on goals, run due steps (see the module docstring)."""
    found = catalogue(pm, context.settings)
    stats = PassStats()
    enter_all(context, found, stats)
    stats.goals += sweep_goals(context, found)
    run_due_steps(context, found, stats)
    return stats


def service_pass(context: JobContext) -> int:
    """The ``journeys`` service: :func:`run_pass`; returns the items handled."""
    return run_pass(context).handled
