"""Journeys service: save (as versions), install recipes, activate, pause, archive, status, customer history.

Every function works in the caller's session and never commits; each change is
audited. Rules:

* saving a definition validates everything at once
  (:class:`~guanxi.marketing.journeys.definition.JourneyInvalidError`) and, when
  it differs from the newest version, stores a new version; customers already in
  the journey stay on the version they entered, new ones take the newest;
* a journey can change while ``draft``, ``active`` or ``paused``; an
  ``archived`` one is read-only;
* **activate** starts evaluating the trigger from that moment (nothing that
  happened before enters); activating a paused journey resumes its customers'
  steps and, unless ``catch_up``, skips the occasions of the paused time;
* **pause** stops entries and steps (due steps wait, goals are still checked);
* **archive** ends it for good: customers still in it leave as ``stopped``, their
  unsent messages are withdrawn.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.appdb.audit import record
from guanxi.errors import AlreadyExistsError, NotFoundError, ValidationFailedError
from guanxi.marketing.journey_steps import JourneyStepRun
from guanxi.marketing.journeys import tables as t
from guanxi.marketing.journeys.definition import Catalogue, JourneyDefinition, load_text, parse_definition
from guanxi.marketing.journeys.recipes import Recipe
from guanxi.marketing.journeys.runtime import end_enrollments

KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
"""A journey key: lower-case letters, digits, ``_`` and ``-``, at most 64 characters."""


class JourneyStateError(ValidationFailedError):
    """The journey is not in a state that allows the action (HTTP 409)."""

    code = "journey_state"
    http_status = 409


def get_journey(session: Session, key: str) -> t.Journey:
    """The journey called ``key``; NotFoundError when there is none."""
    found = session.scalars(select(t.Journey).where(t.Journey.key == key)).first()
    if found is None:
        raise NotFoundError(f"no journey {key!r}")
    return found


def list_journeys(session: Session) -> list[t.Journey]:
    """Every journey, the newest first."""
    return list(session.scalars(select(t.Journey).order_by(t.Journey.id.desc())))


def version_of(session: Session, journey: t.Journey, version: int | None = None) -> t.JourneyVersion:
    """The stored version ``version`` of ``journey`` (its newest when None); NotFoundError when absent."""
    wanted = journey.version if version is None else version
    found = session.scalars(
        select(t.JourneyVersion).where(
            t.JourneyVersion.journey_id == journey.id, t.JourneyVersion.version == wanted
        )
    ).first()
    if found is None:
        raise NotFoundError(f"journey {journey.key!r} has no version {wanted}")
    return found


def versions(session: Session, journey: t.Journey) -> list[t.JourneyVersion]:
    """Every version of ``journey``, the newest first."""
    return list(
        session.scalars(
            select(t.JourneyVersion)
            .where(t.JourneyVersion.journey_id == journey.id)
            .order_by(t.JourneyVersion.version.desc())
        )
    )


def definition_of(session: Session, journey: t.Journey, version: int | None = None) -> JourneyDefinition:
    """The parsed definition of a version (the newest by default)."""
    return JourneyDefinition.model_validate(version_of(session, journey, version).definition)


def source_of(session: Session, journey: t.Journey, version: int | None = None) -> str:
    """The YAML of a version as its author wrote it (comments kept), or the definition written as YAML."""
    stored = version_of(session, journey, version)
    if stored.source.strip():
        return stored.source
    return yaml.safe_dump(stored.definition, allow_unicode=True, sort_keys=False)


def _parse(text: str, catalogue: Catalogue) -> tuple[JourneyDefinition, dict[str, Any]]:
    definition = parse_definition(load_text(text), catalogue)
    return definition, definition.model_dump(mode="json", by_alias=True, exclude_none=True)


def _check_key(key: str) -> None:
    if not KEY_PATTERN.fullmatch(key):
        raise ValidationFailedError(
            f"journey key {key!r}: use lower-case letters, digits, _ and -, at most 64 characters"
        )


def save_journey(
    session: Session,
    key: str,
    text: str,
    *,
    actor: str,
    now: datetime,
    catalogue: Catalogue,
    recipe: str | None = None,
    create: bool | None = None,
) -> t.Journey:
    """Create the journey ``key`` (a draft, version 1) or save ``text`` as its next version.

    ``text`` is YAML or JSON; raises JourneyInvalidError listing every problem
    with its path. An unchanged definition saves nothing. ``create=True`` refuses
    an existing key (AlreadyExistsError), ``create=False`` a missing one
    (NotFoundError); None does either. An archived journey cannot change
    (JourneyStateError).
    """
    _check_key(key)
    definition, stored = _parse(text, catalogue)
    journey = session.scalars(select(t.Journey).where(t.Journey.key == key)).first()
    if journey is None:
        if create is False:
            raise NotFoundError(f"no journey {key!r}")
        journey = t.Journey(
            key=key,
            name=definition.name,
            status=t.DRAFT,
            version=1,
            recipe=recipe,
            created_at=now,
            created_by=actor,
            updated_at=now,
        )
        session.add(journey)
        session.flush()
        session.add(
            t.JourneyVersion(
                journey_id=journey.id,
                version=1,
                definition=stored,
                source=text,
                created_at=now,
                created_by=actor,
            )
        )
        record(session, actor=actor, action="journey.create", target=key, now=now, detail={"recipe": recipe})
        return journey
    if create is True:
        raise AlreadyExistsError(f"a journey {key!r} exists already")
    if journey.status == t.ARCHIVED:
        raise JourneyStateError(f"journey {key!r} is archived and cannot change")
    if stored == version_of(session, journey).definition:
        return journey
    journey.version += 1
    journey.name, journey.updated_at = definition.name, now
    session.add(
        t.JourneyVersion(
            journey_id=journey.id,
            version=journey.version,
            definition=stored,
            source=text,
            created_at=now,
            created_by=actor,
        )
    )
    record(
        session,
        actor=actor,
        action="journey.update",
        target=key,
        now=now,
        detail={"version": journey.version},
    )
    return journey


def install_recipe(
    session: Session,
    recipe: Recipe,
    *,
    actor: str,
    now: datetime,
    catalogue: Catalogue,
    key: str | None = None,
) -> t.Journey:
    """Save ``recipe`` as a new draft journey (key: the recipe's unless given); AlreadyExistsError if taken."""
    return save_journey(
        session,
        key or recipe.key.replace("_", "-"),
        recipe.text,
        actor=actor,
        now=now,
        catalogue=catalogue,
        recipe=recipe.key,
        create=True,
    )


def activate(session: Session, key: str, *, actor: str, now: datetime, catch_up: bool = False) -> t.Journey:
    """Make a draft or paused journey ``active`` (see the module docstring); JourneyStateError otherwise."""
    journey = get_journey(session, key)
    if journey.status not in (t.DRAFT, t.PAUSED):
        raise JourneyStateError(f"journey {key!r} is {journey.status}: only a draft or paused one can start")
    if journey.activated_at is None:
        journey.activated_at = now
    if not catch_up or journey.cursor is None:
        journey.cursor = now
    resumed = journey.status == t.PAUSED
    journey.status, journey.updated_at, journey.last_error = t.ACTIVE, now, None
    record(
        session,
        actor=actor,
        action="journey.resume" if resumed else "journey.activate",
        target=key,
        now=now,
        detail={"version": journey.version, "catch_up": catch_up},
    )
    return journey


def pause(session: Session, key: str, *, actor: str, now: datetime) -> t.Journey:
    """Pause an active journey: no one enters, no step runs until it is activated again."""
    journey = get_journey(session, key)
    if journey.status != t.ACTIVE:
        raise JourneyStateError(f"journey {key!r} is {journey.status}: only an active one can pause")
    journey.status, journey.updated_at = t.PAUSED, now
    record(session, actor=actor, action="journey.pause", target=key, now=now)
    return journey


def archive(session: Session, key: str, *, actor: str, now: datetime) -> int:
    """Archive a journey for good; returns how many customers still in it were stopped."""
    journey = get_journey(session, key)
    if journey.status == t.ARCHIVED:
        raise JourneyStateError(f"journey {key!r} is archived already")
    ids = list(
        session.scalars(
            select(t.JourneyEnrollment.id).where(
                t.JourneyEnrollment.journey_key == key, t.JourneyEnrollment.state == t.IN_JOURNEY
            )
        )
    )
    stopped = end_enrollments(session, ids, t.STOPPED, now)
    journey.status, journey.updated_at = t.ARCHIVED, now
    record(session, actor=actor, action="journey.archive", target=key, now=now, detail={"stopped": stopped})
    return stopped


# --- status ---------------------------------------------------------------------------------


@dataclass
class Counts:
    """Enrollments of one journey by state; ``entered`` counts every one (the control group included)."""

    entered: int = 0
    active: int = 0
    completed: int = 0
    exited: int = 0
    goal: int = 0
    control: int = 0
    stopped: int = 0

    def add(self, state: str, count: int) -> None:
        self.entered += count
        setattr(self, state, getattr(self, state) + count)

    @property
    def treated(self) -> int:
        """Everyone who entered outside the control group."""
        return self.entered - self.control

    @property
    def goal_rate(self) -> float | None:
        """Share of the treated who reached the goal (None before anyone entered)."""
        return self.goal / self.treated if self.treated else None


def counts_by_journey(session: Session, keys: Sequence[str] | None = None) -> dict[str, Counts]:
    """:class:`Counts` per journey key (every journey with enrollments, or those of ``keys``), one query."""
    query = select(
        t.JourneyEnrollment.journey_key, t.JourneyEnrollment.state, func.count(t.JourneyEnrollment.id)
    ).group_by(t.JourneyEnrollment.journey_key, t.JourneyEnrollment.state)
    if keys is not None:
        query = query.where(t.JourneyEnrollment.journey_key.in_(list(keys)))
    found: dict[str, Counts] = {key: Counts() for key in keys or ()}
    for key, state, count in session.execute(query):
        found.setdefault(key, Counts()).add(state, int(count))
    return found


@dataclass
class StepStatus:
    """One step of the newest version with what its runs did."""

    index: int
    name: str
    kind: str
    label: str
    waiting: int = 0
    """Runs due or in progress (pending, leased, failed and to be retried)."""
    done: int = 0
    dead: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    here: int = 0
    """Customers in the journey whose current step this is."""
    exits: list[tuple[str, str | None]] = field(default_factory=list)
    """``(label, target step)`` of each way out; None ends the journey."""


@dataclass
class JourneyStatus:
    journey: t.Journey
    definition: JourneyDefinition
    counts: Counts
    steps: list[StepStatus]


def status(session: Session, key: str, catalogue: Catalogue) -> JourneyStatus:
    """Counts by state and, per step of the newest version, what its runs did (three grouped queries)."""
    from guanxi.marketing.journeys.definition import configured, exits_of  # noqa: PLC0415

    journey = get_journey(session, key)
    definition = definition_of(session, journey)
    counts = counts_by_journey(session, [key])[key]
    steps: dict[str, StepStatus] = {}
    for index, step in enumerate(definition.steps):
        kind = catalogue.steps.get(step.kind)
        exits = []
        if kind is not None and kind.config is not None:
            exits = exits_of(step, configured(step, catalogue.steps), definition, kind)
        steps[step.name] = StepStatus(index, step.name, step.kind, step.label or step.name, exits=exits)
    runs = session.execute(
        select(JourneyStepRun.step_name, JourneyStepRun.state, JourneyStepRun.outcome, func.count())
        .where(JourneyStepRun.journey_key == key, JourneyStepRun.enrollment_id.is_not(None))
        .group_by(JourneyStepRun.step_name, JourneyStepRun.state, JourneyStepRun.outcome)
    )
    for name, state, outcome, count in runs:
        found = steps.get(name)
        if found is None:
            continue  # a step of an older version only
        if state == "done":
            found.done += int(count)
            found.outcomes[outcome or "done"] += int(count)
        elif state == "dead":
            found.dead += int(count)
        else:
            found.waiting += int(count)
    here = session.execute(
        select(t.JourneyEnrollment.step, func.count())
        .where(t.JourneyEnrollment.journey_key == key, t.JourneyEnrollment.state == t.IN_JOURNEY)
        .group_by(t.JourneyEnrollment.step)
    )
    for current, count in here:
        if current in steps:
            steps[current].here = int(count)
    return JourneyStatus(journey, definition, counts, list(steps.values()))


# --- one customer ---------------------------------------------------------------------------


@dataclass
class StepHistory:
    name: str
    kind: str
    state: str
    outcome: str | None
    due_at: datetime
    finished_at: datetime | None


@dataclass
class EnrollmentHistory:
    enrollment: t.JourneyEnrollment
    journey_name: str
    steps: list[StepHistory]


def customer_history(session: Session, customer_id: str, *, limit: int = 50) -> list[EnrollmentHistory]:
    """The customer's journeys, the newest entry first, each with its steps in the order they were due."""
    rows = session.execute(
        select(t.JourneyEnrollment, t.Journey.name)
        .join(t.Journey, t.Journey.key == t.JourneyEnrollment.journey_key)
        .where(t.JourneyEnrollment.customer_id == str(customer_id))
        .order_by(t.JourneyEnrollment.entered_at.desc(), t.JourneyEnrollment.id.desc())
        .limit(limit)
    ).all()
    if not rows:
        return []
    by_enrollment: dict[int, list[StepHistory]] = {enrollment.id: [] for enrollment, _ in rows}
    runs = session.scalars(
        select(JourneyStepRun)
        .where(JourneyStepRun.enrollment_id.in_(list(by_enrollment)))
        .order_by(JourneyStepRun.due_at, JourneyStepRun.id)
    )
    for run in runs:
        by_enrollment[int(run.enrollment_id or 0)].append(
            StepHistory(run.step_name, run.kind, run.state, run.outcome, run.due_at, run.finished_at)
        )
    return [EnrollmentHistory(enrollment, name, by_enrollment[enrollment.id]) for enrollment, name in rows]
