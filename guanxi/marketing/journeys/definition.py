"""A journey as the user writes it: trigger → steps → exit goal, with re-entry rules and a control group.

The definition is plain data (YAML or JSON; the editor, the CLI and the API all
send it here). :func:`parse_definition` checks everything at once and raises
:class:`JourneyInvalidError` carrying every ``(path, problem)`` pair —
``steps.2.wait.hours: …``, ``trigger.params.minutes: …`` — so the editor can
show them all beside the text:

* the shape (this module's pydantic models);
* the trigger kind and its parameters (the kind's own params model), the goal
  kind and its parameters, each against what the plugins registered;
* each step's fields against its kind's ``config`` model, and every template in
  them compiled in the sandbox;
* the step graph: names unique, every target a step, no cycle (a customer takes
  each step at most once per entry, which is what makes a crashed worker's
  retry safe), every step reachable from the first.

A step is ``{name, kind, label?, next?, …fields of its kind}``; without
``next`` a step leads to the one after it in the list, and the journey ends
after the last (or at any target written ``end``). Steps that branch name their targets in their own fields
(``then``/``else``, ``variants[].next``, ``on_event``/``on_timeout``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from guanxi.config import Settings
from guanxi.errors import ValidationFailedError
from guanxi.marketing.errors import TemplateError
from guanxi.marketing.journey_steps import StepKind
from guanxi.marketing.templates import compile_template
from guanxi.marketing.triggers import TriggerKind

STEP_NAME = re.compile(r"[a-z0-9][a-z0-9_]{0,63}")
"""A step name: lower-case letters, digits and ``_``, at most 64 characters (it keys the step's runs)."""

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"

END = "end"
"""The target that ends the journey for the customer (``next: end``, ``else: end``): completed, not exited."""

Problem = tuple[str, str]
"""``(path, message)``: where in the definition, and what is wrong there."""


class JourneyInvalidError(ValidationFailedError):
    """A definition with problems; ``problems`` lists every ``(path, message)``."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("invalid journey: " + "; ".join(f"{p}: {m}" if p else m for p, m in self.problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TriggerRef(_Strict):
    kind: str = Field(description="A registered trigger kind (`guanxi journeys triggers`).")
    params: dict[str, Any] = Field(default_factory=dict)


class GoalRef(_Strict):
    kind: str = Field(description="A registered goal kind: order_paid, purchase, event, segment …")
    params: dict[str, Any] = Field(default_factory=dict)


class Reentry(_Strict):
    """Whether a customer may enter again: ``once`` ever, ``once_per_days`` N days apart, or ``every_time``.

    ``every_time`` lets one customer be in the journey on several occasions at
    once (two unpaid orders, two reminders).
    """

    mode: Literal["once", "once_per_days", "every_time"] = "every_time"
    days: int | None = Field(None, ge=1, le=3660)

    @model_validator(mode="after")
    def _days_for_mode(self) -> Reentry:
        if self.mode == "once_per_days" and self.days is None:
            raise ValueError("once_per_days needs days")
        if self.mode != "once_per_days" and self.days is not None:
            raise ValueError(f"days applies to once_per_days only, not {self.mode}")
        return self


class Active(_Strict):
    """The dates (in ``Settings.timezone``, both included) on which customers may enter."""

    start: date | None = Field(None, alias="from")
    until: date | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _ordered(self) -> Active:
        if self.start and self.until and self.until < self.start:
            raise ValueError("until is before from")
        return self


class Audience(_Strict):
    """Only customers in this segment (a stored key, or an inline spec) enter; at most one of the two."""

    segment: str | None = None
    spec: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one(self) -> Audience:
        if (self.segment is None) == (self.spec is None):
            raise ValueError("give exactly one of segment or spec")
        return self


class QuietWindow(_Strict):
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class Cap(_Strict):
    messages: int = Field(ge=1)
    days: int = Field(ge=1)


class StepRef(BaseModel):
    """One step as written: the common fields; the kind's own fields ride along as extras."""

    model_config = ConfigDict(extra="allow")

    name: str
    kind: str
    label: str | None = None
    next: str | None = None

    def fields(self) -> dict[str, Any]:
        """The kind's own fields (everything but name, kind and label; ``next`` included)."""
        extra = dict(self.model_extra or {})
        if self.next is not None:
            extra["next"] = self.next
        return extra


class JourneyDefinition(_Strict):
    """The whole user-written journey (stored per version as JSON)."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    trigger: TriggerRef
    steps: list[StepRef] = Field(min_length=1)
    goal: GoalRef | None = None
    """Success: once it happened the customer leaves at whatever step, as ``goal``."""
    stop: GoalRef | None = None
    """Giving up (a goal kind too): once it happened the customer leaves, as ``exited`` (the order was closed)."""
    audience: Audience | None = None
    reentry: Reentry = Field(default_factory=Reentry)
    control_share: float = Field(0.0, ge=0.0, le=0.9)
    active: Active = Field(default_factory=Active)
    transactional: bool = False
    """Service messages (a payment reminder): no consent needed on consent channels, no cap."""
    quiet_hours: QuietWindow | None = None
    """Customer-facing sends due inside it wait for its end — transactional ones too when it is set."""
    cap: Cap | None = None

    def step(self, name: str) -> StepRef:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def index_of(self, name: str) -> int:
        for index, step in enumerate(self.steps):
            if step.name == name:
                return index
        raise KeyError(name)

    def after(self, name: str) -> str | None:
        """The step that follows ``name`` in the list (None after the last)."""
        index = self.index_of(name)
        return self.steps[index + 1].name if index + 1 < len(self.steps) else None


@dataclass(frozen=True)
class Catalogue:
    """What the plugins registered, to check a definition against."""

    steps: Mapping[str, StepKind]
    triggers: Mapping[str, TriggerKind]
    goals: Mapping[str, Any]
    """Goal kind → :class:`~guanxi.marketing.journeys.goals.GoalKind`."""
    channels: frozenset[str] = frozenset()
    settings: Settings | None = None
    """When set, trigger parameters are also checked against it (a holiday name against the calendar)."""


def _pydantic_problems(err: ValidationError, prefix: str) -> Iterator[Problem]:
    for error in err.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
        yield path, error["msg"]


def load_text(text: str) -> Any:
    """The data in a YAML (or JSON) text; JourneyInvalidError with the line when it does not parse."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise JourneyInvalidError([(where, f"not valid YAML: {problem}")]) from None


def _templates(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string inside a content-like value, with its path (templates are checked to compile)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _templates(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _templates(inner, f"{path}.{index}")


TEMPLATE_FIELDS = ("content", "title", "note", "body", "subject", "payload")
"""Step fields whose strings are message templates."""


def configured(step: StepRef, kinds: Mapping[str, StepKind]) -> BaseModel:
    """The step's fields validated by its kind's config model (the definition was parsed, so they are valid)."""
    model = kinds[step.kind].config
    if model is None:
        raise KeyError(step.kind)
    return model.model_validate(step.fields())


def exits_of(
    step: StepRef, config: BaseModel, definition: JourneyDefinition, kind: StepKind
) -> list[tuple[str, str | None]]:
    """``(label, target)`` of each way out of ``step``, ``None`` targets resolved to the next in the list."""
    if kind.terminal:
        return []
    found: list[tuple[str, str | None]] = []
    for label, target in kind.exits(config):
        if target == END:
            found.append((label, None))
        else:
            found.append((label, target if target is not None else definition.after(step.name)))
    return found


def _graph_problems(
    definition: JourneyDefinition, edges: Mapping[str, list[tuple[str, str | None]]]
) -> Iterator[Problem]:
    names = {step.name for step in definition.steps}
    for index, step in enumerate(definition.steps):
        for label, target in edges.get(step.name, []):
            if target is not None and target not in names:
                yield f"steps.{index}.{label}", f"no step named {target!r}"
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> Iterator[Problem]:
        if state.get(name) == 1:
            cycle = " → ".join([*trail[trail.index(name) :], name])
            yield (
                f"steps.{definition.index_of(name)}",
                f"steps form a loop ({cycle}): a step runs once per entry",
            )
            return
        if state.get(name) == 2:
            return
        state[name] = 1
        for _label, target in edges.get(name, []):
            if target is not None and target in names:
                yield from visit(target, [*trail, name])
        state[name] = 2
        order.append(name)

    if definition.steps:
        yield from visit(definition.steps[0].name, [])
    if any(step.name not in edges for step in definition.steps):
        return  # a step whose exits are unknown (its own problems are listed): reachability is unknown too
    for index, step in enumerate(definition.steps):
        if step.name not in state:
            yield f"steps.{index}", f"step {step.name!r} cannot be reached from the first step"


def problems_of(data: Any, catalogue: Catalogue) -> tuple[JourneyDefinition | None, list[Problem]]:
    """The parsed definition (None when its shape is wrong) and every problem found."""
    try:
        definition = JourneyDefinition.model_validate(data)
    except ValidationError as err:
        return None, list(_pydantic_problems(err, ""))
    problems: list[Problem] = []
    trigger = catalogue.triggers.get(definition.trigger.kind)
    if trigger is None:
        known = ", ".join(sorted(catalogue.triggers)) or "none"
        problems.append(("trigger.kind", f"no trigger kind {definition.trigger.kind!r} (known: {known})"))
    else:
        found, _ = trigger.check_params(definition.trigger.params, settings=catalogue.settings)
        problems += [(f"trigger.params.{path}".rstrip("."), message) for path, message in found]
    for field, ref in (("goal", definition.goal), ("stop", definition.stop)):
        if ref is None:
            continue
        goal = catalogue.goals.get(ref.kind)
        if goal is None:
            known = ", ".join(sorted(catalogue.goals)) or "none"
            problems.append((f"{field}.kind", f"no goal kind {ref.kind!r} (known: {known})"))
        else:
            problems += [(f"{field}.params.{p}".rstrip("."), m) for p, m in goal.check_params(ref.params)]
    seen: dict[str, int] = {}
    edges: dict[str, list[tuple[str, str | None]]] = {}
    for index, step in enumerate(definition.steps):
        where = f"steps.{index}"
        if step.name == END:
            problems.append(
                (f"{where}.name", f"{END!r} is the target that ends the journey, not a step name")
            )
        elif STEP_NAME.fullmatch(step.name) is None:
            problems.append((f"{where}.name", f"{step.name!r}: lower-case letters, digits and _, at most 64"))
        if step.name in seen:
            problems.append((f"{where}.name", f"{step.name!r} is also the name of step {seen[step.name]}"))
        seen.setdefault(step.name, index)
        kind = catalogue.steps.get(step.kind)
        usable = sorted(name for name, k in catalogue.steps.items() if k.config is not None)
        if kind is None or kind.config is None:
            problems.append(
                (f"{where}.kind", f"no journey step kind {step.kind!r} (known: {', '.join(usable)})")
            )
            continue
        try:
            config = kind.config.model_validate(step.fields())
        except ValidationError as err:
            problems += list(_pydantic_problems(err, where))
            continue
        edges[step.name] = exits_of(step, config, definition, kind)
        channels = getattr(config, "channels", None)
        if catalogue.channels and isinstance(channels, list):
            for position, channel in enumerate(channels):
                if channel not in catalogue.channels:
                    known = ", ".join(sorted(catalogue.channels))
                    problems.append(
                        (f"{where}.channels.{position}", f"no channel {channel!r} (known: {known})")
                    )
        dumped = config.model_dump()
        for field in TEMPLATE_FIELDS:
            for path, source in _templates(dumped.get(field), ""):
                try:
                    compile_template(source)
                except TemplateError as err:
                    problems.append((f"{where}.{field}{path}", err.message))
    problems += list(_graph_problems(definition, edges))
    return definition, problems


def parse_definition(data: Any, catalogue: Catalogue) -> JourneyDefinition:
    """A validated definition; raises JourneyInvalidError listing every problem with its path."""
    definition, problems = problems_of(data, catalogue)
    if problems or definition is None:
        raise JourneyInvalidError(problems)
    return definition
