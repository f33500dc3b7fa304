"""Running jobs: outcomes, retries, lost processes, cancellation, progress; and a command run here."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from ibis.backends import BaseBackend
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from guanxi.appdb.database import session_factory
from guanxi.config import Settings
from guanxi.errors import ValidationFailedError
from guanxi.jobs import store
from guanxi.jobs.kinds import JobContext, JobKind, Params, Result
from guanxi.jobs.launch import run_or_queue
from guanxi.jobs.registry import job_kind
from guanxi.jobs.runner import run_pending
from guanxi.jobs.tables import Job
from guanxi.plugins import hookimpl, using_plugins
from guanxi.warehouse import connect


def _ok(context: JobContext, params: Params) -> Result:
    for step in range(3):
        context.progress(step, 3, f"step {step}")
    return {"doubled": 2 * int(params.get("n", 0))}


def _refused(context: JobContext, params: Params) -> Result:
    raise ValidationFailedError("the file has no order id column", code="mapping_invalid")


def _crash(context: JobContext, params: Params) -> Result:
    raise RuntimeError("disk full")


RELEASE = threading.Event()


def _slow(context: JobContext, params: Params) -> Result:
    """Writes a row in a transaction, then reports progress until cancelled (which rolls the row back)."""
    raw: Any = getattr(context.warehouse, "con")  # noqa: B009
    raw.execute("CREATE TABLE IF NOT EXISTS slow_marks (n INTEGER)")
    raw.execute("BEGIN")
    try:
        raw.execute("INSERT INTO slow_marks VALUES (1)")
        for step in range(400):
            context.progress(step, 400, "waiting")
            time.sleep(0.02)
            if RELEASE.is_set():
                break
        raw.execute("COMMIT")
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    return {"finished": True}


class TestKinds:
    @hookimpl
    def register_job_kinds(self) -> list[JobKind]:
        return [
            JobKind("test.ok", _ok, "doubles n"),
            JobKind("test.refused", _refused),
            JobKind("test.crash", _crash),
            JobKind("test.slow", _slow),
        ]


@pytest.fixture(autouse=True)
def kinds() -> Iterator[None]:
    with using_plugins(TestKinds()):
        yield


@pytest.fixture
def sessions(app_engine: Engine) -> sessionmaker[Session]:
    return session_factory(app_engine)


@pytest.fixture
def warehouse(app_settings: Settings) -> Iterator[BaseBackend]:
    con = connect(app_settings)
    yield con
    con.disconnect()


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _submit(sessions: sessionmaker[Session], kind: str, now: datetime, **params: Any) -> int:
    with sessions() as session, session.begin():
        job = store.submit(session, job_kind(kind), params, owner="tester", origin="api", now=now)
        assert job is not None
        return job.id


def _job(sessions: sessionmaker[Session], job_id: int) -> Job:
    with sessions() as session:
        job = store.get_job(session, job_id)
        session.expunge(job)
        return job


def _run(
    settings: Settings, sessions: sessionmaker[Session], warehouse: BaseBackend, clock: Clock, **kw: Any
) -> int:
    from guanxi.jobs.registry import job_kinds  # noqa: PLC0415

    return run_pending(
        settings=settings,
        sessions=sessions,
        warehouse=warehouse,
        worker_id=kw.get("worker", "w1"),
        kinds=job_kinds(),
        writer=True,
        clock=clock,
        limit=kw.get("limit"),
    )


def test_a_job_runs_to_done_with_its_result_progress_and_log(
    app_settings: Settings, sessions: sessionmaker[Session], warehouse: BaseBackend, now: datetime
) -> None:
    clock = Clock(now)
    job_id = _submit(sessions, "test.ok", now, n=21)
    assert _job(sessions, job_id).state == "queued"
    assert _run(app_settings, sessions, warehouse, clock) == 1
    job = _job(sessions, job_id)
    assert (job.state, job.result, job.attempts) == ("done", {"doubled": 42}, 1)
    assert (job.progress_done, job.progress_total) == (job.progress_total, 3)
    assert job.started_at == now
    assert job.finished_at == now
    assert "started by w1 (attempt 1)" in job.log
    assert job.log.rstrip().endswith("done")
    assert _run(app_settings, sessions, warehouse, clock) == 0


def test_a_job_the_user_must_fix_fails_at_once_with_its_code(
    app_settings: Settings, sessions: sessionmaker[Session], warehouse: BaseBackend, now: datetime
) -> None:
    job_id = _submit(sessions, "test.refused", now)
    _run(app_settings, sessions, warehouse, Clock(now))
    job = _job(sessions, job_id)
    assert (job.state, job.error_code, job.attempts) == ("failed", "mapping_invalid", 1)
    assert job.last_error == "the file has no order id column"
    assert job.finished_at == now
    assert job.to_dict()["error"] == "the file has no order id column"


def test_a_crashing_job_is_retried_after_a_pause_then_failed(
    app_settings: Settings, sessions: sessionmaker[Session], warehouse: BaseBackend, now: datetime
) -> None:
    clock = Clock(now)
    job_id = _submit(sessions, "test.crash", now)
    _run(app_settings, sessions, warehouse, clock)
    job = _job(sessions, job_id)
    assert (job.state, job.attempts, job.last_error) == ("retrying", 1, "RuntimeError: disk full")
    assert job.next_attempt_at > now
    assert _run(app_settings, sessions, warehouse, clock) == 0  # not yet due
    for _ in range(app_settings.jobs_max_attempts - 1):
        clock.now += timedelta(hours=2)
        assert _run(app_settings, sessions, warehouse, clock) == 1
    job = _job(sessions, job_id)
    assert (job.state, job.attempts, job.error_code) == (
        "failed",
        app_settings.jobs_max_attempts,
        "job_crashed",
    )


def test_a_job_whose_process_died_is_taken_over_after_its_lease_then_failed_with_the_reason(
    app_settings: Settings, sessions: sessionmaker[Session], now: datetime
) -> None:
    queue = store.jobs_queue(app_settings)
    job_id = _submit(sessions, "test.ok", now)
    at = now
    for attempt in range(1, app_settings.jobs_max_attempts + 1):
        with sessions() as session, session.begin():  # a process claims it … and dies
            claimed = store.claim(
                session, queue, f"dead-{attempt}", now=at, writer=True, kinds=frozenset({"test.ok"})
            )
            assert [job.id for job in claimed] == [job_id]
        with sessions() as session, session.begin():  # within the lease nobody else takes it
            assert (
                store.claim(
                    session,
                    queue,
                    "other",
                    now=at + queue.lease / 2,
                    writer=True,
                    kinds=frozenset({"test.ok"}),
                )
                == []
            )
        at += queue.lease + timedelta(seconds=1)
    with sessions() as session, session.begin():
        assert store.claim(session, queue, "other", now=at, writer=True, kinds=frozenset({"test.ok"})) == []
    job = _job(sessions, job_id)
    assert (job.state, job.error_code, job.attempts) == (
        "failed",
        "job_worker_lost",
        app_settings.jobs_max_attempts,
    )
    assert job.last_error == "the worker holding the last attempt disappeared"


def test_the_next_writer_takes_over_orphans_without_waiting_for_the_lease(
    app_settings: Settings, sessions: sessionmaker[Session], now: datetime
) -> None:
    queue = store.jobs_queue(app_settings)
    job_id = _submit(sessions, "test.ok", now)
    with sessions() as session, session.begin():
        store.claim(session, queue, "dead", now=now, writer=True, kinds=frozenset({"test.ok"}))
    with sessions() as session, session.begin():
        assert store.recover_orphans(session, now=now) == 1
    with sessions() as session, session.begin():
        claimed = store.claim(session, queue, "next", now=now, writer=True, kinds=frozenset({"test.ok"}))
        assert [(job.id, job.attempts) for job in claimed] == [(job_id, 2)]


def test_a_process_that_is_not_the_writer_never_takes_warehouse_jobs(
    app_settings: Settings, sessions: sessionmaker[Session], now: datetime
) -> None:
    queue = store.jobs_queue(app_settings)
    _submit(sessions, "test.ok", now)
    with sessions() as session, session.begin():
        assert (
            store.claim(session, queue, "reader", now=now, writer=False, kinds=frozenset({"test.ok"})) == []
        )


def test_cancelling_a_queued_job_ends_it_and_a_finished_one_cannot_be(
    app_settings: Settings, sessions: sessionmaker[Session], warehouse: BaseBackend, now: datetime
) -> None:
    job_id = _submit(sessions, "test.ok", now)
    with sessions() as session, session.begin():
        assert store.request_cancel(session, job_id, now=now).state == "cancelled"
    assert _run(app_settings, sessions, warehouse, Clock(now)) == 0
    with sessions() as session, session.begin(), pytest.raises(Exception, match="has already ended"):
        store.request_cancel(session, job_id, now=now)


def test_cancelling_a_running_job_stops_it_at_its_next_step_and_rolls_its_work_back(
    app_settings: Settings, sessions: sessionmaker[Session], warehouse: BaseBackend, now: datetime
) -> None:
    RELEASE.clear()
    job_id = _submit(sessions, "test.slow", now)
    runner = threading.Thread(
        target=_run, args=(app_settings, sessions, warehouse, Clock(now)), kwargs={"limit": 1}
    )
    runner.start()
    deadline = time.monotonic() + 20
    while _job(sessions, job_id).state != "running" or not _job(sessions, job_id).progress_total:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with sessions() as session, session.begin():
        assert store.request_cancel(session, job_id, now=now).state == "running"
    runner.join(timeout=30)
    job = _job(sessions, job_id)
    assert (job.state, job.error_code) == ("cancelled", "job_cancelled")
    assert warehouse.table("slow_marks").count().to_pyarrow().as_py() == 0


def test_a_command_with_nobody_holding_the_warehouse_runs_here_and_is_recorded(
    app_settings: Settings, sessions: sessionmaker[Session], now: datetime
) -> None:
    seen: list[tuple[int, int, str]] = []
    result = run_or_queue(
        app_settings,
        "test.ok",
        {"n": 5},
        progress=lambda d, t, m="": seen.append((d, t, m)),
        clock=Clock(now),
    )
    assert result == {"doubled": 10}
    assert seen[:3] == [(0, 3, "step 0"), (1, 3, "step 1"), (2, 3, "step 2")]
    with sessions() as session:
        [job] = store.list_jobs(session)
        assert (job.kind, job.state, job.origin, job.owner.startswith("cli:")) == (
            "test.ok",
            "done",
            "cli",
            True,
        )


def test_a_command_run_here_raises_the_kinds_own_error_after_recording_it(
    app_settings: Settings, sessions: sessionmaker[Session], now: datetime
) -> None:
    with pytest.raises(ValidationFailedError, match="no order id column"):
        run_or_queue(app_settings, "test.refused", {}, clock=Clock(now))
    with sessions() as session:
        [job] = store.list_jobs(session)
        assert (job.state, job.error_code) == ("failed", "mapping_invalid")


def test_a_pipeline_runs_its_steps_in_order_and_reports_whole_steps(
    app_settings: Settings, sessions: sessionmaker[Session], warehouse: BaseBackend, now: datetime
) -> None:
    job_id = _submit(
        sessions,
        "pipeline",
        now,
        steps=[{"kind": "test.ok", "params": {"n": 1}}, {"kind": "test.ok", "params": {"n": 2}}],
    )
    _run(app_settings, sessions, warehouse, Clock(now))
    job = _job(sessions, job_id)
    assert job.state == "done"
    assert job.result == {
        "steps": [
            {"kind": "test.ok", "result": {"doubled": 2}},
            {"kind": "test.ok", "result": {"doubled": 4}},
        ]
    }
    assert (job.progress_done, job.progress_total) == (200, 200)
    assert "step 2/2: test.ok" in job.log


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        ([], "non-empty list of steps"),
        ([{"kind": "test.nope"}], "unknown job kind 'test.nope'"),
        ([{"kind": "pipeline", "params": {"steps": []}}], "cannot contain a pipeline"),
    ],
)
def test_a_bad_pipeline_is_refused_before_it_is_queued(
    sessions: sessionmaker[Session], now: datetime, steps: list[dict[str, Any]], problem: str
) -> None:
    with pytest.raises(ValidationFailedError, match=problem):
        _submit(sessions, "pipeline", now, steps=steps)
