"""The job kinds and services registered through the plugin hooks."""

from __future__ import annotations

import pluggy

from guanxi.jobs.errors import UnknownJobKindError
from guanxi.jobs.kinds import JobKind, Service
from guanxi.plugins import collect, plugin_manager


def job_kinds(pm: pluggy.PluginManager | None = None) -> dict[str, JobKind]:
    """Every kind registered through ``register_job_kinds``, by name, built-ins first."""
    manager = pm or plugin_manager()
    found: dict[str, JobKind] = collect(
        manager.hook.register_job_kinds, what="job kind", name=lambda k: k.name, pm=manager
    )
    return found


def job_kind(name: str, pm: pluggy.PluginManager | None = None) -> JobKind:
    """The kind ``name``; raises :class:`UnknownJobKindError` listing the known ones."""
    kinds = job_kinds(pm)
    if name not in kinds:
        raise UnknownJobKindError(f"unknown job kind {name!r}; known: {', '.join(sorted(kinds))}")
    return kinds[name]


def services(pm: pluggy.PluginManager | None = None) -> dict[str, Service]:
    """Every service registered through ``register_services``, by name."""
    manager = pm or plugin_manager()
    found: dict[str, Service] = collect(
        manager.hook.register_services, what="service", name=lambda s: s.name, pm=manager
    )
    return found
