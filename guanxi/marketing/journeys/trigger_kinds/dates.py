"""Date triggers: birthday, first-order anniversary, days after the first order, holidays.

Each fires on a day D at the local time ``at`` (default ``10:00``,
``Settings.timezone``), in the window that holds ``D at``
(:func:`~guanxi.marketing.journeys.trigger_kinds.moments.firing_days`), with
``entered_at = D at``:

* ``birthday`` — customers (golden record ``customers.birthday``) whose birthday
  is on ``D + days_before``; a 29 February birthday is on 28 February in a
  common year. Occurrence: the year of that birthday (``"2026"``).
* ``first_order_anniversary`` — the yearly return (1 year on and later) of the
  customer's first purchase's day (:func:`guanxi.measures.is_purchase`; the day
  of its ``paid_at``), ``days_before`` ahead. Occurrence: the anniversary's year.
* ``after_first_order`` — ``days`` after the first purchase's day, once per
  customer (occurrence ``"first"``); with ``only_one_purchase`` only customers
  who made no second purchase before the firing moment.
* ``holiday`` — every customer of ``customers`` (a journey narrows them by
  segment), ``days_before`` the holiday (:mod:`guanxi.marketing.journeys.holidays`).
  Occurrence ``<holiday>:<year>`` (the calendar's name, also when the journey
  names an alias); a holiday the calendar lists on several days of one year
  gets ``<holiday>:<YYYY-MM-DD>`` for each.

The first purchase is the earliest purchase paid before the window's end, as
the warehouse holds orders when the pass runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend
from pydantic import Field

from guanxi import measures
from guanxi.config import Settings
from guanxi.marketing.journeys.holidays import load_calendar
from guanxi.marketing.journeys.trigger_kinds.moments import (
    StrictParams,
    TimeOfDay,
    firing_days,
    same_days,
    time_of_day,
)
from guanxi.marketing.journeys.trigger_kinds.sources import existing, no_entries, rows_table, with_customer
from guanxi.marketing.triggers import Problem, TriggerKind, local_window
from guanxi.tables import CUSTOMERS, RAW_ORDERS


class YearlyParams(StrictParams):
    days_before: int = Field(0, ge=0, le=60, description="Days ahead of the day it fires (0: on the day).")
    at: TimeOfDay = "10:00"


class AfterFirstOrderParams(StrictParams):
    days: int = Field(ge=1, le=3660, description="Days after the first purchase's day.")
    at: TimeOfDay = "10:00"
    only_one_purchase: bool = Field(
        False, description="Only customers with exactly one purchase when it fires (no second yet)."
    )


class HolidayParams(StrictParams):
    holiday: str = Field(
        min_length=1, description="A holiday of the calendar (双11, 春节, 618 …; aliases too)."
    )
    days_before: int = Field(0, ge=0, le=60, description="Days ahead of the holiday (0: on the day).")
    at: TimeOfDay = "10:00"


def _days(since: datetime, until: datetime, settings: Settings, at_text: str) -> list[tuple[date, datetime]]:
    """Each firing day D of the window with its moment ``D at`` (naive local)."""
    start, end = local_window(since, until, settings)
    at = time_of_day(at_text)
    return [(day, datetime.combine(day, at)) for day in firing_days(start, end, at)]


def _yearly(days: list[tuple[date, datetime]], days_before: int) -> ir.Table:
    """(month, day) of the yearly dates firing in the window → ``year`` and ``entered_at``."""
    rows = [
        {"month": month, "day": day_of_month, "year": target.year, "entered_at": moment}
        for day, moment in days
        for target in [day + timedelta(days=days_before)]
        for month, day_of_month in same_days(target)
    ]
    schema = {"month": "int32", "day": "int32", "year": "int32", "entered_at": "timestamp"}
    return rows_table({name: [row[name] for row in rows] for name in schema}, schema)


def birthday(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    days = _days(since, until, settings, str(params["at"]))
    tables = existing(con, CUSTOMERS.name)
    if not days or tables is None:
        return no_entries()
    customers = tables[0]
    born = customers.filter(customers.birthday.notnull()).select(
        "customer_id",
        month=customers.birthday.month().cast("int32"),
        day=customers.birthday.day().cast("int32"),
    )
    occasions = _yearly(days, int(params["days_before"]))
    joined = born.join(occasions, ["month", "day"])
    return joined.select(
        "customer_id", occurrence_key=joined.year.cast("string"), entered_at=joined.entered_at
    )


def _first_purchases(con: BaseBackend, before: datetime, *, second: bool = False) -> ir.Table | None:
    """``customer_id``, ``first_paid_at`` (and ``second_paid_at`` when asked) of every customer who bought."""
    tables = existing(con, RAW_ORDERS.name, "identity_map")
    if tables is None:
        return None
    orders = tables[0]
    bought = orders.filter(measures.is_purchase(orders, before=before)).select(
        "source", "source_customer_id", "order_id", "paid_at"
    )
    bought = with_customer(con, bought)
    if not second:
        return bought.group_by("customer_id").aggregate(first_paid_at=bought.paid_at.min())
    ranked = bought.mutate(
        rank=ibis.row_number().over(
            group_by=bought.customer_id, order_by=[bought.paid_at, bought.source, bought.order_id]
        )
    )
    ranked = ranked.filter(ranked["rank"] < 2)
    return ranked.group_by("customer_id").aggregate(
        first_paid_at=ranked.paid_at.min(), second_paid_at=ranked.paid_at.max(where=ranked["rank"] == 1)
    )


def first_order_anniversary(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    days = _days(since, until, settings, str(params["at"]))
    first = _first_purchases(con, local_window(since, until, settings)[1]) if days else None
    if first is None:
        return no_entries()
    dated = first.select(
        "customer_id",
        month=first.first_paid_at.month().cast("int32"),
        day=first.first_paid_at.day().cast("int32"),
        first_year=first.first_paid_at.year().cast("int32"),
    )
    occasions = _yearly(days, int(params["days_before"]))
    joined = dated.join(occasions, ["month", "day"])
    joined = joined.filter(joined.first_year < joined.year)
    return joined.select(
        "customer_id", occurrence_key=joined.year.cast("string"), entered_at=joined.entered_at
    )


def after_first_order(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    days = _days(since, until, settings, str(params["at"]))
    only_one = bool(params["only_one_purchase"])
    first = _first_purchases(con, local_window(since, until, settings)[1], second=only_one) if days else None
    if first is None:
        return no_entries()
    after = timedelta(days=int(params["days"]))
    occasions = rows_table(
        {"first_day": [day - after for day, _ in days], "entered_at": [moment for _, moment in days]},
        {"first_day": "date", "entered_at": "timestamp"},
    )
    dated = first.mutate(first_day=first.first_paid_at.date())
    joined = dated.join(occasions, "first_day")
    if only_one:
        joined = joined.filter(joined.second_paid_at.isnull() | (joined.second_paid_at >= joined.entered_at))
    return joined.select("customer_id", occurrence_key=ibis.literal("first"), entered_at=joined.entered_at)


def check_holiday(params: Mapping[str, Any], settings: Settings) -> list[Problem]:
    """The holiday must be in the calendar ``settings`` give; the problem lists the known names."""
    calendar = load_calendar(settings)
    if calendar.find(str(params["holiday"])) is None:
        return [("holiday", f"no holiday {params['holiday']!r} (known: {', '.join(calendar.names())})")]
    return []


def holiday(
    con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any], settings: Settings
) -> ir.Table:
    found = load_calendar(settings).holiday(str(params["holiday"]))
    ahead = timedelta(days=int(params["days_before"]))
    occasions: list[tuple[str, datetime]] = []
    for day, moment in _days(since, until, settings, str(params["at"])):
        target = day + ahead
        dates = found.dates(target.year)
        if target in dates:
            label = str(target.year) if len(dates) == 1 else target.isoformat()
            occasions.append((f"{found.name}:{label}", moment))
    tables = existing(con, CUSTOMERS.name)
    if not occasions or tables is None:
        return no_entries()
    customers = tables[0]
    parts = [
        customers.select(
            customer_id=customers.customer_id.cast("string"),
            occurrence_key=ibis.literal(key),
            entered_at=ibis.literal(moment).cast("timestamp"),
        )
        for key, moment in occasions
    ]
    return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:], distinct=False)


def date_triggers() -> list[TriggerKind]:
    return [
        TriggerKind("birthday", birthday, "The customer's birthday (or days before it)", YearlyParams),
        TriggerKind(
            "first_order_anniversary",
            first_order_anniversary,
            "The yearly return of the customer's first purchase (or days before it)",
            YearlyParams,
        ),
        TriggerKind(
            "after_first_order",
            after_first_order,
            "`days` after the customer's first purchase, once",
            AfterFirstOrderParams,
        ),
        TriggerKind(
            "holiday",
            holiday,
            "A holiday of the calendar (or days before it), for every customer",
            HolidayParams,
            check=check_holiday,
        ),
    ]
