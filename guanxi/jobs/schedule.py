"""Schedules: jobs created on cron-like slots, once per slot even with several schedulers.

A schedule is a ``GUANXI_SCHEDULE_<NAME>`` variable (environment or ``.env``)::

    GUANXI_SCHEDULE_NIGHTLY="0 2 * * * models.run:incremental=true segments.refresh"
    GUANXI_SCHEDULE_HOURLY_EVENTS="15 * * * * resolve"
    GUANXI_SCHEDULE_NIGHTLY=off

five cron fields (minute hour day-of-month month day-of-week, read by cronsim,
in ``Settings.timezone``), then one or more job kinds, each with optional
``key=value`` parameters after a colon (comma-separated; ``true``/``false`` and
integers are converted). Several kinds run in order as one ``pipeline`` job.
Without any variable the default is :data:`DEFAULT_SCHEDULES` (incremental
models and a segment refresh at 02:00 every night).

Guarantees:

* **Once per slot.** The job of a slot carries ``slot_key = schedule:NAME:SLOT``
  (unique in the app database): of several schedulers seeing the same slot, one
  creates the job, the others nothing.
* **Missed slots run once.** A scheduler creates the job of the *latest* slot
  not after now; slots missed while nothing ran are not replayed one by one,
  but the latest of them runs once when a scheduler comes back. Slots before a
  schedule was first seen (recorded in ``job_schedules``) never run, so a new
  installation does not start with last night's job.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import cronsim
from dotenv import dotenv_values
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from guanxi.config import ENV_FILE, Settings
from guanxi.errors import ConfigError
from guanxi.jobs import store
from guanxi.jobs.kinds import JobKind
from guanxi.jobs.tables import Job, JobSchedule

PREFIX = "GUANXI_SCHEDULE_"
DEFAULT_SCHEDULES: dict[str, str] = {"nightly": "0 2 * * * models.run:incremental=true segments.refresh"}
"""The schedules in force when no ``GUANXI_SCHEDULE_*`` variable names them."""
PIPELINE = "pipeline"
_NAME = re.compile(r"^[a-z0-9_]{1,48}$")


@dataclass(frozen=True)
class Step:
    """One job kind of a schedule with its parameters."""

    kind: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Schedule:
    """A named cron expression and the steps it starts."""

    name: str
    cron: str
    steps: tuple[Step, ...]

    def job(self) -> tuple[str, dict[str, Any]]:
        """The kind and parameters of the one job a slot creates (a pipeline for several steps)."""
        if len(self.steps) == 1:
            return self.steps[0].kind, dict(self.steps[0].params)
        return PIPELINE, {"steps": [{"kind": s.kind, "params": s.params} for s in self.steps]}

    def latest_slot(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The latest slot at or before ``now`` (aware), in ``zone``."""
        local = now.astimezone(zone).replace(second=0, microsecond=0)
        if _matches(self.cron, local):
            return local
        return next(iter(cronsim.CronSim(self.cron, local, reverse=True)))


def _matches(cron: str, moment: datetime) -> bool:
    following = next(iter(cronsim.CronSim(cron, moment - timedelta(minutes=1))))
    return bool(following == moment)


def _value(text: str) -> Any:
    lowered = text.lower()
    if lowered in {"true", "yes", "on"}:
        return True
    if lowered in {"false", "no", "off"}:
        return False
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def parse_schedule(name: str, text: str) -> Schedule | None:
    """Read one schedule (``None`` for ``off``); raises :class:`ConfigError` naming the variable."""
    variable = PREFIX + name.upper()
    words = text.split()
    if not words or words == ["off"] or words == ["none"]:
        return None
    if not _NAME.match(name):
        raise ConfigError(f"{variable}: a schedule name is lower-case letters, digits and _")
    if len(words) < 6:
        raise ConfigError(
            f"{variable}={text!r}: expected five cron fields and at least one job kind, "
            'e.g. "0 2 * * * models.run:incremental=true segments.refresh"'
        )
    cron = " ".join(words[:5])
    try:
        cronsim.CronSim(cron, datetime(2026, 1, 1, tzinfo=UTC))
    except cronsim.CronSimError as err:
        raise ConfigError(f"{variable}: {cron!r} is not a cron expression: {err}") from err
    steps = []
    for word in words[5:]:
        kind, _, rest = word.partition(":")
        params: dict[str, Any] = {}
        for pair in filter(None, rest.split(",")):
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise ConfigError(f"{variable}: parameter {pair!r} of {kind} must be key=value")
            params[key] = _value(value)
        steps.append(Step(kind, params))
    return Schedule(name, cron, tuple(steps))


def load_schedules(
    settings: Settings, environ: Mapping[str, str] | None = None, env_file: str | None = ENV_FILE
) -> list[Schedule]:
    """Every schedule in force: the defaults overridden (or switched off) by ``GUANXI_SCHEDULE_*``."""
    del settings  # schedules read their own variables; the time zone comes from settings at use
    found: dict[str, str] = dict(DEFAULT_SCHEDULES)
    sources: list[Mapping[str, str | None]] = []
    if env_file and os.path.exists(env_file):
        sources.append(dotenv_values(env_file))
    sources.append(os.environ if environ is None else environ)
    for source in sources:
        for key, value in source.items():
            if key.upper().startswith(PREFIX) and value is not None:
                found[key[len(PREFIX) :].lower()] = value
    schedules = [parse_schedule(name, text) for name, text in sorted(found.items())]
    return [s for s in schedules if s is not None]


def check_kinds(schedules: list[Schedule], kinds: Mapping[str, JobKind]) -> None:
    """Raise :class:`ConfigError` when a schedule names a job kind nobody registered."""
    for schedule in schedules:
        for step in schedule.steps:
            if step.kind not in kinds:
                raise ConfigError(
                    f"{PREFIX}{schedule.name.upper()}: unknown job kind {step.kind!r}; "
                    f"known: {', '.join(sorted(kinds))}"
                )


def create_due_jobs(
    session: Session,
    schedules: list[Schedule],
    kinds: Mapping[str, JobKind],
    *,
    now: datetime,
    zone: ZoneInfo,
) -> list[Job]:
    """Create the job of each schedule's latest due slot unless it exists; return the new jobs.

    Safe to call from any number of processes at once (see the module's
    guarantees). The caller commits.
    """
    created: list[Job] = []
    for schedule in schedules:
        seen = _first_seen(session, schedule.name, now)
        slot = schedule.latest_slot(now, zone)
        if slot < seen:
            continue
        kind_name, params = schedule.job()
        job = store.submit(
            session,
            kinds[kind_name],
            params,
            owner=f"schedule:{schedule.name}",
            origin="schedule",
            now=now,
            slot_key=f"schedule:{schedule.name}:{slot.isoformat()}",
        )
        if job is not None:
            record = session.get(JobSchedule, schedule.name)
            if record is not None:
                record.last_slot_at = slot
            created.append(job)
    return created


def _first_seen(session: Session, name: str, now: datetime) -> datetime:
    record = session.scalar(select(JobSchedule).where(JobSchedule.name == name))
    if record is not None:
        return record.first_seen_at
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(JobSchedule) if dialect == "postgresql" else sqlite.insert(JobSchedule)
    session.execute(
        insert.values(name=name, first_seen_at=now).on_conflict_do_nothing(index_elements=["name"])
    )
    stored = session.scalar(select(JobSchedule.first_seen_at).where(JobSchedule.name == name))
    return stored if stored is not None else now
