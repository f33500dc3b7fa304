"""数据质量: the warehouse's quality report laid out as tables, whatever its sections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi.testclient import TestClient
from ibis.backends import BaseBackend

from guanxi.appdb.roles import Role
from guanxi.tables import IMPORT_QUARANTINE, RAW_CUSTOMERS
from guanxi.web.report_tables import report_sections, table_of

from .conftest import insert_rows


def test_report_sections_lay_out_each_shape() -> None:
    facts, tables = report_sections(
        {
            "generated_at": "2026-03-01 17:30:00",
            "sections": {
                "orphans": {
                    "title": "孤立记录 Orphans",
                    "rows": [{"check": "x", "rows": 2}, {"check": "y", "extra": 1}],
                },
                "empty": {"title": "Nothing", "rows": []},
            },
            "totals": {"rows": 5},
            "notes": ["a", "b"],
        }
    )
    assert facts == {"generated_at": "2026-03-01 17:30:00"}
    orphans, empty, totals, notes = tables
    assert (orphans.title, orphans.columns, orphans.rows) == (
        "孤立记录 Orphans",
        ["check", "rows", "extra"],
        [["x", 2, None], ["y", None, 1]],
    )
    assert (empty.columns, empty.rows, empty.is_table) == ([], [], True)
    assert (totals.columns, totals.rows) == (["name", "value"], [["rows", 5]])
    assert notes.rows == [["a"], ["b"]]


def test_a_plain_value_section_is_a_single_value() -> None:
    single = table_of("score", "Score", 0.93)
    assert (single.value, single.is_table) == (0.93, False)


def test_quality_page_renders_the_report(
    warehouse_con: BaseBackend, as_role: Callable[[Role], TestClient]
) -> None:
    insert_rows(
        warehouse_con,
        RAW_CUSTOMERS,
        [
            {"source": "crm", "source_customer_id": "1", "phone": "+8613800000001"},
            {"source": "crm", "source_customer_id": "2"},
        ],
    )
    insert_rows(
        warehouse_con,
        IMPORT_QUARANTINE,
        [
            {
                "batch_id": "b",
                "kind": "customers",
                "file_sha256": "f",
                "row_number": 3,
                "column_name": "phone",
                "reason": "invalid_phone",
                "severity": "warning",
                "quarantined_at": datetime(2026, 1, 1),
            }
        ],
    )
    page = as_role(Role.VIEWER).get("/quality").text
    assert "字段完整度" in page
    assert "隔离行汇总" in page
    assert "50.0%" in page
    assert "手机号无效" in page
    assert "生成时间: 2026-03-01 17:30" in page
    assert "没有发现问题" in page
    assert "警告" in page


def test_quality_page_in_english(as_role: Callable[[Role], TestClient]) -> None:
    page = as_role(Role.VIEWER).get("/quality?lang=en").text
    assert "Completeness" in page
    assert "Generated: 2026-03-01 17:30" in page


def test_quality_api_returns_the_report(as_role: Callable[[Role], TestClient]) -> None:
    body = as_role(Role.VIEWER).get("/v1/quality").json()
    assert body["generated_at"] == "2026-03-01 17:30:00"
    assert "completeness" in body["sections"]
