"""Jobs as a plugin: the ``jobs`` tables, their migration and the ``pipeline`` kind."""

from __future__ import annotations

from pathlib import Path

from guanxi.jobs.kinds import JobKind
from guanxi.jobs.pipeline import PIPELINE
from guanxi.plugins import hookimpl


@hookimpl
def register_appdb_tables() -> list[str]:
    return ["guanxi.jobs.tables"]


@hookimpl
def register_migrations() -> list[Path]:
    return [Path(__file__).parent / "migrations"]


@hookimpl
def register_job_kinds() -> list[JobKind]:
    return [PIPELINE]
