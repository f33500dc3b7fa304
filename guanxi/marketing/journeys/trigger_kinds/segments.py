"""Segment and model-change triggers: a customer entered or left a segment, changed lifecycle stage or tier.

They read what the daily runs write — ``segment_membership`` (a segment
refresh as of day D), ``lifecycle_transitions`` and ``tier_changes`` (a model
run as of D) — and fire on that day D at the local time ``at`` (default
``10:00``, ``Settings.timezone``), with ``entered_at = D at`` and occurrence D
(``"2026-03-01"``). Those rows exist only once the run of D has finished, so
keep ``at`` after the daily refresh: a refresh that finishes after ``D at`` is
missed by the pass whose window held ``D at`` (a re-run of that window finds
it, same occurrence).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend
from pydantic import Field

from guanxi.config import Settings
from guanxi.marketing.journeys.trigger_kinds.moments import StrictParams, TimeOfDay, firing_days, time_of_day
from guanxi.marketing.journeys.trigger_kinds.sources import existing, no_entries
from guanxi.marketing.triggers import TriggerKind, local_window
from guanxi.models.outputs import LIFECYCLE_TRANSITIONS, TIER_CHANGES
from guanxi.segments.membership import SEGMENT_MEMBERSHIP

DIRECTIONS = {"up": "upgrade", "down": "downgrade"}
"""``tier_changed``'s ``direction`` → the ``tier_changes.direction`` it matches."""


class SegmentParams(StrictParams):
    segment: str = Field(min_length=1, description="The stored segment's key.")
    at: TimeOfDay = "10:00"


class LifecycleParams(StrictParams):
    to_stage: str | list[str] | None = Field(
        None, min_length=1, description="Only changes into this stage (or one of these stages)."
    )
    from_stage: str | list[str] | None = Field(
        None, min_length=1, description="Only changes out of this stage (or one of these stages)."
    )
    at: TimeOfDay = "10:00"


class TierParams(StrictParams):
    direction: Literal["up", "down"] | None = Field(
        None, description="Only upgrades (up) or downgrades (down)."
    )
    to_tier: str | None = Field(None, min_length=1, description="Only changes into this tier.")
    at: TimeOfDay = "10:00"


def _dated(
    con: BaseBackend,
    table: str,
    column: str,
    since: datetime,
    until: datetime,
    params: Mapping[str, Any],
    settings: Settings,
    condition: Any,
) -> ir.Table:
    """Rows of ``table`` whose date ``column`` is a firing day of the window (and ``condition``), as entries."""
    start, end = local_window(since, until, settings)
    at = time_of_day(str(params["at"]))
    days = firing_days(start, end, at)
    tables = existing(con, table)
    if not days or tables is None:
        return no_entries()
    rows = tables[0]
    due = rows.filter(rows[column].isin(days), condition(rows))
    seconds = at.hour * 3600 + at.minute * 60
    return due.select(
        "customer_id",
        occurrence_key=due[column].strftime("%Y-%m-%d"),
        entered_at=due[column].cast("timestamp") + ibis.interval(seconds=seconds),
    )


def segment_entered(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    key = str(params["segment"])
    return _dated(
        con,
        SEGMENT_MEMBERSHIP.name,
        "entered_on",
        since,
        until,
        params,
        settings,
        lambda m: m.segment_key == key,
    )


def segment_left(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    key = str(params["segment"])
    return _dated(
        con,
        SEGMENT_MEMBERSHIP.name,
        "left_on",
        since,
        until,
        params,
        settings,
        lambda m: m.segment_key == key,
    )


def _equal_when_given(column: ir.StringValue, value: Any) -> ir.BooleanValue:
    """True when ``value`` is None, else whether ``column`` equals it (or is one of a list of values)."""
    if value is None:
        return ibis.literal(True)
    if isinstance(value, list):
        return ibis.coalesce(column.isin([str(item) for item in value]), False)
    return ibis.coalesce(column == str(value), False)


def lifecycle_changed(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    def wanted(t: ir.Table) -> ir.BooleanValue:
        return _equal_when_given(t.to_stage, params["to_stage"]) & _equal_when_given(
            t.from_stage, params["from_stage"]
        )

    return _dated(con, LIFECYCLE_TRANSITIONS.name, "as_of", since, until, params, settings, wanted)


def tier_changed(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    direction = params["direction"]

    def wanted(t: ir.Table) -> ir.BooleanValue:
        return _equal_when_given(
            t.direction, None if direction is None else DIRECTIONS[direction]
        ) & _equal_when_given(t.to_tier, params["to_tier"])

    return _dated(con, TIER_CHANGES.name, "as_of", since, until, params, settings, wanted)


def segment_triggers() -> list[TriggerKind]:
    return [
        TriggerKind("segment_entered", segment_entered, "The customer entered a segment", SegmentParams),
        TriggerKind("segment_left", segment_left, "The customer left a segment", SegmentParams),
        TriggerKind(
            "lifecycle_changed", lifecycle_changed, "The customer's lifecycle stage changed", LifecycleParams
        ),
        TriggerKind("tier_changed", tier_changed, "The customer's membership tier changed", TierParams),
    ]
