"""Identity resolution as a plugin: the ``resolve`` job kind."""

from __future__ import annotations

from guanxi.identity.jobs import RESOLVE
from guanxi.jobs.kinds import JobKind
from guanxi.plugins import hookimpl


@hookimpl
def register_job_kinds() -> list[JobKind]:
    return [RESOLVE]
