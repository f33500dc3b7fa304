"""Turning the ``now`` a caller passes into warehouse wall-clock time."""

from __future__ import annotations

from datetime import datetime

from guanxi.config import Settings


def wall_clock(now: datetime, settings: Settings) -> datetime:
    """``now`` as a naive wall-clock time in ``settings.timezone``, to the microsecond.

    An aware datetime is converted to the zone; a naive one is taken as already
    in it (the warehouse convention, see :mod:`guanxi.tables`).
    """
    if now.tzinfo is not None:
        now = now.astimezone(settings.zone).replace(tzinfo=None)
    return now
