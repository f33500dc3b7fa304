"""An uploaded file becomes an ``import`` job (shared by the HTML form and ``POST /v1/imports``).

What can be checked before queueing fails at once, with the errors a direct
import gives: an unknown import kind or a preset of another kind
(``mapping_invalid``), an unknown preset (``preset_unknown``), an empty file or
one over 1 GiB (``file_unreadable``). Nothing is kept then. Everything else —
unreadable content, columns no preset recognises, bad rows — is the job's
outcome, shown on its page; the job removes the saved file when the import
fails (``discard_on_error``) and keeps it when it ran (its batch names it).
"""

from __future__ import annotations

from fastapi import UploadFile
from sqlalchemy.orm import Session

from guanxi.errors import MappingError
from guanxi.ingest.preset import KINDS, get_preset
from guanxi.jobs.tables import Job
from guanxi.web.auth import Principal
from guanxi.web.jobs import start_job
from guanxi.web.state import AppState
from guanxi.web.uploads import discard, save_upload

IMPORT_KIND = "import"


def check_choice(kind: str, preset: str | None) -> None:
    """Refuse an unknown import kind, an unknown preset, or a preset made for another kind."""
    if kind not in KINDS:
        raise MappingError(f"unknown import kind {kind!r}; choose one of {', '.join(KINDS)}")
    if preset is not None:
        chosen = get_preset(preset)
        if chosen.kind != kind:
            raise MappingError(f"mapping {chosen.name!r} is for {chosen.kind}, not {kind}")


def queue_upload(
    state: AppState,
    session: Session,
    principal: Principal,
    upload: UploadFile,
    *,
    kind: str,
    preset: str | None,
    source: str | None,
    origin: str,
) -> Job:
    """Check the choice, save ``upload`` under ``data_dir/uploads`` and queue its import; return the job.

    Raises the errors of the module docstring (nothing saved), or those of
    :func:`guanxi.web.jobs.start_job` (the saved file is removed).
    """
    check_choice(kind, preset)
    path = save_upload(upload.file, upload.filename, state.settings, now=state.clock())
    params = {
        "kind": kind,
        "path": str(path.absolute()),
        "preset": preset,
        "source": source,
        "discard_on_error": True,
    }
    try:
        return start_job(state, session, principal, IMPORT_KIND, params, origin=origin)
    except BaseException:
        discard(path)
        raise


__all__ = ["IMPORT_KIND", "check_choice", "queue_upload"]
