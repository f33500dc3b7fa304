"""The ``import`` job kind: one file into the warehouse, as ``guanxi import`` and the upload page do."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from guanxi.errors import FileFormatError
from guanxi.ingest.api import import_file
from guanxi.ingest.preset import KINDS
from guanxi.ingest.report import ImportReport
from guanxi.jobs.kinds import JobContext, JobKind, Params, Result, checked_by


class ImportParams(BaseModel):
    """What an import job is given; ``path`` is absolute (the writer may run in another folder)."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    path: str
    preset: str | None = None
    mapping: str | None = None
    source: str | None = None
    discard_on_error: bool = False
    """Remove the file when the import fails (an uploaded copy nobody else has)."""

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in KINDS:
            raise ValueError(f"unknown import kind {value!r}; choose one of {', '.join(KINDS)}")
        return value

    @field_validator("path", "mapping")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        return None if value is None else str(Path(value).absolute())


def report_from_dict(data: dict[str, Any]) -> ImportReport:
    """The :class:`ImportReport` a job's result holds."""
    names = {f.name for f in fields(ImportReport)}
    return ImportReport(**{k: v for k, v in data.items() if k in names})


def run_import(context: JobContext, params: Params) -> Result:
    """Import ``params.path`` (see :func:`guanxi.ingest.api.import_file`); the result is the import report."""
    wanted = ImportParams.model_validate(dict(params))
    path = Path(wanted.path)
    if not path.exists():
        raise FileFormatError(f"{path}: no such file", code="file_unreadable")
    stamp = context.now.astimezone(context.settings.zone).replace(tzinfo=None)
    try:
        report = import_file(
            context.warehouse,
            context.settings,
            wanted.kind,
            path,
            preset=wanted.preset,
            mapping=Path(wanted.mapping) if wanted.mapping else None,
            source=wanted.source,
            now=stamp,
            progress=context.progress,
        )
    except Exception:
        if wanted.discard_on_error:
            path.unlink(missing_ok=True)
        raise
    context.log(
        f"{report.file_name}: {report.rows_loaded:,} rows loaded, {report.rows_quarantined:,} quarantined "
        f"(batch {report.batch_id})"
    )
    return report.to_dict()


IMPORT = JobKind(
    "import",
    run_import,
    "Import one file (orders, customers, items, events, tickets) with quarantine",
    title={"zh-CN": "导入", "en": "Import"},
    check=checked_by(ImportParams),
)
