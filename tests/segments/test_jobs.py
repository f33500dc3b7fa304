"""The segments.refresh and segments.export job kinds on the scenario warehouse."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import pytest
from ibis.backends import BaseBackend
from openpyxl import load_workbook
from sqlalchemy import Engine

from guanxi.appdb.database import session_factory
from guanxi.config import Settings
from guanxi.errors import NotFoundError, ValidationFailedError
from guanxi.jobs.kinds import JobContext
from guanxi.segments.jobs import EXPORT, REFRESH
from guanxi.segments.service import create_segment, member_ids


@pytest.fixture
def context(scenario: BaseBackend, app_engine: Engine, app_settings: Settings, now: datetime) -> JobContext:
    sessions = session_factory(app_engine)
    with sessions() as session, session.begin():
        create_segment(session, "big", {"where": "clv >= 500"}, actor="cli", now=now)
    return JobContext(settings=app_settings, warehouse=scenario, sessions=sessions, now=now)


def test_refresh_reports_each_segment_and_writes_members(context: JobContext) -> None:
    seen: list[tuple[int, int, str]] = []
    ctx = JobContext(**{**context.__dict__, "progress": lambda d, t, m="": seen.append((d, t, m))})
    result = REFRESH.run(ctx, REFRESH.checked({"as_of": "2026-03-01"}))
    members = member_ids(context.warehouse, "big").count().to_pyarrow().as_py()
    assert result["as_of"] == "2026-03-01"
    assert [(s["key"], s["members"], s["entered"], s["left"]) for s in result["segments"]] == [
        ("big", members, members, 0)
    ]
    assert members > 0
    assert seen == [(0, 1, "big"), (1, 1, "done")]


def test_export_writes_every_member_to_csv_for_excel_and_to_xlsx(context: JobContext, tmp_path: Path) -> None:
    REFRESH.run(context, REFRESH.checked({"as_of": date(2026, 3, 1).isoformat()}))
    members = member_ids(context.warehouse, "big").count().to_pyarrow().as_py()
    target = tmp_path / "out" / "big.csv"
    result = EXPORT.run(context, EXPORT.checked({"key": "big", "path": str(target)}))
    assert result == {"key": "big", "path": str(target), "rows": members, "format": "csv"}
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel opens Chinese names correctly
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == members
    assert {"segment_key", "customer_id", "name", "phone"} <= set(rows[0])
    assert not list(target.parent.glob(".*.partial"))

    default = EXPORT.run(context, EXPORT.checked({"key": "big", "format": "xlsx"}))
    path = Path(default["path"])
    assert path.parent == context.settings.data_dir.absolute() / "exports"
    assert path.name.startswith("big-")
    assert path.suffix == ".xlsx"
    sheet = load_workbook(path)["big"]
    values = list(sheet.values)
    assert len(values) == members + 1
    assert values[0][:2] == ("segment_key", "as_of")


def test_export_parameters_and_keys_are_checked(context: JobContext) -> None:
    with pytest.raises(ValidationFailedError, match="format"):
        EXPORT.checked({"key": "big", "format": "pdf"})
    with pytest.raises(ValidationFailedError, match="colour"):
        EXPORT.checked({"key": "big", "colour": "red"})
    with pytest.raises(NotFoundError):
        EXPORT.run(context, EXPORT.checked({"key": "nobody"}))
