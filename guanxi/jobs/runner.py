"""Running jobs: one job at a time per runner, with its progress and log kept in the app database.

:func:`execute` runs one claimed job to its end and records the outcome:

* the kind's result → ``done`` (progress set to its total);
* :class:`~guanxi.jobs.errors.JobCancelledError` → ``cancelled``;
* any other :class:`~guanxi.errors.GuanxiError` → ``failed`` at once, with its
  code and message (the user must change something; running it again would fail
  the same way);
* an unexpected exception → ``retrying`` after a back-off, ``failed`` after
  ``jobs_max_attempts`` attempts; the traceback goes to the process log, the
  job keeps the exception's text.

The kind's own transaction rules make a failed or killed attempt leave the
warehouse as before (an import commits at its end, a resolve publishes at its
end), so a retry starts from a clean state.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ibis.backends import BaseBackend
from sqlalchemy.orm import Session, sessionmaker

from guanxi.appdb.leasing import LeaseQueue
from guanxi.config import Settings
from guanxi.errors import GuanxiError
from guanxi.jobs import store
from guanxi.jobs.errors import JobCancelledError
from guanxi.jobs.kinds import JobContext, JobKind, Result
from guanxi.jobs.tables import CANCELLED, STATES, Job
from guanxi.progress import Progress, no_progress

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class StoredProgress:
    """The :class:`~guanxi.progress.Progress` of a running job: writes to its row, renews its lease.

    Writes at most every ``every`` seconds (always for the final step) so a kind
    may report per row; ``also`` receives every call (the CLI's bar). Once the
    job is cancelled (seen at a write or a heartbeat) the next call raises
    :class:`~guanxi.jobs.errors.JobCancelledError`, so every kind stops at its
    next step and its transaction rolls back.
    """

    sessions: sessionmaker[Session]
    job_id: int
    worker_id: str
    queue: LeaseQueue[Job]
    clock: Clock = utc_now
    every: float = 0.5
    also: Progress = no_progress
    cancelled: bool = False
    lost: bool = False
    _last: float = field(default=0.0)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, done: int, total: int, message: str = "") -> None:
        self.also(done, total, message)
        now = time.monotonic()
        if now - self._last < self.every and done < total:
            return
        self._last = now
        self.write(done, total, message)
        if self.cancelled:
            raise JobCancelledError("the job was cancelled")

    def write(self, done: int, total: int, message: str) -> None:
        with self._lock, self.sessions() as session:
            cancel = store.report_progress(
                session,
                self.job_id,
                self.worker_id,
                done=done,
                total=total,
                message=message,
                now=self.clock(),
                lease=self.queue.lease,
            )
        if cancel is None:
            self.lost = True
        elif cancel:
            self.cancelled = True

    def heartbeat(self) -> None:
        """Renew the lease without new progress (called by the runner's heartbeat thread)."""
        with self._lock, self.sessions() as session:
            job = session.get(Job, self.job_id)
            if job is None:
                return
            done, total, message = job.progress_done, job.progress_total, job.progress_message
        self.write(done, total, message)


class _Heartbeat:
    """Renews a running job's lease every third of it, so a slow step never loses the job."""

    def __init__(self, progress: StoredProgress, seconds: float) -> None:
        self.progress = progress
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"job-{progress.job_id}-heartbeat", daemon=True
        )

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.progress.heartbeat()
            except Exception:  # noqa: BLE001 - a failed renewal is retried at the next beat
                log.warning("job %s: lease renewal failed", self.progress.job_id, exc_info=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def execute(
    job: Job,
    kind: JobKind,
    *,
    settings: Settings,
    sessions: sessionmaker[Session],
    warehouse: BaseBackend,
    worker_id: str,
    queue: LeaseQueue[Job],
    clock: Clock = utc_now,
    also: Progress = no_progress,
    rng: random.Random | None = None,
    reraise: bool = False,
) -> Job:
    """Run the claimed ``job`` with ``kind`` and record its outcome; return the job as stored.

    ``also`` receives the progress as well (a CLI running its own job). The
    job's own failure is recorded and not raised — read the returned job's
    ``state``, ``error_code`` and ``last_error`` — unless ``reraise``, when the
    original exception is raised after it is recorded. Ctrl-C
    (``KeyboardInterrupt``) records the job as cancelled and is always raised.
    """
    progress = StoredProgress(sessions, job.id, worker_id, queue, clock=clock, also=also)
    lines: list[str] = []

    def write_log(line: str) -> None:
        stamp = clock().astimezone(settings.zone).strftime("%H:%M:%S")
        lines.append(f"{stamp} {line}")
        with sessions() as session:
            store.append_log(session, job.id, lines[-1:])

    context = JobContext(
        settings=settings,
        warehouse=warehouse,
        sessions=sessions,
        now=clock(),
        progress=progress,
        log=write_log,
        cancelled=lambda: progress.cancelled,
        job_id=job.id,
        owner=job.owner,
    )
    write_log(f"started by {worker_id} (attempt {job.attempts})")
    outcome: tuple[str, Any]
    try:
        with _Heartbeat(progress, max(queue.lease.total_seconds() / 3, 0.05)):
            result: Result = kind.run(context, job.params)
        outcome = ("done", result)
    except KeyboardInterrupt:
        _record(
            job,
            ("cancelled", JobCancelledError("interrupted (Ctrl-C)")),
            sessions=sessions,
            worker_id=worker_id,
            queue=queue,
            clock=clock,
            rng=rng,
            write_log=write_log,
        )
        raise
    except JobCancelledError as err:
        outcome = ("cancelled", err)
    except GuanxiError as err:
        outcome = ("error", err)
    except Exception as err:  # noqa: BLE001 - recorded on the job, retried
        log.exception("job %s (%s) failed", job.id, kind.name)
        outcome = ("crash", err)
    stored = _record(
        job,
        outcome,
        sessions=sessions,
        worker_id=worker_id,
        queue=queue,
        clock=clock,
        rng=rng,
        write_log=write_log,
    )
    if reraise and isinstance(outcome[1], BaseException):
        raise outcome[1]
    return stored


def _record(
    job: Job,
    outcome: tuple[str, Any],
    *,
    sessions: sessionmaker[Session],
    worker_id: str,
    queue: LeaseQueue[Job],
    clock: Clock,
    rng: random.Random | None,
    write_log: Callable[[str], None],
) -> Job:
    what, value = outcome
    now = clock()
    if what == "done":
        write_log("done")
    elif what == "cancelled":
        write_log("cancelled")
    else:
        write_log(f"error: {value}")
    with sessions() as session, session.begin():
        stored = store.get_job(session, job.id)
        if what == "done":
            queue.finish(
                session,
                stored,
                worker_id,
                result=value,
                finished_at=now,
                progress_done=max(stored.progress_total, 1),
                progress_total=max(stored.progress_total, 1),
            )
        elif what == "cancelled":
            queue.finish(
                session,
                stored,
                worker_id,
                state=CANCELLED,
                finished_at=now,
                error_code=value.code,
                last_error=value.message,
            )
        elif what == "error":
            state = queue.fail(
                session,
                stored,
                worker_id,
                now=now,
                error=value.message,
                permanent=True,
                rng=rng or random.Random(),  # noqa: S311 - retry jitter, not a secret
            )
            if state is not None:
                stored.error_code = value.code
                stored.finished_at = now
        else:
            state = queue.fail(
                session,
                stored,
                worker_id,
                now=now,
                error=f"{type(value).__name__}: {value}",
                permanent=False,
                rng=rng or random.Random(),  # noqa: S311 - retry jitter, not a secret
            )
            if state == STATES.dead:
                stored.error_code = "job_crashed"
                stored.finished_at = now
        session.flush()
        session.expunge(stored)
    return stored


def run_pending(
    *,
    settings: Settings,
    sessions: sessionmaker[Session],
    warehouse: BaseBackend,
    worker_id: str,
    kinds: dict[str, JobKind],
    writer: bool,
    clock: Clock = utc_now,
    limit: int | None = None,
) -> int:
    """Claim and run due jobs one at a time until none is due (or ``limit`` ran); returns how many ran."""
    queue = store.jobs_queue(settings)
    ran = 0
    while limit is None or ran < limit:
        with sessions() as session, session.begin():
            claimed = store.claim(
                session, queue, worker_id, now=clock(), writer=writer, kinds=frozenset(kinds), limit=1
            )
            for job in claimed:
                session.expunge(job)
        if not claimed:
            return ran
        job = claimed[0]
        execute(
            job,
            kinds[job.kind],
            settings=settings,
            sessions=sessions,
            warehouse=warehouse,
            worker_id=worker_id,
            queue=queue,
            clock=clock,
        )
        ran += 1
    return ran
