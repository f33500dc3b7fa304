"""``/v1/jobs``: background jobs — list, read (progress, result, error, log), start, cancel.

Reading needs ``view``. Starting a job, and cancelling one, needs the
permission its kind names (``JobKind.permission``: ``import`` for imports,
resolve and model runs, ``edit`` for segment refreshes, ``view`` for exports);
see :mod:`guanxi.web.jobs`. A started job answers ``202 Accepted`` with the job
and ``Location: /v1/jobs/{id}``; poll that until ``finished`` is true.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from guanxi.errors import ValidationFailedError
from guanxi.jobs import store
from guanxi.jobs.registry import job_kinds
from guanxi.jobs.tables import ALL_STATES, Job
from guanxi.web.auth import CanView
from guanxi.web.jobs import cancel_job, start_job
from guanxi.web.state import DbSession, State

router = APIRouter(tags=["jobs"])
JobId = Annotated[int, Path(ge=1)]
Limit = Annotated[int, Query(ge=1, le=500)]


class JobProgressPublic(BaseModel):
    done: int
    total: int
    message: str


class JobPublic(BaseModel):
    """A job as stored, with its kind's title per language (``{"zh-CN": "导入", "en": "Import"}``)."""

    id: int
    kind: str
    title: dict[str, str]
    state: str = Field(description="queued, running, done, retrying, failed or cancelled")
    finished: bool
    params: dict[str, Any]
    owner: str
    origin: str
    attempts: int
    progress: JobProgressPublic
    result: dict[str, Any] | None
    error: str | None
    error_code: str | None
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    log: list[str]

    @classmethod
    def of(cls, job: Job) -> JobPublic:
        kind = job_kinds().get(job.kind)
        title = dict(kind.title) if kind is not None else {}
        return cls.model_validate({**job.to_dict(), "title": title, "finished": job.finished})


class JobCreate(BaseModel):
    """A job to start: a kind (``GET /v1/jobs`` lists them on each job; ``guanxi jobs kinds``) and its parameters."""

    kind: str = Field(max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)


def accepted(response: Response, job: Job) -> JobPublic:
    """Mark ``response`` as the start of ``job`` (202 with its ``Location``)."""
    response.status_code = 202
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return JobPublic.of(job)


@router.get("/jobs", summary="List jobs")
def job_list(
    principal: CanView,
    session: DbSession,
    state: Annotated[str | None, Query(max_length=16)] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
) -> list[JobPublic]:
    """The newest jobs first, optionally of one ``state`` or ``kind``."""
    if state is not None and state not in ALL_STATES:
        raise ValidationFailedError(f"unknown job state {state!r}; use one of: {', '.join(ALL_STATES)}")
    return [JobPublic.of(job) for job in store.list_jobs(session, limit=limit, state=state, kind=kind)]


@router.post("/jobs", status_code=202, summary="Start a job")
def create_job(
    body: JobCreate, response: Response, principal: CanView, session: DbSession, state: State
) -> JobPublic:
    """Queue a job of ``kind`` with ``params`` (checked first: bad parameters are a 422, nothing queued)."""
    job = start_job(state, session, principal, body.kind, body.params, origin="api")
    return accepted(response, job)


@router.get("/jobs/{job_id}", summary="One job")
def job(job_id: JobId, principal: CanView, session: DbSession) -> JobPublic:
    """The job with its progress, result (an import's report …), error and log."""
    return JobPublic.of(store.get_job(session, job_id))


@router.post("/jobs/{job_id}/cancel", summary="Cancel a job")
def cancel(job_id: JobId, principal: CanView, session: DbSession, state: State) -> JobPublic:
    """Cancel a queued job at once, or ask a running one to stop at its next step (``cancel_requested``).

    An ended job answers ``409 job_finished``.
    """
    return JobPublic.of(cancel_job(state, session, principal, job_id))
