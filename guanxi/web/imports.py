"""Running an import from an uploaded file (shared by the HTML form and ``POST /v1/imports``)."""

from __future__ import annotations

from fastapi import UploadFile

from guanxi.errors import GuanxiError
from guanxi.ingest.api import import_file
from guanxi.ingest.report import ImportReport
from guanxi.web.state import AppState
from guanxi.web.uploads import discard, save_upload


def run_upload(
    state: AppState, upload: UploadFile, *, kind: str, preset: str | None, source: str | None
) -> ImportReport:
    """Save ``upload`` and import it as ``kind``.

    The saved file stays in ``data_dir/uploads`` when the import ran (its
    batch names it); it is removed when the import could not start. Raises
    the import's :class:`GuanxiError` unchanged.
    """
    now = state.clock()
    path = save_upload(upload.file, upload.filename, state.settings, now=now)
    wall_clock = now.astimezone(state.settings.zone).replace(tzinfo=None)
    try:
        with state.warehouse_connection() as con:
            return import_file(con, state.settings, kind, path, preset=preset, source=source, now=wall_clock)
    except GuanxiError:
        discard(path)
        raise
