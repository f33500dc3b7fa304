"""``/v1/journeys``: journey definitions (as versions), their status per step, recipes, controls, and one
customer's journeys.

Reading needs ``view``; creating, saving, validating and the controls need
``edit`` (and, through ``/v1``, an API key). A definition is sent as ``text``
(the YAML or JSON the editor holds, comments kept) or as a ``definition``
object; an invalid one answers ``422 validation_failed`` whose message lists
every ``path: problem``; ``POST /v1/journeys/validate`` returns the problems as
a list instead. A control the journey's status does not allow answers
``409 journey_state``. Times are UTC.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, model_validator

from guanxi.marketing.journeys import service
from guanxi.marketing.journeys import tables as jt
from guanxi.marketing.journeys.recipes import find_recipe, registered_recipes
from guanxi.marketing.journeys.runtime import catalogue
from guanxi.web.auth import CanEdit, CanView
from guanxi.web.state import DbSession, State
from guanxi.web.ui.journeys import check_text

router = APIRouter(tags=["journeys"])
KEY = f"^{service.KEY_PATTERN.pattern}$"
JourneyKey = Annotated[str, Path(pattern=KEY)]


class CountsPublic(BaseModel):
    entered: int = Field(description="every enrollment, the control group included")
    active: int = Field(description="still in the journey (在途)")
    completed: int
    exited: int
    goal: int
    control: int
    stopped: int
    goal_rate: float | None = Field(description="goal / (entered − control); null before anyone entered")

    @classmethod
    def of(cls, counts: service.Counts) -> CountsPublic:
        return cls(
            entered=counts.entered,
            active=counts.active,
            completed=counts.completed,
            exited=counts.exited,
            goal=counts.goal,
            control=counts.control,
            stopped=counts.stopped,
            goal_rate=counts.goal_rate,
        )


class JourneyPublic(BaseModel):
    key: str
    name: str
    status: str = Field(description="draft, active, paused or archived")
    version: int
    recipe: str | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    activated_at: datetime | None
    last_error: str | None
    counts: CountsPublic

    @classmethod
    def of(cls, row: jt.Journey, counts: service.Counts) -> JourneyPublic:
        fields = {name: getattr(row, name) for name in cls.model_fields if name != "counts"}
        return cls(**fields, counts=CountsPublic.of(counts))


class ExitPublic(BaseModel):
    label: str = Field(description="next, then, else, on_event, on_timeout or a variant's name")
    target: str | None = Field(description="the step it leads to; null ends the journey")


class StepPublic(BaseModel):
    index: int
    name: str
    kind: str
    label: str
    here: int = Field(description="customers in the journey whose current step this is")
    waiting: int = Field(description="runs due or in progress (pending, running, failed to retry)")
    done: int
    dead: int
    outcomes: dict[str, int]
    exits: list[ExitPublic]


class VersionPublic(BaseModel):
    version: int
    created_at: datetime
    created_by: str


class JourneyDetail(JourneyPublic):
    definition: dict[str, Any]
    source: str = Field(description="the newest version's text as its author wrote it")
    steps: list[StepPublic]
    versions: list[VersionPublic]


class RecipePublic(BaseModel):
    key: str
    name_zh: str
    name_en: str
    summary: str
    family: str
    text: str


class JourneyCreate(BaseModel):
    """Exactly one of ``text``, ``definition`` or ``recipe``; ``key`` is required unless installing a recipe."""

    key: str | None = Field(None, pattern=KEY)
    text: str | None = Field(None, max_length=200_000)
    definition: dict[str, Any] | None = None
    recipe: str | None = Field(
        None, max_length=64, description="a recipe's key or its Chinese or English name"
    )

    @model_validator(mode="after")
    def _one_source(self) -> JourneyCreate:
        given = [v for v in (self.text, self.definition, self.recipe) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of text, definition or recipe")
        if self.recipe is None and self.key is None:
            raise ValueError("key is required unless installing a recipe")
        return self


class JourneyText(BaseModel):
    """Exactly one of ``text`` (YAML or JSON) or ``definition``."""

    text: str | None = Field(None, max_length=200_000)
    definition: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> JourneyText:
        if (self.text is None) == (self.definition is None):
            raise ValueError("give exactly one of text or definition")
        return self

    def source(self) -> str:
        if self.text is not None:
            return self.text
        return json.dumps(self.definition, ensure_ascii=False, indent=2)


class ProblemPublic(BaseModel):
    path: str = Field(description="where in the definition: steps.2.hours, trigger.params.minutes …")
    message: str


class ValidationPublic(BaseModel):
    valid: bool
    problems: list[ProblemPublic]


class Activate(BaseModel):
    catch_up: bool = Field(False, description="resuming: also the occasions of the paused time")


class ControlResult(BaseModel):
    journey: JourneyPublic
    stopped: int = Field(description="customers stopped (archive); 0 otherwise")


class StepHistoryPublic(BaseModel):
    name: str
    kind: str
    state: str = Field(description="pending, running, done, failed or dead")
    outcome: str | None
    due_at: datetime
    finished_at: datetime | None


class EnrollmentPublic(BaseModel):
    journey_key: str
    journey_name: str
    version: int
    occurrence_key: str
    state: str = Field(description="active, completed, exited, goal, control or stopped")
    control: bool
    step: str | None = Field(description="the step the customer is at (the last one scheduled)")
    variant: str | None
    occurred_at: datetime | None
    entered_at: datetime
    ended_at: datetime | None
    steps: list[StepHistoryPublic]


def _public(session: DbSession, row: jt.Journey) -> JourneyPublic:
    return JourneyPublic.of(row, service.counts_by_journey(session, [row.key])[row.key])


@router.get("/journeys", summary="List journeys")
def journey_list(principal: CanView, session: DbSession) -> list[JourneyPublic]:
    """Every journey, newest first, with its enrollments by state."""
    rows = service.list_journeys(session)
    counts = service.counts_by_journey(session, [row.key for row in rows])
    return [JourneyPublic.of(row, counts[row.key]) for row in rows]


@router.get("/journeys/recipes", summary="List journey recipes")
def recipe_list(principal: CanView) -> list[RecipePublic]:
    """The recipes a journey can be installed from, in the order a shop usually sets them up."""
    return [
        RecipePublic(
            key=r.key, name_zh=r.name_zh, name_en=r.name_en, summary=r.summary, family=r.family, text=r.text
        )
        for r in registered_recipes().values()
    ]


@router.post("/journeys", status_code=201, summary="Create a journey")
def create_journey(
    body: JourneyCreate, principal: CanEdit, session: DbSession, state: State
) -> JourneyPublic:
    """A draft, version 1, from ``text`` or ``definition`` under ``key``, or installed from ``recipe``
    (key: the recipe's, ``_`` written ``-``, unless given); 409 when the key is taken."""
    cat = catalogue(settings=state.settings)
    if body.recipe is not None:
        recipe = find_recipe(body.recipe, registered_recipes())
        row = service.install_recipe(
            session, recipe, actor=principal.actor, now=state.clock(), catalogue=cat, key=body.key
        )
    else:
        assert body.key is not None
        text = JourneyText(text=body.text, definition=body.definition).source()
        row = service.save_journey(
            session, body.key, text, actor=principal.actor, now=state.clock(), catalogue=cat, create=True
        )
    session.commit()
    return _public(session, row)


@router.post("/journeys/validate", summary="Validate a definition without saving it")
def validate(body: JourneyText, principal: CanEdit, state: State) -> ValidationPublic:
    """Every problem of the definition with its path (an empty list: it would save); nothing is written."""
    _, problems = check_text(body.source(), catalogue(settings=state.settings))
    return ValidationPublic(
        valid=not problems, problems=[ProblemPublic(path=p, message=m) for p, m in problems]
    )


@router.get("/journeys/{key}", summary="One journey with its steps")
def journey(key: JourneyKey, principal: CanView, session: DbSession, state: State) -> JourneyDetail:
    """The newest definition and its text, counts by state, each step's runs and ways out, the versions."""
    found = service.status(session, key, catalogue(settings=state.settings))
    row = found.journey
    return JourneyDetail(
        **JourneyPublic.of(row, found.counts).model_dump(),
        definition=found.definition.model_dump(mode="json", by_alias=True, exclude_none=True),
        source=service.source_of(session, row),
        steps=[
            StepPublic(
                index=s.index,
                name=s.name,
                kind=s.kind,
                label=s.label,
                here=s.here,
                waiting=s.waiting,
                done=s.done,
                dead=s.dead,
                outcomes=dict(s.outcomes),
                exits=[ExitPublic(label=label, target=target) for label, target in s.exits],
            )
            for s in found.steps
        ],
        versions=[
            VersionPublic(version=v.version, created_at=v.created_at, created_by=v.created_by)
            for v in service.versions(session, row)
        ],
    )


@router.put("/journeys/{key}", summary="Save a new version")
def update_journey(
    key: JourneyKey, body: JourneyText, principal: CanEdit, session: DbSession, state: State
) -> JourneyPublic:
    """The next version (an unchanged definition keeps the version); customers in it stay on theirs.
    404 for an unknown key, 409 for an archived journey."""
    row = service.save_journey(
        session,
        key,
        body.source(),
        actor=principal.actor,
        now=state.clock(),
        catalogue=catalogue(settings=state.settings),
        create=False,
    )
    session.commit()
    return _public(session, row)


@router.post("/journeys/{key}/activate", summary="Activate a draft or resume a paused journey")
def activate(
    key: JourneyKey, principal: CanEdit, session: DbSession, state: State, body: Activate | None = None
) -> ControlResult:
    row = service.activate(
        session, key, actor=principal.actor, now=state.clock(), catch_up=body.catch_up if body else False
    )
    session.commit()
    return ControlResult(journey=_public(session, row), stopped=0)


@router.post("/journeys/{key}/pause", summary="Pause an active journey")
def pause(key: JourneyKey, principal: CanEdit, session: DbSession, state: State) -> ControlResult:
    row = service.pause(session, key, actor=principal.actor, now=state.clock())
    session.commit()
    return ControlResult(journey=_public(session, row), stopped=0)


@router.post("/journeys/{key}/archive", summary="Archive a journey for good")
def archive(key: JourneyKey, principal: CanEdit, session: DbSession, state: State) -> ControlResult:
    """Customers still in it leave as ``stopped`` and their unsent messages are withdrawn."""
    stopped = service.archive(session, key, actor=principal.actor, now=state.clock())
    session.commit()
    return ControlResult(journey=_public(session, service.get_journey(session, key)), stopped=stopped)


@router.get("/customers/{customer_id}/journeys", summary="One customer's journeys")
def customer_journeys(
    customer_id: Annotated[str, Path(min_length=1, max_length=128)], principal: CanView, session: DbSession
) -> list[EnrollmentPublic]:
    """The customer's enrollments, the newest entry first (at most 50), each with its steps as due."""
    return [
        EnrollmentPublic(
            journey_key=h.enrollment.journey_key,
            journey_name=h.journey_name,
            version=h.enrollment.version,
            occurrence_key=h.enrollment.occurrence_key,
            state=h.enrollment.state,
            control=h.enrollment.control,
            step=h.enrollment.step,
            variant=h.enrollment.variant,
            occurred_at=h.enrollment.occurred_at,
            entered_at=h.enrollment.entered_at,
            ended_at=h.enrollment.ended_at,
            steps=[
                StepHistoryPublic(
                    name=s.name,
                    kind=s.kind,
                    state=s.state,
                    outcome=s.outcome,
                    due_at=s.due_at,
                    finished_at=s.finished_at,
                )
                for s in h.steps
            ],
        )
        for h in service.customer_history(session, customer_id)
    ]
