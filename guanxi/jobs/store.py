"""Jobs in the app database: submit, claim, report progress, finish, cancel, list.

Every function works inside the caller's session and does not commit, except
:func:`report_progress` and :func:`append_log`, which a running job calls from
its own short transactions so that others see its progress at once.

Guarantees:

* **At most one job per schedule slot.** A job with a ``slot_key`` is inserted
  with ``INSERT … ON CONFLICT (slot_key) DO NOTHING``: two schedulers racing for
  the same slot create one job and neither fails.
* **One live runner.** Jobs are claimed through :class:`~guanxi.appdb.leasing.LeaseQueue`
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL); a running job renews its lease
  whenever it reports progress and at least every third of the lease; a job
  whose process died is claimed again when its lease runs out (or at once by the
  next owner of an embedded warehouse, see :func:`recover_orphans`), and is
  ``failed`` with the reason after ``jobs_max_attempts`` attempts.
* **Cancellation.** A queued job is cancelled at once; a running one is asked
  to stop (``cancel_requested``) and ends ``cancelled`` at its next check.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from guanxi.appdb.leasing import LeaseQueue, RetryPolicy
from guanxi.config import Settings
from guanxi.jobs.errors import JobFinishedError, JobNotFoundError
from guanxi.jobs.kinds import JobKind
from guanxi.jobs.tables import CANCELLED, FINISHED, STATES, Job

LOG_LIMIT = 64 * 1024
"""A job keeps the last 64 KiB of its log."""
ORIGINS = ("web", "api", "cli", "schedule")


def jobs_queue(settings: Settings) -> LeaseQueue[Job]:
    """The lease queue of jobs, with the ``jobs_*`` settings."""
    return LeaseQueue(
        model=Job,
        states=STATES,
        lease=timedelta(seconds=settings.jobs_lease_seconds),
        retry=RetryPolicy(
            max_attempts=settings.jobs_max_attempts,
            base_delay=timedelta(seconds=settings.jobs_retry_seconds),
            max_delay=timedelta(seconds=max(settings.jobs_retry_seconds, 1800)),
            jitter=0.2,
        ),
    )


def submit(
    session: Session,
    kind: JobKind,
    params: Mapping[str, Any],
    *,
    owner: str,
    origin: str,
    now: datetime,
    slot_key: str | None = None,
) -> Job | None:
    """Queue a job of ``kind`` with ``params`` (checked by the kind first); return it.

    With ``slot_key`` the job is created only if no job holds that key yet;
    ``None`` is returned when one does. Raises the kind's
    :class:`~guanxi.errors.ValidationFailedError` for bad parameters.
    """
    values: dict[str, Any] = {
        "state": STATES.pending,
        "attempts": 0,
        "next_attempt_at": now,
        "kind": kind.name,
        "params": kind.checked(params),
        "owner": owner[:128],
        "origin": origin,
        "writes_warehouse": kind.writes_warehouse,
        "slot_key": slot_key,
        "progress_done": 0,
        "progress_total": 0,
        "progress_message": "",
        "log": "",
        "cancel_requested": False,
        "created_at": now,
    }
    if slot_key is None:
        job = Job(**values)
        session.add(job)
        session.flush()
        return job
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(Job) if dialect == "postgresql" else sqlite.insert(Job)
    statement = insert.values(**values).on_conflict_do_nothing(index_elements=["slot_key"]).returning(Job.id)
    new_id = session.scalars(statement).first()
    return None if new_id is None else session.get(Job, new_id)


def get_job(session: Session, job_id: int) -> Job:
    """The job ``job_id``, read afresh; raises :class:`JobNotFoundError`."""
    job = session.scalars(
        select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
    ).first()
    if job is None:
        raise JobNotFoundError(f"there is no job {job_id}")
    return job


def list_jobs(
    session: Session, *, limit: int = 50, state: str | None = None, kind: str | None = None
) -> list[Job]:
    """The newest jobs first, optionally of one state or kind."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if state is not None:
        query = query.where(Job.state == state)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return list(session.scalars(query))


def state_counts(session: Session) -> dict[str, int]:
    """Jobs per state."""
    return {
        str(state): int(n)
        for state, n in session.execute(select(Job.state, func.count()).group_by(Job.state))
    }


def request_cancel(session: Session, job_id: int, *, now: datetime) -> Job:
    """Cancel a queued job, or ask a running one to stop; raises :class:`JobFinishedError` for an ended job."""
    job = get_job(session, job_id)
    if job.state in FINISHED:
        raise JobFinishedError(f"job {job_id} has already ended ({job.state})")
    if job.state == STATES.claimed:
        job.cancel_requested = True
    else:
        job.state = CANCELLED
        job.finished_at = now
        job.cancel_requested = True
    session.flush()
    return job


def claim(
    session: Session,
    queue: LeaseQueue[Job],
    worker_id: str,
    *,
    now: datetime,
    writer: bool,
    kinds: frozenset[str],
    limit: int = 1,
) -> list[Job]:
    """Lease due jobs of ``kinds`` to ``worker_id``; warehouse-writing jobs only when ``writer``.

    Jobs whose last attempt lost its process are marked ``failed`` (reason
    kept, ``finished_at`` set) instead of being claimed again.
    """
    condition: ColumnElement[bool] = Job.kind.in_(sorted(kinds))
    if not writer:
        condition = and_(condition, Job.writes_warehouse.is_(False))
    jobs = queue.claim(session, worker_id, limit, now, where=condition)
    session.execute(
        update(Job)
        .where(Job.state == STATES.dead, Job.finished_at.is_(None))
        .values(finished_at=now, error_code=func.coalesce(Job.error_code, "job_worker_lost"))
        .execution_options(synchronize_session=False)
    )
    for job in jobs:
        if job.started_at is None:
            job.started_at = now
    session.flush()
    return jobs


def recover_orphans(session: Session, *, now: datetime) -> int:
    """Make running warehouse-writing jobs due at once; returns how many.

    Called by a process that has just become the one writer of an embedded
    warehouse: no other process can be running them, so their previous
    process died and waiting for the lease would only delay the retry.
    """
    result = session.execute(
        update(Job)
        .where(Job.state == STATES.claimed, Job.writes_warehouse.is_(True))
        .values(lease_expires_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def report_progress(
    session: Session,
    job_id: int,
    worker_id: str,
    *,
    done: int,
    total: int,
    message: str,
    now: datetime,
    lease: timedelta,
) -> bool | None:
    """Store progress and renew the lease of a job ``worker_id`` runs; return whether cancel is requested.

    ``None`` when the job is no longer held by ``worker_id`` (its lease was
    lost): the caller should stop. Commits.
    """
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == STATES.claimed, Job.lease_owner == worker_id)
        .values(
            progress_done=max(0, min(done, total)),
            progress_total=max(0, total),
            progress_message=message[:255],
            lease_expires_at=now + lease,
        )
        .execution_options(synchronize_session=False)
    )
    held = bool(result.rowcount)  # type: ignore[attr-defined]
    cancel = session.scalar(select(Job.cancel_requested).where(Job.id == job_id)) if held else None
    session.commit()
    return None if not held else bool(cancel)


def append_log(session: Session, job_id: int, lines: list[str]) -> None:
    """Add ``lines`` to the job's log (the last :data:`LOG_LIMIT` characters are kept). Commits."""
    if not lines:
        return
    current = session.scalar(select(Job.log).where(Job.id == job_id)) or ""
    text = (current + "".join(f"{line}\n" for line in lines))[-LOG_LIMIT:]
    session.execute(
        update(Job).where(Job.id == job_id).values(log=text).execution_options(synchronize_session=False)
    )
    session.commit()


__all__ = [
    "ORIGINS",
    "append_log",
    "claim",
    "get_job",
    "jobs_queue",
    "list_jobs",
    "recover_orphans",
    "report_progress",
    "request_cancel",
    "state_counts",
    "submit",
]
