"""The ``segments.refresh`` and ``segments.export`` job kinds."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from guanxi.jobs.kinds import JobContext, JobKind, Params, Result, checked_by
from guanxi.segments.service import get_segment, members, refresh

EXPORT_ROWS_PER_STEP = 50_000


class RefreshParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[str] | None = None
    """Segments to refresh; every live one when empty."""
    as_of: date | None = None


def run_refresh(context: JobContext, params: Params) -> Result:
    wanted = RefreshParams.model_validate(dict(params))
    day = wanted.as_of or context.now.astimezone(context.settings.zone).date()
    # no autoflush: the definitions' refresh fields are written at the commit, so the job's own progress
    # writes (another connection) never wait behind this transaction on a single-writer SQLite app database
    with context.sessions() as session, session.begin(), session.no_autoflush:
        results = refresh(
            context.warehouse,
            session,
            wanted.keys or None,
            as_of=day,
            now=context.now,
            progress=context.progress,
        )
    context.log(f"{len(results)} segment(s) refreshed as of {day}")
    return {
        "as_of": day.isoformat(),
        "segments": [
            {"key": r.key, "members": r.members, "entered": r.entered, "left": r.left, "run_id": r.run_id}
            for r in results
        ],
    }


class ExportParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    format: Literal["csv", "xlsx"] = "csv"
    path: str | None = None
    """Where to write; default ``DATA_DIR/exports/KEY-YYYYMMDD-HHMMSS.FORMAT``."""

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        return None if value is None else str(Path(value).absolute())


def run_export(context: JobContext, params: Params) -> Result:
    """Write a segment's members (latest refresh) to CSV (UTF-8 with BOM, so Excel reads Chinese) or xlsx.

    The file is written beside its target and renamed at the end, so a failed
    or killed export never leaves half a file under the name.
    """
    wanted = ExportParams.model_validate(dict(params))
    with context.sessions() as session:
        get_segment(session, wanted.key)
    if wanted.path is not None:
        target = Path(wanted.path)
    else:
        stamp = context.now.astimezone(context.settings.zone).strftime("%Y%m%d-%H%M%S")
        target = context.settings.data_dir.absolute() / "exports" / f"{wanted.key}-{stamp}.{wanted.format}"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    table = members(context.warehouse, wanted.key)
    total = int(table.count().to_pyarrow().as_py())
    batches = table.to_pyarrow_batches(chunk_size=EXPORT_ROWS_PER_STEP)
    written = 0
    context.progress(0, total, wanted.key)
    if wanted.format == "csv":
        with partial.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(table.columns)
            for batch in batches:
                for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
                    writer.writerow(["" if v is None else _cell(v) for v in row])
                written += batch.num_rows
                context.progress(written, total, wanted.key)
    else:
        from openpyxl import Workbook  # noqa: PLC0415 - only xlsx exports need it

        book = Workbook(write_only=True)
        sheet = book.create_sheet(wanted.key[:31])
        sheet.append(list(table.columns))
        for batch in batches:
            for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
                sheet.append([_cell(v) if v is not None else None for v in row])
            written += batch.num_rows
            context.progress(written, total, wanted.key)
        book.save(partial)
    partial.replace(target)
    context.log(f"{written:,} members of {wanted.key} written to {target}")
    return {"key": wanted.key, "path": str(target), "rows": written, "format": wanted.format}


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return value


REFRESH = JobKind(
    "segments.refresh",
    run_refresh,
    "Recompute the members of every live segment (or keys=[…])",
    title={"zh-CN": "刷新分群", "en": "Refresh segments"},
    check=checked_by(RefreshParams),
    permission="edit",
)
EXPORT = JobKind(
    "segments.export",
    run_export,
    "Write a segment's members to a CSV or Excel file",
    title={"zh-CN": "导出分群", "en": "Export segment"},
    check=checked_by(ExportParams),
    permission="view",
)
