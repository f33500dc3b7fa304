"""导入: import history, one batch with its quarantined rows, and the upload form (which queues a job)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from guanxi.appdb.roles import Permission
from guanxi.errors import GuanxiError
from guanxi.ingest.preset import KINDS, available_presets
from guanxi.web.auth import CanImport, CanView
from guanxi.web.batches import batch_quarantine, get_batch, list_batches
from guanxi.web.csrf import CsrfChecked
from guanxi.web.imports import queue_upload
from guanxi.web.pages import flash, render
from guanxi.web.state import DbSession, State

router = APIRouter()
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]


def upload_choices() -> dict[str, object]:
    presets = available_presets()
    return {
        "kinds": list(KINDS),
        "presets": sorted(presets.values(), key=lambda p: (KINDS.index(p.kind), p.name)),
    }


@router.get("/imports")
def imports(request: Request, principal: CanView, state: State, page: PageNumber = 1) -> Response:
    with state.warehouse_connection() as con:
        batches = list_batches(con, page=page)
    context: dict[str, object] = {"batches": batches}
    if principal.can(Permission.IMPORT):
        context.update(upload_choices())
    return render(request, state, "imports.html", context, section="imports")


@router.get("/imports/{batch_id}")
def import_batch(
    request: Request, principal: CanView, state: State, batch_id: str, page: PageNumber = 1
) -> Response:
    with state.warehouse_connection() as con:
        batch = get_batch(con, batch_id)
        rows = batch_quarantine(con, batch, page=page)
    return render(request, state, "import_batch.html", {"batch": batch, "rows": rows}, section="imports")


@router.post("/imports")
def upload(
    request: Request,
    principal: CanImport,
    _csrf: CsrfChecked,
    state: State,
    session: DbSession,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form()],
    preset: Annotated[str, Form()] = "",
    source: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Save the file under ``data_dir/uploads`` and queue its import; show the job's page.

    A refusal that needs no import (unknown preset, empty or oversized file)
    comes back to the import page with the reason.
    """
    try:
        job = queue_upload(
            state,
            session,
            principal,
            file,
            kind=kind,
            preset=preset or None,
            source=source or None,
            origin="web",
        )
    except GuanxiError as err:
        flash(request, "error", "imports.failed", code=err.code, message=err.message)
        return RedirectResponse("/imports", status_code=303)
    flash(request, "info", "jobs.queued", id=job.id, file=Path(str(job.params["path"])).name)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)
