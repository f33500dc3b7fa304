"""Exit goals: what, once it happened, takes a customer out of a journey at whatever step they are.

A journey's ``goal`` is its success (the enrollment ends as ``goal``); its
``stop`` uses the same kinds for giving up (ends as ``exited``): a payment
reminder's goal is ``order_paid``, its stop ``order_cancelled``.

A goal kind enters through the ``register_journey_goals`` hook as a
:class:`GoalKind`. Its ``find(context, enrollments, params)`` gets an Ibis
table of the enrollments to check — ``enrollment_id`` (int64), ``customer_id``
(string), ``occurrence_key`` (string), ``entered_at`` (timestamp, naive
wall-clock in ``Settings.timezone`` like every warehouse time) — and returns
the table of those whose goal is reached (at least ``enrollment_id``),
unexecuted, so the check of a whole batch is one query where the data is.

Built-in kinds (:func:`builtin_goals`):

* ``order_paid`` — the order the customer entered for (occurrence ``source:order_id``) is paid
  (the shared definition, :func:`guanxi.measures.is_paid`);
* ``order_cancelled`` — that order was cancelled (closed unpaid): a ``stop`` condition for reminders;
* ``purchase`` — the customer made a purchase (:func:`guanxi.measures.is_purchase`) paid after entering;
* ``event`` — an event named ``event`` happened after entering;
* ``segment`` — the customer is in a segment now (a stored key or an inline spec).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import pluggy
from ibis.backends import BaseBackend
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.orm import Session

from guanxi import measures
from guanxi.config import Settings
from guanxi.errors import ConfigError
from guanxi.marketing.triggers import KIND_PATTERN
from guanxi.plugins import collect, plugin_manager


@dataclass(frozen=True)
class GoalContext:
    con: BaseBackend
    settings: Settings
    session: Session
    as_of: date
    """Today in ``Settings.timezone`` (segment goals are evaluated as of it)."""


GoalQuery = Callable[[GoalContext, ir.Table, Mapping[str, Any]], ir.Table]


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class GoalKind:
    """An exit goal kind as a plugin declares it; ConfigError at construction for a bad ``kind`` name."""

    kind: str
    find: GoalQuery
    description: str = ""
    params: type[BaseModel] = NoParams

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or KIND_PATTERN.fullmatch(self.kind) is None:
            raise ConfigError(f"{self.kind!r} is not a goal kind: lower-case letters, digits and _")

    def check_params(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Every problem with ``params`` as ``(path, message)``; empty when they are valid."""
        try:
            self.params.model_validate(dict(params))
        except ValidationError as err:
            return [
                (".".join(str(p) for p in e["loc"]), e["msg"])
                for e in err.errors(include_url=False, include_input=False)
            ]
        return []

    def reached(self, context: GoalContext, enrollments: ir.Table, params: Mapping[str, Any]) -> ir.Table:
        """The ``enrollment_id`` (int64, distinct) of the enrollments whose goal is reached (unexecuted)."""
        normal = self.params.model_validate(dict(params)).model_dump()
        found = self.find(context, enrollments, normal)
        return found.select(enrollment_id=found.enrollment_id.cast("int64")).distinct()


def registered_goals(pm: pluggy.PluginManager | None = None) -> dict[str, GoalKind]:
    """Every goal kind registered through ``register_journey_goals``, by kind; ConfigError on a repeated kind."""
    manager = pm or plugin_manager()
    found: dict[str, GoalKind] = collect(
        manager.hook.register_journey_goals, what="journey goal", name=lambda g: g.kind, pm=manager
    )
    return found


def _none(enrollments: ir.Table) -> ir.Table:
    return enrollments.filter(ibis.literal(False)).select("enrollment_id")


def _customer_orders(con: BaseBackend) -> ir.Table | None:
    present = set(con.list_tables())
    if not {"raw_orders", "identity_map"} <= present:
        return None
    orders = con.table("raw_orders")
    ids = con.table("identity_map").select("source", "source_customer_id", "customer_id")
    joined = orders.join(ids, ["source", "source_customer_id"])
    return joined.mutate(customer_key=joined.customer_id.cast("string"))


def order_paid(context: GoalContext, enrollments: ir.Table, params: Mapping[str, Any]) -> ir.Table:
    if "raw_orders" not in context.con.list_tables():
        return _none(enrollments)
    orders = context.con.table("raw_orders")
    paid = orders.filter(measures.is_paid(orders))
    keyed = paid.select(occurrence=paid.source.cast("string") + ":" + paid.order_id.cast("string"))
    joined = enrollments.join(keyed, enrollments.occurrence_key == keyed.occurrence)
    return joined.select("enrollment_id")


def order_cancelled(context: GoalContext, enrollments: ir.Table, params: Mapping[str, Any]) -> ir.Table:
    if "raw_orders" not in context.con.list_tables():
        return _none(enrollments)
    orders = context.con.table("raw_orders")
    closed = orders.filter(orders.status == "cancelled")
    keyed = closed.select(occurrence=closed.source.cast("string") + ":" + closed.order_id.cast("string"))
    joined = enrollments.join(keyed, enrollments.occurrence_key == keyed.occurrence)
    return joined.select("enrollment_id")


def purchase(context: GoalContext, enrollments: ir.Table, params: Mapping[str, Any]) -> ir.Table:
    orders = _customer_orders(context.con)
    if orders is None:
        return _none(enrollments)
    bought = orders.filter(measures.is_purchase(orders)).select("customer_key", "paid_at")
    joined = enrollments.join(
        bought, (enrollments.customer_id == bought.customer_key) & (bought.paid_at > enrollments.entered_at)
    )
    return joined.select("enrollment_id")


class EventParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: str = Field(min_length=1, description="The event name (`track` event) that reaches the goal.")


def event(context: GoalContext, enrollments: ir.Table, params: Mapping[str, Any]) -> ir.Table:
    present = set(context.con.list_tables())
    if not {"raw_events", "identity_map"} <= present:
        return _none(enrollments)
    events = context.con.table("raw_events")
    ids = context.con.table("identity_map").select("source", "source_customer_id", "customer_id")
    named = events.filter(events.event == str(params["event"])).join(ids, ["source", "source_customer_id"])
    happened = named.select(customer_key=named.customer_id.cast("string"), occurred_at=named.occurred_at)
    joined = enrollments.join(
        happened,
        (enrollments.customer_id == happened.customer_key) & (happened.occurred_at >= enrollments.entered_at),
    )
    return joined.select("enrollment_id")


class SegmentParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    segment: str | None = Field(None, description="A stored segment's key.")
    spec: dict[str, Any] | None = Field(None, description="An inline segment rule (the segment DSL).")

    @model_validator(mode="after")
    def _one(self) -> SegmentParams:
        if (self.segment is None) == (self.spec is None):
            raise ValueError("give exactly one of segment or spec")
        return self


def segment(context: GoalContext, enrollments: ir.Table, params: Mapping[str, Any]) -> ir.Table:
    from guanxi.marketing.journeys.audience import segment_members  # noqa: PLC0415 - segments load on use

    members = segment_members(
        context.con,
        context.session,
        segment=params.get("segment"),
        spec=params.get("spec"),
        as_of=context.as_of,
    )
    keyed = members.select(customer_key=members.customer_id.cast("string"))
    joined = enrollments.join(keyed, enrollments.customer_id == keyed.customer_key)
    return joined.select("enrollment_id")


def builtin_goals() -> list[GoalKind]:
    return [
        GoalKind("order_paid", order_paid, "The order the customer entered for is paid"),
        GoalKind(
            "order_cancelled", order_cancelled, "The order the customer entered for was cancelled or closed"
        ),
        GoalKind("purchase", purchase, "The customer bought again after entering"),
        GoalKind("event", event, "An event of this name happened after entering", EventParams),
        GoalKind("segment", segment, "The customer is in this segment now", SegmentParams),
    ]
