"""Starting a job from a command: run it here, or queue it to the warehouse's writer and follow it.

:func:`run_or_queue` is what ``guanxi import``, ``guanxi resolve``, ``guanxi
models run`` and ``guanxi segments refresh`` call:

* when this process can be the writer (nobody holds the embedded warehouse, or
  the warehouse is not an embedded file), the job runs **here**, recorded in the
  app database like any job when it is migrated, with the caller's progress;
* when ``guanxi serve`` or ``guanxi worker`` holds the warehouse, the job is
  **queued** to it and followed until it ends: the caller's progress shows the
  job's, and the outcome is the same — the result is returned, a failure raised
  as a :class:`~guanxi.errors.GuanxiError` with the job's code and message;
* when another command holds it (it takes no jobs), this one waits for it to
  finish (``wait=True``) or raises :class:`WarehouseBusyError`.

Either way the caller prints the same report from the returned result.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pluggy
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.migrate import current_revision, head_revision
from guanxi.config import Settings
from guanxi.errors import ConfigError, GuanxiError
from guanxi.jobs import store
from guanxi.jobs.errors import JobCancelledError, WarehouseBusyError
from guanxi.jobs.kinds import JobContext, Params, Result
from guanxi.jobs.registry import job_kind
from guanxi.jobs.runner import Clock, execute, utc_now
from guanxi.jobs.tables import CANCELLED, STATES, Job
from guanxi.jobs.writer import Holder, WriterLock, holder
from guanxi.progress import Progress, no_progress
from guanxi.warehouse import connect

FOLLOW_POLL_SECONDS = 0.25


def cli_owner() -> str:
    """``cli:LOGIN`` for jobs started from this terminal."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return f"cli:{login}"


def process_id() -> str:
    """``host:pid``, the name of this process in leases and logs."""
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def _app_db(settings: Settings) -> Iterator[tuple[sessionmaker[Session], bool]]:
    """Sessions on the app database, and whether it is migrated to this version (jobs can be recorded)."""
    engine: Engine = make_engine(settings)
    try:
        try:
            migrated = current_revision(engine) == head_revision()
        except Exception:  # noqa: BLE001 - an unreadable app database only means: not migrated
            migrated = False
        yield session_factory(engine), migrated
    finally:
        engine.dispose()


def run_or_queue(
    settings: Settings,
    kind_name: str,
    params: Params,
    *,
    progress: Progress = no_progress,
    on_queued: Callable[[Job, Holder], None] | None = None,
    on_wait: Callable[[Holder], None] | None = None,
    owner: str | None = None,
    pm: pluggy.PluginManager | None = None,
    clock: Clock = utc_now,
    wait: bool = True,
) -> Result:
    """Run a job of ``kind_name`` here or in the warehouse's writer (see the module docstring).

    Raises the kind's own error when run here, a :class:`GuanxiError` with the
    job's code and message when the queued job failed,
    :class:`~guanxi.jobs.errors.JobCancelledError` when it was cancelled, and
    :class:`ConfigError` when the job must be queued but the app database is not
    migrated (``guanxi init``).
    """
    kind = job_kind(kind_name, pm)
    checked = kind.checked(params)
    who = owner or cli_owner()
    lock = WriterLock(settings, role="cli", takes_jobs=False)
    waited = False
    while True:
        if not kind.writes_warehouse or lock.acquire():
            break
        current = holder(settings)
        if current is not None and current.takes_jobs:
            return _queue_and_follow(
                settings, kind_name, checked, who, current, progress, on_queued, pm, clock
            )
        if not wait:
            raise WarehouseBusyError(
                f"the warehouse is in use by {current.describe() if current else 'another process'}; "
                "try again when it has finished"
            )
        if not waited and current is not None and on_wait is not None:
            on_wait(current)
        waited = True
        time.sleep(FOLLOW_POLL_SECONDS)
    try:
        return _run_here(settings, kind_name, checked, who, progress, pm, clock)
    finally:
        lock.release()


def _run_here(
    settings: Settings,
    kind_name: str,
    params: dict[str, Any],
    owner: str,
    progress: Progress,
    pm: pluggy.PluginManager | None,
    clock: Clock,
) -> Result:
    kind = job_kind(kind_name, pm)
    with _app_db(settings) as (sessions, migrated):
        con = connect(settings)
        try:
            if not migrated:
                context = JobContext(
                    settings=settings,
                    warehouse=con,
                    sessions=sessions,
                    now=clock(),
                    progress=progress,
                    owner=owner,
                )
                return kind.run(context, params)
            worker = process_id()
            queue = store.jobs_queue(settings)
            with sessions() as session, session.begin():
                job = store.submit(session, kind, params, owner=owner, origin="cli", now=clock())
                assert job is not None
                now = clock()
                job.state, job.attempts, job.lease_owner = STATES.claimed, 1, worker
                job.lease_expires_at, job.started_at = now + queue.lease, now
                session.flush()
                session.expunge(job)
            done = execute(
                job,
                kind,
                settings=settings,
                sessions=sessions,
                warehouse=con,
                worker_id=worker,
                queue=queue,
                clock=clock,
                also=progress,
                reraise=True,
            )
            assert done.result is not None
            return done.result
        finally:
            con.disconnect()


def _queue_and_follow(
    settings: Settings,
    kind_name: str,
    params: dict[str, Any],
    owner: str,
    current: Holder,
    progress: Progress,
    on_queued: Callable[[Job, Holder], None] | None,
    pm: pluggy.PluginManager | None,
    clock: Clock,
) -> Result:
    kind = job_kind(kind_name, pm)
    with _app_db(settings) as (sessions, migrated):
        if not migrated:
            raise ConfigError(
                f"the warehouse is held by {current.describe()}, so this command must be queued to it, "
                "but the app database is not migrated: run `guanxi init`"
            )
        with sessions() as session, session.begin():
            job = store.submit(session, kind, params, owner=owner, origin="cli", now=clock())
            assert job is not None
            session.flush()
            session.expunge(job)
        if on_queued is not None:
            on_queued(job, current)
        return follow(sessions, job.id, progress=progress, clock=clock)


def follow(
    sessions: sessionmaker[Session],
    job_id: int,
    *,
    progress: Progress = no_progress,
    clock: Clock = utc_now,
    poll_seconds: float = FOLLOW_POLL_SECONDS,
) -> Result:
    """Wait for job ``job_id`` to end, passing its progress on; return its result or raise its error.

    Ctrl-C asks the job to stop and keeps following until it has (a second
    Ctrl-C leaves it running and raises ``KeyboardInterrupt``).
    """
    seen: tuple[int, int, str] | None = None
    interrupted = False
    while True:
        try:
            with sessions() as session:
                job = store.get_job(session, job_id)
                session.expunge(job)
            now_seen = (job.progress_done, job.progress_total, job.progress_message)
            if now_seen != seen and job.progress_total:
                progress(*now_seen)
                seen = now_seen
            if job.state == STATES.done:
                return job.result or {}
            if job.state == CANCELLED:
                raise JobCancelledError(f"job {job_id} was cancelled")
            if job.state == STATES.dead:
                raise GuanxiError(
                    job.last_error or f"job {job_id} failed", code=job.error_code or "job_failed"
                )
            time.sleep(poll_seconds)
        except KeyboardInterrupt:
            if interrupted:
                raise
            interrupted = True
            with sessions() as session, session.begin():
                store.request_cancel(session, job_id, now=clock())
