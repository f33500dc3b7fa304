"""The journey-step queue: one row per step a customer is due to take in a journey.

A step run is scheduled once per ``(journey, customer, step index)`` — its
idempotency key is ``<journey>:<customer>:<step>`` and :func:`schedule_step`
never adds a second row for it. Workers claim due runs with the same lease,
retry and dead-letter mechanics as the outbox (:mod:`guanxi.appdb.leasing`),
look up the handler for the run's ``kind`` and commit the handler's effects
(outbox messages, follow-up steps) together with the run's ``done`` state in one
transaction: a run whose worker dies is run again after its lease expires, and
because every effect is idempotent on its key the customer still gets each
message and each next step once.

States: ``pending``, ``running`` (leased), ``done``, ``failed`` (waiting for a
retry), ``dead``.

Step kinds enter through the ``register_journey_steps`` hook as :class:`StepKind`
values (the built-ins from :mod:`guanxi.marketing.plugin`, exactly as a plugin
adds its own); :func:`registered_step_kinds` collects them. Built-in kinds
(payload keys in brackets):

* ``send`` — renders ``subject``, ``body`` and ``to`` (the recipient) with the
  customer's ``contact`` data and enqueues an outbox message on ``channel`` with
  the key ``journey:<journey>:<customer>:<step>``; then schedules ``next`` at once.
* ``wait`` — schedules ``next`` at this run's ``due_at`` + ``delay_seconds``.
* ``exit`` — ends the customer's journey (no follow-up).

``next`` is a step spec ``{"index", "name", "kind", "payload"}``. Journey
definitions, triggers and branches build on :func:`schedule_step` and new step
kinds; the queue itself knows no journey structure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pluggy
from ibis.backends import BaseBackend
from pydantic import BaseModel
from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from guanxi.appdb.base import Base, UTCDateTime
from guanxi.appdb.leasing import LeasedWork, LeaseQueue, QueueStates, insert_once
from guanxi.config import Settings
from guanxi.errors import ConfigError
from guanxi.marketing import outbox
from guanxi.marketing.errors import StepKindUnknownError, StepPayloadError
from guanxi.marketing.templates import render
from guanxi.plugins import collect, plugin_manager

STATES = QueueStates(claimed="running", done="done")
"""pending, running, done, failed, dead."""


class JourneyStepRun(LeasedWork, Base):
    """One step of one journey for one customer, due at ``due_at``."""

    __tablename__ = "journey_step_runs"
    __table_args__ = (Index("ix_journey_step_runs_due", "state", "next_attempt_at"),)

    journey_key: Mapped[str] = mapped_column(String(128), index=True)
    customer_id: Mapped[str] = mapped_column(String(128))
    enrollment_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    """The journey enrollment the step belongs to (:mod:`guanxi.marketing.journeys`); None for bare steps."""
    step_index: Mapped[int] = mapped_column(Integer)
    step_name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    """The worker that ran the step to its end."""
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """What the handler did: ``sent``, ``waited``, ``exited`` …"""

    def __repr__(self) -> str:
        return f"JourneyStepRun(key={self.idempotency_key!r}, kind={self.kind!r}, state={self.state!r})"


def step_key(journey_key: str, customer_id: str, step_index: int, enrollment_id: int | None = None) -> str:
    """The idempotency key of a step run: ``journey:customer:step``, with ``@enrollment`` for an enrollment's."""
    key = f"{journey_key}:{customer_id}:{step_index}"
    return key if enrollment_id is None else f"{key}@{enrollment_id}"


def message_key(journey_key: str, customer_id: str, step_index: int, enrollment_id: int | None = None) -> str:
    """The outbox idempotency key of the message a ``send`` step enqueues."""
    return "journey:" + step_key(journey_key, customer_id, step_index, enrollment_id)


@dataclass(frozen=True)
class StepSpec:
    """A step to schedule: where it sits in its journey, what it does, with what."""

    index: int
    name: str
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: object) -> StepSpec:
        """A spec from its JSON form; raises StepPayloadError when malformed."""
        if not isinstance(spec, Mapping):
            raise StepPayloadError(f"a step spec must be an object, got {type(spec).__name__}")
        try:
            index, name, kind = int(spec["index"]), str(spec["name"]), str(spec["kind"])
        except (KeyError, TypeError, ValueError) as err:
            raise StepPayloadError(f"a step spec needs index, name and kind: {err!r}") from err
        payload = spec.get("payload", {})
        if not isinstance(payload, Mapping):
            raise StepPayloadError("a step spec's payload must be an object")
        return cls(index=index, name=name, kind=kind, payload=dict(payload))


@dataclass(frozen=True)
class FollowUp:
    step: StepSpec
    due_at: datetime


@dataclass(frozen=True)
class StepResult:
    """What a handler did (``outcome``) and which steps come next.

    ``recheck_at`` (journey steps only) asks for the same step to run again
    then — a wait for an event looks again until it happens or times out —
    instead of finishing it.
    """

    outcome: str
    follow_ups: tuple[FollowUp, ...] = ()
    recheck_at: datetime | None = None


@dataclass(frozen=True)
class StepContext:
    """What a handler is given.

    ``warehouse``, ``settings``, ``journey`` (the enrollment's
    :class:`~guanxi.marketing.journeys.runtime.Frame`) and ``facts`` (what the
    kind's ``prepare`` found for this run) are set for journey steps, which run
    in the process owning the warehouse; they are None for bare queue steps.
    """

    session: Session
    now: datetime
    worker_id: str
    warehouse: BaseBackend | None = None
    settings: Settings | None = None
    journey: Any = None
    facts: Any = None


StepHandler = Callable[[StepContext, JourneyStepRun], StepResult]
"""Runs one step in the caller's transaction; raises a MarketingError to fail it."""

StepPrepare = Callable[[StepContext, Sequence[JourneyStepRun]], Mapping[int, Any]]
"""Reads (and, idempotently, writes) the warehouse once for a batch of runs of one kind: run id → facts."""

StepExits = Callable[[Any], list[tuple[str, str | None]]]
"""The named ways out of a configured step: ``(label, target step name or None for "the next one")``."""


def _one_exit(config: Any) -> list[tuple[str, str | None]]:
    return [("next", getattr(config, "next", None))]


KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
"""A step kind: lower-case letters, digits and ``_``, at most 32 characters (the ``kind`` column)."""


@dataclass(frozen=True)
class StepKind:
    """A journey step kind as a plugin declares it, returned from the ``register_journey_steps`` hook.

    ``handler`` runs one step of this kind inside the worker's transaction: it
    must not commit, and every effect it has must be idempotent on a key
    derived from the run (a step is run again after a crash). It returns what
    it did and the steps that follow; it raises a
    :class:`~guanxi.marketing.errors.MarketingError` to fail the step (permanent
    ones make it dead at once), any other exception to have it retried.
    Raises ConfigError at construction when ``kind`` is not a valid name
    (:data:`KIND_PATTERN`).
    """

    kind: str
    handler: StepHandler
    description: str = ""
    """One line saying what a step of this kind does, for listings and docs."""
    config: type[BaseModel] | None = None
    """The step's fields in a journey definition (a pydantic model); None: not usable in definitions."""
    exits: StepExits = _one_exit
    """Where a configured step may lead, for validation and the journey diagram."""
    prepare: StepPrepare | None = None
    """Batch warehouse work before a batch of this kind's journey steps run (see :data:`StepPrepare`)."""
    terminal: bool = False
    """A step after which the customer's journey ends (``exit``): nothing follows it."""

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or KIND_PATTERN.fullmatch(self.kind) is None:
            raise ConfigError(
                f"{self.kind!r} is not a step kind: lower-case letters, digits and _, at most 32 characters"
            )


def registered_step_kinds(pm: pluggy.PluginManager | None = None) -> dict[str, StepKind]:
    """Every step kind registered through ``register_journey_steps``, by kind, built-ins first.

    ``pm`` defaults to the process's plugin manager. Raises ConfigError when two
    plugins define the same kind.
    """
    manager = pm or plugin_manager()
    found: dict[str, StepKind] = collect(
        manager.hook.register_journey_steps, what="journey step kind", name=lambda k: k.kind, pm=manager
    )
    return found


def step_kinds(kinds: Iterable[StepKind]) -> dict[str, StepKind]:
    """``kinds`` indexed by kind, for an explicit set (tests, embedding); raises ConfigError on a repeated kind."""
    table: dict[str, StepKind] = {}
    for kind in kinds:
        if kind.kind in table:
            raise ConfigError(f"two journey step kinds are named {kind.kind!r}")
        table[kind.kind] = kind
    return table


def step_queue(settings: Settings) -> LeaseQueue[JourneyStepRun]:
    """The step queue's lease and retry policy (the ``outbox_*`` settings apply to both queues)."""
    return LeaseQueue.from_settings(JourneyStepRun, STATES, settings)


def schedule_step(
    session: Session,
    *,
    journey_key: str,
    customer_id: str,
    step: StepSpec,
    due_at: datetime,
    now: datetime,
    enrollment_id: int | None = None,
) -> JourneyStepRun:
    """Schedule ``step`` for a customer at ``due_at``; idempotent on ``journey:customer:step[@enrollment]``.

    Returns the stored run — an existing one unchanged when the step was
    scheduled before.
    """
    values = {
        "journey_key": journey_key,
        "customer_id": customer_id,
        "enrollment_id": enrollment_id,
        "step_index": step.index,
        "step_name": step.name,
        "kind": step.kind,
        "payload": dict(step.payload),
        "due_at": due_at,
        "idempotency_key": step_key(journey_key, customer_id, step.index, enrollment_id),
        "state": STATES.pending,
        "attempts": 0,
        "next_attempt_at": due_at,
        "created_at": now,
    }
    return insert_once(session, JourneyStepRun, JourneyStepRun.idempotency_key, values)


def _next(run: JourneyStepRun, due_at: datetime) -> tuple[FollowUp, ...]:
    spec = run.payload.get("next")
    if spec is None:
        return ()
    return (FollowUp(StepSpec.parse(spec), due_at),)


def _text(payload: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = payload.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise StepPayloadError(f"a send step needs {key!r} as a non-empty string")
    return value


def send_step(context: StepContext, run: JourneyStepRun) -> StepResult:
    """Render the message for the customer's contact data and enqueue it in the outbox."""
    payload = run.payload
    channel = _text(payload, "channel")
    contact = payload.get("contact", {})
    if not isinstance(contact, Mapping):
        raise StepPayloadError("a send step's 'contact' must be an object")
    variables = {
        "contact": dict(contact),
        "customer_id": run.customer_id,
        "journey": run.journey_key,
        "step": run.step_name,
    }
    recipient = render(_text(payload, "to"), variables).strip()
    if not recipient:
        raise StepPayloadError(f"the recipient of step {run.idempotency_key!r} rendered empty")
    outbox.enqueue(
        context.session,
        channel=channel,
        recipient=recipient,
        subject=render(_text(payload, "subject", required=False), variables),
        body=render(_text(payload, "body"), variables),
        payload={"journey": run.journey_key, "customer_id": run.customer_id, "step": run.step_name},
        idempotency_key=message_key(run.journey_key, run.customer_id, run.step_index),
        now=context.now,
    )
    return StepResult("sent", _next(run, run.due_at))


def wait_step(context: StepContext, run: JourneyStepRun) -> StepResult:
    """Schedule the next step ``delay_seconds`` after this step was due."""
    delay = run.payload.get("delay_seconds")
    if not isinstance(delay, int | float) or isinstance(delay, bool) or delay < 0:
        raise StepPayloadError("a wait step needs 'delay_seconds' as a number ≥ 0")
    return StepResult("waited", _next(run, run.due_at + timedelta(seconds=delay)))


def exit_step(context: StepContext, run: JourneyStepRun) -> StepResult:
    """End the journey for this customer."""
    return StepResult("exited")


def run_step(
    context: StepContext,
    queue: LeaseQueue[JourneyStepRun],
    run: JourneyStepRun,
    kinds: Mapping[str, StepKind] | None = None,
) -> bool:
    """Run one claimed step and schedule its follow-ups, in the caller's transaction.

    ``kinds`` is the lookup table of step kinds (by kind); when None, the
    kinds registered on the process's plugin manager, collected on each call
    (a worker collects once and passes them). Returns False when the lease had
    been lost (another worker runs the step; the caller rolls back). Raises
    StepKindUnknownError (permanent) listing the known kinds when the run's kind
    is not among them, and whatever the handler raises.
    """
    table = registered_step_kinds() if kinds is None else kinds
    step_kind = table.get(run.kind)
    if step_kind is None:
        known = ", ".join(sorted(table)) or "none"
        raise StepKindUnknownError(f"no handler for journey step kind {run.kind!r} (known: {known})")
    result = step_kind.handler(context, run)
    for follow_up in result.follow_ups:
        schedule_step(
            context.session,
            journey_key=run.journey_key,
            customer_id=run.customer_id,
            step=follow_up.step,
            due_at=follow_up.due_at,
            now=context.now,
        )
    return queue.finish(
        context.session,
        run,
        context.worker_id,
        finished_at=context.now,
        finished_by=context.worker_id,
        outcome=result.outcome,
        last_error=None,
    )
