"""``/v1/imports``: import history, a batch with its quarantined rows, and file upload (queued as a job)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from guanxi.web.api.jobs import JobPublic, accepted
from guanxi.web.api.schemas import BatchDetailPublic, PagePublic
from guanxi.web.auth import CanImport, CanView
from guanxi.web.batches import Page, batch_quarantine, get_batch, list_batches
from guanxi.web.imports import queue_upload
from guanxi.web.state import DbSession, State

router = APIRouter(tags=["imports"])
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
PerPage = Annotated[int, Query(ge=1, le=500)]


def page_public(page: Page[dict[str, Any]]) -> PagePublic:
    return PagePublic(
        page=page.page, per_page=page.per_page, total=page.total, pages=page.pages, items=page.items
    )


@router.get("/imports", summary="List import batches")
def batches(principal: CanView, state: State, page: PageNumber = 1, per_page: PerPage = 25) -> PagePublic:
    """Import batches, newest first."""
    with state.warehouse_connection() as con:
        return page_public(list_batches(con, page=page, per_page=per_page))


@router.get("/imports/{batch_id}", summary="One import batch and its quarantined rows")
def batch(
    principal: CanView, state: State, batch_id: str, page: PageNumber = 1, per_page: PerPage = 50
) -> BatchDetailPublic:
    """One batch and a page of its quarantined rows (row, column, value, reason)."""
    with state.warehouse_connection() as con:
        found = get_batch(con, batch_id)
        rows = batch_quarantine(con, found, page=page, per_page=per_page)
    return BatchDetailPublic(batch=found, quarantine=page_public(rows))


@router.post("/imports", status_code=202, summary="Import a file")
def upload(
    principal: CanImport,
    state: State,
    session: DbSession,
    response: Response,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form()],
    preset: Annotated[str | None, Form()] = None,
    source: Annotated[str | None, Form(max_length=64)] = None,
) -> JobPublic:
    """Save an uploaded file (multipart: file, kind, optional preset and source) and queue its import.

    Answers ``202`` with the ``import`` job and ``Location: /v1/jobs/{id}``; when the
    job is ``done`` its ``result`` is the import report. An unknown kind or preset,
    an empty file or one over 1 GiB is refused at once (nothing queued).
    """
    job = queue_upload(
        state, session, principal, file, kind=kind, preset=preset or None, source=source or None, origin="api"
    )
    return accepted(response, job)
