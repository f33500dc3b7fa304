"""任务: background jobs — the list (filtered by state or kind), one job with its live progress, start, cancel.

Reading needs ``view``. The start buttons (resolve, an incremental model run,
a segment refresh) and a job's cancel button show only to roles whose
permission covers that kind (:mod:`guanxi.web.jobs`), and the routes check it
again. A job page that is not finished loads ``/static/jobs.js``, which polls
``/v1/jobs/{id}`` about every second, moves the progress bar in place and
reloads the page when the job's state changes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from guanxi.errors import ValidationFailedError
from guanxi.jobs import store
from guanxi.jobs.errors import JobFinishedError
from guanxi.jobs.kinds import JobKind
from guanxi.jobs.registry import job_kinds
from guanxi.jobs.tables import ALL_STATES, Job
from guanxi.web.auth import CanView, Principal
from guanxi.web.csrf import CsrfChecked
from guanxi.web.i18n import translator
from guanxi.web.job_results import percent, result_sections, shown_params
from guanxi.web.jobs import cancel_job, may_start, start_job
from guanxi.web.pages import flash, locale_of, render
from guanxi.web.state import DbSession, State

router = APIRouter()
JobId = Annotated[int, Path(ge=1)]
LIST_LIMIT = 100
"""The jobs page shows the newest 100 jobs of the chosen state and kind."""

QUICK_STARTS: dict[str, tuple[str, dict[str, Any]]] = {
    "resolve": ("resolve", {}),
    "models_incremental": ("models.run", {"incremental": True}),
    "segments_refresh": ("segments.refresh", {}),
}
"""The jobs the jobs page can start with one button: name → (kind, parameters); labels ``jobs.start.<name>``."""

STEP_WORDS = (
    "read",
    "normalise",
    "validate",
    "merge",
    "done",
    "reading sightings",
    "numbering records",
    "collecting identifiers",
    "flagging identifiers",
    "collecting observations",
    "probabilistic matching",
    "building edges",
    "connecting the graph",
    "assigning ids",
    "building golden records",
    "publishing",
    "preparing inputs",
    "writing outputs",
)
"""Progress messages of the built-in kinds that have a word ``jobs.step.<message>`` in the catalogues."""


def _label(kinds: dict[str, JobKind], name: str, locale: str) -> str:
    kind = kinds.get(name)
    return kind.label(locale) if kind is not None else name


def quick_starts(principal: Principal, kinds: dict[str, JobKind]) -> list[str]:
    """The start buttons ``principal`` may use (their kinds registered and allowed)."""
    return [
        name
        for name, (kind, _params) in QUICK_STARTS.items()
        if kind in kinds and may_start(principal, kinds[kind])
    ]


@router.get("/jobs")
def job_list(
    request: Request,
    principal: CanView,
    session: DbSession,
    state: State,
    filter_state: Annotated[str | None, Query(alias="state", max_length=16)] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The newest jobs, optionally of one state (tabs with counts) or kind."""
    if filter_state == "":
        filter_state = None
    if kind == "":
        kind = None
    if filter_state is not None and filter_state not in ALL_STATES:
        raise ValidationFailedError(
            f"unknown job state {filter_state!r}; use one of: {', '.join(ALL_STATES)}"
        )
    kinds = job_kinds()
    locale = locale_of(request, state)
    jobs = store.list_jobs(session, limit=LIST_LIMIT, state=filter_state, kind=kind)
    counts = store.state_counts(session)
    context: dict[str, Any] = {
        "jobs": jobs,
        "states": ALL_STATES,
        "counts": counts,
        "total": sum(counts.values()),
        "filter_state": filter_state,
        "filter_kind": kind,
        "kinds": sorted(((name, k.label(locale)) for name, k in kinds.items()), key=lambda pair: pair[1]),
        "label": lambda name: _label(kinds, name, locale),
        "percent": percent,
        "starts": quick_starts(principal, kinds),
        "limit": LIST_LIMIT,
    }
    return render(request, state, "jobs.html", context, section="jobs")


@router.post("/jobs")
def start(
    request: Request,
    principal: CanView,
    _csrf: CsrfChecked,
    session: DbSession,
    state: State,
    name: Annotated[str, Form(alias="start", max_length=64)],
) -> Response:
    """Start one of :data:`QUICK_STARTS`; show its page."""
    if name not in QUICK_STARTS:
        raise ValidationFailedError(f"unknown start button {name!r}; use one of: {', '.join(QUICK_STARTS)}")
    kind, params = QUICK_STARTS[name]
    job = start_job(state, session, principal, kind, params, origin="web")
    flash(request, "info", "jobs.started", id=job.id)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _job_context(request: Request, state: State, principal: Principal, job: Job) -> dict[str, Any]:
    kinds = job_kinds()
    locale = locale_of(request, state)
    kind = kinds.get(job.kind)
    t = translator(locale)
    return {
        "job": job,
        "title": _label(kinds, job.kind, locale),
        "label": lambda name: _label(kinds, name, locale),
        "params": shown_params(job.params, state.settings.data_dir),
        "sections": result_sections(job.kind, job.result) if job.state == "done" else [],
        "progress_percent": percent(job.progress_done, job.progress_total),
        "may_cancel": not job.finished and may_start(principal, kind),
        "log_lines": job.log.splitlines(),
        "step_words": {word: t(f"jobs.step.{word}") for word in STEP_WORDS},
    }


@router.get("/jobs/{job_id}")
def job_page(
    request: Request, job_id: JobId, principal: CanView, session: DbSession, state: State
) -> Response:
    """One job: kind, parameters, progress (live while it runs), result or error, log."""
    job = store.get_job(session, job_id)
    return render(request, state, "job.html", _job_context(request, state, principal, job), section="jobs")


@router.post("/jobs/{job_id}/cancel")
def cancel(
    request: Request,
    job_id: JobId,
    principal: CanView,
    _csrf: CsrfChecked,
    session: DbSession,
    state: State,
) -> Response:
    """Cancel a queued job, or ask a running one to stop; back to its page with what happened."""
    try:
        job = cancel_job(state, session, principal, job_id)
    except JobFinishedError:
        flash(request, "error", "jobs.already_finished", id=job_id)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)
    flash(request, "ok", "jobs.cancelled" if job.finished else "jobs.cancel_requested", id=job.id)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)
