"""How a job's parameters and result read on its page, and which permission starts which kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from guanxi.appdb.roles import Permission
from guanxi.errors import ValidationFailedError
from guanxi.jobs.kinds import JobKind
from guanxi.jobs.registry import job_kinds
from guanxi.web.job_results import generic_section, percent, result_sections, shown_params
from guanxi.web.jobs import check_paths, permission_for

IMPORT_RESULT = {
    "batch_id": "20260301-173000-0000abcd",
    "kind": "orders",
    "source": "taobao",
    "preset": "taobao-orders",
    "file_name": "orders.csv",
    "file_format": "csv",
    "encoding": "utf-8",
    "rows_read": 6,
    "rows_loaded": 3,
    "rows_quarantined": 3,
    "reasons": {"invalid_amount": 1},
    "some_future_field": True,
}


def test_an_import_result_is_its_report_whatever_extra_fields_it_carries() -> None:
    [section] = result_sections("import", IMPORT_RESULT)
    assert section.report is not None
    assert (section.report.rows_read, section.report.rows_loaded, section.report.rows_quarantined) == (
        6,
        3,
        3,
    )
    assert section.report.reasons == {"invalid_amount": 1}


def test_a_generic_result_becomes_facts_lists_and_tables() -> None:
    section = generic_section(
        "resolve",
        {
            "records": 6,
            "matching": None,
            "keys": ["vip", "lapsed"],
            "warnings": ["clv skipped: CLV needs at least 20 repeat customers, found 0"],
            "step_seconds": {"graph": 0.25, "ids": 0.1},
            "segments": [{"key": "vip", "members": 3}, {"key": "lapsed", "members": 1, "left": 2}],
            "details": {"churn": {"auc": 0.8, "fitted": {"a": 1}}},
            "empty": {},
        },
    )
    assert section.facts == [("records", 6), ("matching", None), ("keys", "vip, lapsed"), ("empty", "—")]
    assert section.lists == [("warnings", ["clv skipped: CLV needs at least 20 repeat customers, found 0"])]
    timings, segments, details = section.tables
    assert (timings.columns, timings.rows, timings.folded, timings.numeric) == (
        ["name", "value"],
        [["graph", 0.25], ["ids", 0.1]],
        True,
        [False, True],
    )
    assert (segments.columns, segments.rows) == (
        ["key", "members", "left"],
        [["vip", 3, None], ["lapsed", 1, 2]],
    )
    assert (segments.folded, segments.numeric) == (False, [False, True, True])
    assert details.rows == [["churn", 0.8, '{"a": 1}']]


def test_a_pipeline_result_is_one_section_per_step() -> None:
    result = {
        "steps": [
            {"kind": "import", "result": IMPORT_RESULT},
            {"kind": "segments.refresh", "result": {"as_of": "2026-03-01", "segments": []}},
        ]
    }
    sections = result_sections("pipeline", result)
    assert [s.kind for s in sections] == ["import", "segments.refresh"]
    assert sections[0].report is not None
    assert sections[1].facts == [("as_of", "2026-03-01"), ("segments", "—")]
    assert result_sections("resolve", None) == []


def test_parameters_show_files_inside_the_data_folder_relative_and_steps_as_a_chain(tmp_path: Path) -> None:
    params = {
        "kind": "orders",
        "path": str(tmp_path / "uploads" / "x" / "orders.csv"),
        "preset": None,
        "discard_on_error": True,
        "steps": [
            {"kind": "models.run", "params": {"incremental": True, "as_of": None}},
            {"kind": "resolve"},
        ],
    }
    assert shown_params(params, tmp_path) == [
        ("kind", "orders"),
        ("path", "uploads/x/orders.csv"),
        ("discard_on_error", True),
        ("steps", "models.run(incremental=True) → resolve"),
    ]


@pytest.mark.parametrize(
    ("done", "total", "shown"), [(0, 0, 0), (1, 4, 25), (4, 4, 100), (9, 4, 100), (1, 3, 33)]
)
def test_percent(done: int, total: int, shown: int) -> None:
    assert percent(done, total) == shown


def test_each_builtin_kind_needs_the_permission_it_names() -> None:
    kinds = job_kinds()
    assert {
        name: permission_for(kinds[name]) for name in ("import", "resolve", "models.run")
    } == dict.fromkeys(("import", "resolve", "models.run"), Permission.IMPORT)
    assert permission_for(kinds["segments.refresh"]) == Permission.EDIT
    assert permission_for(kinds["segments.export"]) == Permission.VIEW


def test_a_kind_naming_no_known_permission_or_no_kind_at_all_is_left_to_admins() -> None:
    odd = JobKind("odd", lambda _context, _params: {}, permission="imprt")
    assert permission_for(odd) == Permission.MANAGE_USERS
    assert permission_for(None) == Permission.MANAGE_USERS


def test_web_file_parameters_must_stay_in_uploads_or_exports(tmp_path: Path) -> None:
    check_paths({"path": str(tmp_path / "uploads" / "a" / "orders.csv")}, tmp_path)
    check_paths({"path": str(tmp_path / "exports" / "vip.csv"), "key": "vip"}, tmp_path)
    for bad in (
        {"path": str(tmp_path / "warehouse.duckdb")},
        {"rules": "/etc/passwd"},
        {"path": str(tmp_path / "uploads" / ".." / "app.sqlite")},
        {"steps": [{"kind": "import", "params": {"mapping": "/srv/mapping.yaml"}}]},
    ):
        with pytest.raises(ValidationFailedError, match="must lie in"):
            check_paths(bad, tmp_path)
