"""When a date-based trigger fires: a local time of day on each day, and the days a window holds.

A date trigger (birthday, holiday, segment entry …) fires on day D at the
parameter ``at`` (``"HH:MM"``, wall clock in ``Settings.timezone``): it fires
in the window that holds ``D at``. :func:`firing_days` lists those days for a
naive local window, so successive windows list each day once.
"""

from __future__ import annotations

from calendar import isleap
from datetime import date, datetime, time, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

TIME_OF_DAY = r"^([01]\d|2[0-3]):[0-5]\d$"

TimeOfDay = Annotated[
    str, Field(pattern=TIME_OF_DAY, description="Local time of day it fires at, HH:MM (Settings.timezone).")
]


class StrictParams(BaseModel):
    """Parameters of a built-in trigger: unknown keys are problems."""

    model_config = ConfigDict(extra="forbid")


def time_of_day(text: str) -> time:
    """``"HH:MM"`` as a time (already checked by :data:`TimeOfDay`)."""
    return time.fromisoformat(text)


def firing_days(start: datetime, end: datetime, at: time) -> list[date]:
    """The days D whose ``D at`` lies in the naive window ``[start, end)``, in order (often none or one)."""
    days: list[date] = []
    day = start.date() - timedelta(days=1)
    while datetime.combine(day, at) < end:
        if datetime.combine(day, at) >= start:
            days.append(day)
        day += timedelta(days=1)
    return days


def same_days(target: date) -> list[tuple[int, int]]:
    """The (month, day) of yearly dates that fall on ``target``: itself, and 29 Feb on 28 Feb of a common year."""
    found = [(target.month, target.day)]
    if (target.month, target.day) == (2, 28) and not isleap(target.year):
        found.append((2, 29))
    return found
