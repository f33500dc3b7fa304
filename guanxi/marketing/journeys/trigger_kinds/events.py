"""Event triggers: a custom event with property filters (``event``), and a parcel's arrival (``order_arrived``).

Both read ``raw_events`` joined to ``identity_map`` (events of unresolved or
anonymous records enter nobody), fire at ``occurred_at`` (+ ``after_minutes``
for ``event``), and enter once per event: occurrence ``<source>:<event_id>``.

Property filters compare keys of the ``properties`` column — a JSON object
held as a string, or NULL; the importer and the event API write nothing else —
by JSON type, on every backend: a text filter matches a JSON string equal to
it, a number matches a JSON number of equal value (``5`` matches ``5.0``), a
boolean a JSON boolean. ``"5"`` does not match the number ``5``; a missing key
matches nothing.

``order_arrived`` is what logistics feeds send when a parcel reaches the
buyer's city (event name ``order_arrived`` unless the feed says otherwise;
``city`` filters on the event's ``properties.city``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend
from pydantic import Field, field_validator

from guanxi.config import Settings
from guanxi.marketing.journeys.trigger_kinds.moments import StrictParams
from guanxi.marketing.journeys.trigger_kinds.sources import (
    existing,
    no_entries,
    record_key,
    shifted,
    with_customer,
)
from guanxi.marketing.triggers import TriggerKind, local_window
from guanxi.tables import RAW_EVENTS

PROPERTY_KEY = r"^[\w-]{1,64}$"
"""A property name a filter may use: letters (any script), digits, ``_`` and ``-``."""

PropertyValue = str | int | float | bool


class EventParams(StrictParams):
    event: str = Field(min_length=1, max_length=128, description="The event name (`track` event).")
    properties: dict[str, PropertyValue] = Field(
        default_factory=dict, description="Equality filters on the event's properties (JSON types)."
    )
    after_minutes: int = Field(0, ge=0, le=525_600, description="Minutes after the event before it fires.")

    @field_validator("properties")
    @classmethod
    def _property_names(cls, value: dict[str, PropertyValue]) -> dict[str, PropertyValue]:
        bad = [key for key in value if re.fullmatch(PROPERTY_KEY, key) is None]
        if bad:
            raise ValueError(f"property names are letters, digits, _ and -, not {', '.join(map(repr, bad))}")
        return value


class ArrivedParams(StrictParams):
    event: str = Field(
        "order_arrived", min_length=1, max_length=128, description="The event name the logistics feed sends."
    )
    city: str | None = Field(None, min_length=1, description="Only arrivals whose `properties.city` is this.")


def property_matches(properties: ir.StringValue, key: str, value: PropertyValue) -> ir.BooleanValue:
    """Whether the JSON object ``properties`` has ``key`` equal to ``value`` (by JSON type; see the module)."""
    found = properties.cast("json")[key]
    if isinstance(value, bool):
        return ibis.coalesce(found.bool == value, False)
    if isinstance(value, int | float):
        return ibis.coalesce(found.float == float(value), False)
    return ibis.coalesce(found.str == value, False)


def _events(
    con: BaseBackend,
    name: str,
    filters: Mapping[str, PropertyValue],
    delay: timedelta,
    since: datetime,
    until: datetime,
    settings: Settings,
) -> ir.Table:
    tables = existing(con, RAW_EVENTS.name, "identity_map")
    if tables is None:
        return no_entries()
    events = tables[0]
    start, end = local_window(since, until, settings)
    due = events.filter(
        events.event == name, events.occurred_at >= start - delay, events.occurred_at < end - delay
    )
    for key, value in filters.items():
        due = due.filter(property_matches(due.properties, key, value))
    keyed = due.select(
        "source",
        "source_customer_id",
        occurrence_key=record_key(due, "event_id"),
        entered_at=shifted(due.occurred_at, delay),
    )
    joined = with_customer(con, keyed)
    return joined.select("customer_id", "occurrence_key", "entered_at")


def event(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    delay = timedelta(minutes=int(params["after_minutes"]))
    return _events(con, str(params["event"]), params["properties"], delay, since, until, settings)


def order_arrived(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    city = params.get("city")
    filters: dict[str, PropertyValue] = {} if city is None else {"city": str(city)}
    return _events(con, str(params["event"]), filters, timedelta(), since, until, settings)


def event_triggers() -> list[TriggerKind]:
    return [
        TriggerKind(
            "event",
            event,
            "An event of this name happened, with these properties (after a delay)",
            EventParams,
        ),
        TriggerKind(
            "order_arrived",
            order_arrived,
            "A parcel reached the buyer's city (a logistics event)",
            ArrivedParams,
        ),
    ]
