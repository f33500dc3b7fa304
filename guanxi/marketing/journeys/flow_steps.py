"""The journey steps that steer a customer: wait, wait for an event, branch, A/B split, exit.

Each is a :class:`~guanxi.marketing.journey_steps.StepKind` with a ``config``
model (the step's fields in a definition) and runs inside a journey
(:func:`~guanxi.marketing.journeys.runtime.frame_of`). Times: a step's due time
is aware UTC; "a time of day" and "a date" are read in ``Settings.timezone``.

* ``wait`` — ``minutes``/``hours``/``days`` after the step was due, then (when
  given) on to the next ``at`` time of day, and never before ``until_date``;
* ``wait_event`` — goes on along ``on_event`` as soon as an event named
  ``event`` has happened since the step was due, else along ``on_timeout`` once
  ``timeout_*`` has passed; looks again every ``journeys_wait_poll_minutes``;
* ``branch`` — ``then`` when the customer matches the condition now (a segment
  rule ``if``, a stored ``segment``, or ``event`` happened since entering), else ``else``;
* ``split`` — one of ``variants`` by a seeded hash of (journey, step, customer),
  their ``share`` adding up to 1 — the same customer always the same variant;
* ``exit`` — the customer leaves the journey.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any, Literal

import ibis
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from guanxi.marketing.journey_steps import JourneyStepRun, StepContext, StepKind, StepResult


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    next: str | None = None


class Duration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minutes: float = Field(0, ge=0)
    hours: float = Field(0, ge=0)
    days: float = Field(0, ge=0)

    def delta(self) -> timedelta:
        return timedelta(minutes=self.minutes, hours=self.hours, days=self.days)


class WaitConfig(_Config, Duration):
    at: time | None = Field(None, description="Then on to the next time of day (HH:MM, Settings.timezone).")
    until_date: datetime | None = Field(None, description="Never before this date and time.")
    from_entry: bool = Field(
        False,
        description="Count the duration from when the customer entered (the occasion), not from this step.",
    )

    @model_validator(mode="after")
    def _something(self) -> WaitConfig:
        if not self.delta() and self.at is None and self.until_date is None:
            raise ValueError("a wait needs minutes, hours or days, an `at` time of day, or `until_date`")
        return self


def _settings(context: StepContext) -> Any:
    if context.settings is None:
        raise ValueError("journey steps run with the settings")
    return context.settings


def wait_until(config: WaitConfig, due: datetime, zone: Any) -> datetime:
    """When a wait that started at ``due`` ends (pure).

    ``minutes``/``hours``/``days`` are added; with ``at`` the wait then goes on
    to that time of day. A wait of whole ``days`` only counts calendar days: it
    ends on the day reached at ``at`` (``days: 30, at: 10:00`` started at 10:01
    ends 30 days later at 10:00, not a day after); otherwise the next ``at`` at
    or after the end. ``until_date`` is a floor.
    """
    end = due + config.delta()
    if config.at is not None:
        wall = end.astimezone(zone)
        candidate = datetime.combine(wall.date(), config.at, tzinfo=zone)
        calendar_days = bool(config.days) and float(config.days).is_integer()
        if candidate < wall and not (calendar_days and not config.hours and not config.minutes):
            candidate = datetime.combine(wall.date() + timedelta(days=1), config.at, tzinfo=zone)
        end = candidate
    if config.until_date is not None:
        floor = config.until_date if config.until_date.tzinfo else config.until_date.replace(tzinfo=zone)
        end = max(end, floor)
    return end


def wait_step(context: StepContext, run: JourneyStepRun) -> StepResult:
    from guanxi.marketing.journeys.runtime import frame_of  # noqa: PLC0415 - the runtime imports these kinds

    frame = frame_of(context)
    config = frame.config
    assert isinstance(config, WaitConfig)
    start = run.due_at
    if config.from_entry:
        start = frame.enrollment.occurred_at or frame.enrollment.entered_at
    end = max(wait_until(config, start, _settings(context).zone), run.due_at)
    return StepResult("waited", frame.follow(due_at=end))


ORDER_MOMENTS = {"paid": "paid_at", "shipped": "shipped_at", "delivered": "delivered_at"}
"""``wait_event``'s ``order`` → the column of the entered order that says it happened."""


class WaitEventConfig(_Config):
    event: str | None = Field(None, min_length=1, description="The event name that ends the wait.")
    order: Literal["paid", "shipped", "delivered"] | None = Field(
        None,
        description="Or: the order the customer entered for (occurrence source:order_id) reached this state.",
    )
    timeout: Duration = Field(description="How long to wait at most.")
    on_event: str | None = None
    on_timeout: str | None = None

    @model_validator(mode="after")
    def _one(self) -> WaitEventConfig:
        if (self.event is None) == (self.order is None):
            raise ValueError("a wait_event needs exactly one of event or order")
        return self


def _orders_reached(context: StepContext, runs: Sequence[JourneyStepRun], state: str) -> set[int]:
    """Run ids whose enrollment's order (occurrence ``source:order_id``) reached ``state`` (one query)."""
    con = context.warehouse
    if con is None or "raw_orders" not in con.list_tables():
        return set()
    from guanxi import measures  # noqa: PLC0415

    asked = ibis.memtable(
        pa.table(
            {
                "run_id": pa.array([r.id for r in runs], pa.int64()),
                "occurrence": pa.array(
                    [context.journey[r.id].enrollment.occurrence_key for r in runs], pa.string()
                ),
            }
        )
    )
    orders = con.table("raw_orders")
    reached = measures.is_paid(orders) if state == "paid" else orders[ORDER_MOMENTS[state]].notnull()
    done = orders.filter(reached)
    keyed = done.select(occurrence_=done.source.cast("string") + ":" + done.order_id.cast("string"))
    joined = asked.join(keyed, asked.occurrence == keyed.occurrence_)
    found = joined.select("run_id").distinct().to_pyarrow()
    return {int(v) for v in found.column("run_id").to_pylist()}


def _event_exits(config: Any) -> list[tuple[str, str | None]]:
    return [("on_event", config.on_event), ("on_timeout", config.on_timeout)]


def _events_since(
    context: StepContext, runs: Sequence[JourneyStepRun], event: str, since: Mapping[int, datetime]
) -> set[int]:
    """Run ids whose customer had ``event`` at or after ``since[run id]`` (one warehouse query)."""
    con = context.warehouse
    settings = _settings(context)
    if con is None or not {"raw_events", "identity_map"} <= set(con.list_tables()):
        return set()
    from guanxi.marketing.journeys.runtime import local  # noqa: PLC0415

    asked = ibis.memtable(
        pa.table(
            {
                "run_id": pa.array([r.id for r in runs], pa.int64()),
                "customer_key": pa.array([r.customer_id for r in runs], pa.string()),
                "since": pa.array([local(since[r.id], settings) for r in runs], pa.timestamp("us")),
            }
        )
    )
    events = con.table("raw_events")
    ids = con.table("identity_map").select("source", "source_customer_id", "customer_id")
    named = events.filter(events.event == event).join(ids, ["source", "source_customer_id"])
    happened = named.select(customer=named.customer_id.cast("string"), occurred_at=named.occurred_at)
    joined = asked.join(
        happened, (asked.customer_key == happened.customer) & (happened.occurred_at >= asked.since)
    )
    found = joined.select("run_id").distinct().to_pyarrow()
    return {int(v) for v in found.column("run_id").to_pylist()}


def _by_step(
    context: StepContext, runs: Sequence[JourneyStepRun]
) -> dict[tuple[str, int, str], list[JourneyStepRun]]:
    groups: dict[tuple[str, int, str], list[JourneyStepRun]] = {}
    for run in runs:
        frame = context.journey[run.id]
        groups.setdefault((frame.journey_key, frame.enrollment.version, run.step_name), []).append(run)
    return groups


def prepare_wait_event(context: StepContext, runs: Sequence[JourneyStepRun]) -> Mapping[int, Any]:
    found: dict[int, Any] = {}
    for group in _by_step(context, runs).values():
        config = context.journey[group[0].id].config
        if config.order is not None:
            happened = _orders_reached(context, group, config.order)
        else:
            happened = _events_since(context, group, config.event, {r.id: r.due_at for r in group})
        found.update({r.id: r.id in happened for r in group})
    return found


def wait_event_step(context: StepContext, run: JourneyStepRun) -> StepResult:
    from guanxi.marketing.journeys.runtime import frame_of  # noqa: PLC0415

    frame = frame_of(context)
    config = frame.config
    assert isinstance(config, WaitEventConfig)
    if context.facts:
        return StepResult("event", frame.follow("on_event", due_at=context.now))
    deadline = run.due_at + config.timeout.delta()
    if context.now >= deadline:
        return StepResult("timeout", frame.follow("on_timeout", due_at=deadline))
    poll = timedelta(minutes=_settings(context).journeys_wait_poll_minutes)
    return StepResult("waiting", recheck_at=min(context.now + poll, deadline))


class BranchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    condition: dict[str, Any] | None = Field(
        None, alias="if", description="A segment rule (the segment DSL)."
    )
    segment: str | None = Field(None, description="A stored segment's key.")
    event: str | None = Field(None, description="An event name: did it happen since the customer entered?")
    then: str | None = None
    otherwise: str | None = Field(None, alias="else")

    @model_validator(mode="after")
    def _one(self) -> BranchConfig:
        given = [v for v in (self.condition, self.segment, self.event) if v is not None]
        if len(given) != 1:
            raise ValueError("a branch needs exactly one of if, segment or event")
        return self


def _branch_exits(config: Any) -> list[tuple[str, str | None]]:
    return [("then", config.then), ("else", config.otherwise)]


def prepare_branch(context: StepContext, runs: Sequence[JourneyStepRun]) -> Mapping[int, Any]:
    from guanxi.marketing.journeys.audience import segment_members  # noqa: PLC0415

    found: dict[int, Any] = {}
    settings = _settings(context)
    for group in _by_step(context, runs).values():
        frames = [context.journey[r.id] for r in group]
        config = frames[0].config
        if config.event is not None:
            entered = {
                r.id: f.enrollment.occurred_at or f.enrollment.entered_at
                for r, f in zip(group, frames, strict=True)
            }
            matched = _events_since(context, group, config.event, entered)
        else:
            assert context.warehouse is not None
            members = segment_members(
                context.warehouse,
                context.session,
                segment=config.segment,
                spec=config.condition,
                as_of=context.now.astimezone(settings.zone).date(),
            )
            wanted = sorted({int(r.customer_id) for r in group if r.customer_id.isdigit()})
            asked = ibis.memtable(pa.table({"customer_id": pa.array(wanted, pa.int64())}))
            hit = members.semi_join(asked, "customer_id").to_pyarrow()
            inside = {str(v) for v in hit.column("customer_id").to_pylist()}
            matched = {r.id for r in group if r.customer_id in inside}
        found.update({r.id: r.id in matched for r in group})
    return found


def branch_step(context: StepContext, run: JourneyStepRun) -> StepResult:
    from guanxi.marketing.journeys.runtime import frame_of  # noqa: PLC0415

    frame = frame_of(context)
    taken = "then" if context.facts else "else"
    return StepResult(taken, frame.follow(taken, due_at=context.now))


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    share: float = Field(gt=0, le=1)
    next: str | None = None


class SplitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variants: list[Variant] = Field(min_length=2)

    @model_validator(mode="after")
    def _shares(self) -> SplitConfig:
        total = sum(v.share for v in self.variants)
        if abs(total - 1) > 1e-6:
            raise ValueError(f"variant shares add up to {total:g}, not 1")
        if len({v.name for v in self.variants}) != len(self.variants):
            raise ValueError("two variants have the same name")
        return self


def _split_exits(config: Any) -> list[tuple[str, str | None]]:
    return [(variant.name, variant.next) for variant in config.variants]


def choose_variant(config: SplitConfig, journey_key: str, step: str, customer_id: str) -> str:
    """The variant of a customer: a seeded hash, the same on every run (pure)."""
    digest = hashlib.sha256(f"split:{journey_key}:{step}:{customer_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for variant in config.variants:
        edge += variant.share
        if point < edge:
            return variant.name
    return config.variants[-1].name


def split_step(context: StepContext, run: JourneyStepRun) -> StepResult:
    from sqlalchemy import update  # noqa: PLC0415

    from guanxi.marketing.journeys.runtime import frame_of  # noqa: PLC0415
    from guanxi.marketing.journeys.tables import JourneyEnrollment  # noqa: PLC0415

    frame = frame_of(context)
    config = frame.config
    assert isinstance(config, SplitConfig)
    chosen = choose_variant(config, frame.journey_key, run.step_name, run.customer_id)
    context.session.execute(
        update(JourneyEnrollment).where(JourneyEnrollment.id == frame.enrollment.id).values(variant=chosen)
    )
    return StepResult(f"variant:{chosen}", frame.follow(chosen, due_at=run.due_at))


class ExitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


def exit_step(context: StepContext, run: JourneyStepRun) -> StepResult:
    return StepResult("exited")


def flow_kinds() -> list[StepKind]:
    return [
        StepKind(
            "wait", wait_step, "Wait a duration, then optionally until a time of day or a date", WaitConfig
        ),
        StepKind(
            "wait_event",
            wait_event_step,
            "Wait for an event, at most a timeout",
            WaitEventConfig,
            exits=_event_exits,
            prepare=prepare_wait_event,
        ),
        StepKind(
            "branch",
            branch_step,
            "Go one way or the other on a segment rule or an event since entry",
            BranchConfig,
            exits=_branch_exits,
            prepare=prepare_branch,
        ),
        StepKind(
            "split", split_step, "Send customers down A/B variants by share", SplitConfig, exits=_split_exits
        ),
        StepKind("exit", exit_step, "The customer leaves the journey", ExitConfig, terminal=True),
    ]
