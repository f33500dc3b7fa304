"""Jobs: long warehouse work run in the background, with progress, by the warehouse's one writer.

See docs/jobs.md and ADR 0008. :mod:`.kinds` (what a job is), :mod:`.store`
(the app-database queue), :mod:`.runner` (running one), :mod:`.writer` (the
embedded warehouse's writer lock), :mod:`.schedule` (cron-like slots),
:mod:`.runtime` (the threads of ``guanxi serve`` / ``guanxi worker``),
:mod:`.launch` (a CLI command run here or queued to the writer).
"""

from guanxi.jobs.kinds import JobContext, JobKind, Service

__all__ = ["JobContext", "JobKind", "Service"]
