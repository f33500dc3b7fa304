"""The segments domain as a plugin: its app-DB table, its migrations and the built-in condition kinds.

The built-in kinds enter through ``register_segment_conditions`` exactly as a
plugin's do; this list is the one place they are named. Their order is the
order the DSL lists node keys in, and shorthand strings are offered to them in
reverse (a ``field op value`` no other kind reads is a ``score`` comparison).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from guanxi.jobs.kinds import JobKind
from guanxi.plugins import hookimpl
from guanxi.segments.conditions import ConditionKind
from guanxi.segments.conditions.attribute import Attribute
from guanxi.segments.conditions.behaviour import Behaviour
from guanxi.segments.conditions.score import Score
from guanxi.segments.conditions.segment import Segment
from guanxi.segments.conditions.tag import Tag
from guanxi.segments.jobs import EXPORT, REFRESH


@hookimpl
def register_appdb_tables() -> list[str]:
    return ["guanxi.segments.store"]


@hookimpl
def register_migrations() -> list[Path]:
    return [Path(__file__).parent / "migrations"]


@hookimpl
def register_segment_conditions() -> list[ConditionKind[Any]]:
    return [Score(), Attribute(), Tag(), Behaviour(), Segment()]


@hookimpl
def register_job_kinds() -> list[JobKind]:
    return [REFRESH, EXPORT]
