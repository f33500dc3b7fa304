"""导入: history, a batch with its quarantined rows page by page, and uploading a file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ibis.backends import BaseBackend

from guanxi.appdb.roles import Role
from guanxi.config import Settings
from guanxi.tables import IMPORT_BATCHES, IMPORT_QUARANTINE, RAW_ORDERS
from guanxi.web.batches import list_batches, quarantined_rows

from .conftest import csrf_of, insert_rows, job_id_of, wait_for_job

DATA = Path(__file__).parents[1] / "data" / "web"
TAOBAO = DATA / "taobao_orders_bad_phone_and_bad_date.csv"


@pytest.fixture
def batch_with_60_quarantined(warehouse_con: BaseBackend) -> BaseBackend:
    insert_rows(
        warehouse_con,
        IMPORT_BATCHES,
        [
            {
                "batch_id": "20260201-090000-aaaa0001",
                "kind": "orders",
                "source": "taobao",
                "preset": "taobao-orders",
                "file_name": "淘宝订单.csv",
                "started_at": datetime(2026, 2, 1, 9),
                "rows_read": 1000,
                "rows_loaded": 940,
                "rows_inserted": 900,
                "rows_updated": 30,
                "rows_unchanged": 10,
                "rows_quarantined": 60,
                "status": "loaded",
            }
        ],
    )
    insert_rows(
        warehouse_con,
        IMPORT_QUARANTINE,
        [
            {
                "batch_id": "20260201-090000-aaaa0001",
                "row_number": row,
                "column_name": "联系手机",
                "value": f"1380000{row:04d}"[:9],
                "reason": "invalid_phone",
                "severity": "fatal",
            }
            for row in range(61, 1, -1)
        ],
    )
    return warehouse_con


def test_batches_page_by_page_newest_first(warehouse_con: BaseBackend) -> None:
    insert_rows(
        warehouse_con,
        IMPORT_BATCHES,
        [
            {"batch_id": f"b{i:02d}", "kind": "orders", "started_at": datetime(2026, 1, 1 + i)}
            for i in range(27)
        ],
    )
    first, last = list_batches(warehouse_con, page=1), list_batches(warehouse_con, page=2)
    assert (first.total, first.pages, len(first.items), len(last.items)) == (27, 2, 25, 2)
    assert first.items[0]["batch_id"] == "b26"
    assert [b["batch_id"] for b in last.items] == ["b01", "b00"]
    assert first.has_next
    assert not last.has_next
    assert last.has_previous


def test_quarantined_rows_come_in_row_order_fifty_a_page(batch_with_60_quarantined: BaseBackend) -> None:
    page_one = quarantined_rows(batch_with_60_quarantined, "20260201-090000-aaaa0001", page=1)
    page_two = quarantined_rows(batch_with_60_quarantined, "20260201-090000-aaaa0001", page=2)
    assert (page_one.total, len(page_one.items), len(page_two.items)) == (60, 50, 10)
    assert [r["row_number"] for r in page_one.items[:3]] == [2, 3, 4]
    assert page_two.items[-1]["row_number"] == 61
    assert set(page_one.items[0]) == {"row_number", "column_name", "value", "reason", "severity", "batch_id"}


def test_batch_page_shows_counts_and_translated_reasons(
    batch_with_60_quarantined: BaseBackend, as_role: Callable[[Role], TestClient]
) -> None:
    client = as_role(Role.VIEWER)
    listing = client.get("/imports").text
    assert "淘宝订单.csv" in listing
    assert 'href="/imports/20260201-090000-aaaa0001"' in listing
    page = client.get("/imports/20260201-090000-aaaa0001?page=2").text
    assert "手机号无效" in page
    assert "invalid_phone" in page
    assert "第 2 / 2 页，共 60 条" in page
    assert page.count("<tr>") == 11


def test_batch_api_pages_quarantine(
    batch_with_60_quarantined: BaseBackend, as_role: Callable[[Role], TestClient]
) -> None:
    body = as_role(Role.VIEWER).get("/v1/imports/20260201-090000-aaaa0001?per_page=20&page=3").json()
    assert body["batch"]["rows_quarantined"] == 60
    assert (body["quarantine"]["pages"], len(body["quarantine"]["items"])) == (3, 20)


def upload(client: TestClient, path: Path, kind: str, name: str | None = None) -> object:
    token = csrf_of(client.get("/imports").text)
    with path.open("rb") as handle:
        return client.post(
            "/imports",
            data={"kind": kind, "preset": "", "source": "", "csrf_token": token},
            files={"file": (name or path.name, handle, "text/csv")},
            follow_redirects=False,
        )


def batch_of(client: TestClient, response: object) -> str:
    """The batch an upload's job created, once the job is done (the upload answered with its page)."""
    job = wait_for_job(client, job_id_of(response.headers["location"]))  # type: ignore[attr-defined]
    assert job["state"] == "done", job
    return str(job["result"]["batch_id"])


def test_analyst_uploads_a_taobao_export_and_its_job_imports_it(
    as_role: Callable[[Role], TestClient], app_settings: Settings, warehouse_con: BaseBackend
) -> None:
    client = as_role(Role.ANALYST)
    response = upload(client, TAOBAO, "orders", name="淘宝 订单.csv")
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"].startswith("/jobs/")  # type: ignore[attr-defined]
    batch_id = batch_of(client, response)
    page = client.get(f"/imports/{batch_id}").text
    assert "淘宝_订单.csv" in page
    assert "时间无法识别" in page
    saved = list((app_settings.data_dir / "uploads").glob("*/淘宝_订单.csv"))
    assert len(saved) == 1
    assert saved[0].read_bytes() == TAOBAO.read_bytes()
    assert warehouse_con.table(RAW_ORDERS.name).count().execute() == 3


def test_a_file_no_preset_recognises_fails_its_job_with_the_reason_and_is_not_kept(
    as_role: Callable[[Role], TestClient], app_settings: Settings, tmp_path: Path
) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("foo,bar\n1,2\n", encoding="utf-8")
    client = as_role(Role.ANALYST)
    response = upload(client, odd, "orders")
    job = wait_for_job(client, job_id_of(response.headers["location"]))  # type: ignore[attr-defined]
    assert (job["state"], job["error_code"]) == ("failed", "mapping_invalid")
    assert "no built-in preset recognises" in job["error"]
    assert list((app_settings.data_dir / "uploads").rglob("*.csv")) == []


def test_an_empty_upload_is_refused_at_once_without_a_job(
    as_role: Callable[[Role], TestClient], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    client = as_role(Role.ANALYST)
    response = upload(client, empty, "orders")
    assert response.headers["location"] == "/imports"  # type: ignore[attr-defined]
    assert "导入未能进行（file_unreadable）：the uploaded file is empty" in client.get("/imports").text
    assert client.get("/v1/jobs").json() == []


def test_an_unknown_preset_is_refused_at_once_without_a_job(
    as_role: Callable[[Role], TestClient], app_settings: Settings
) -> None:
    client = as_role(Role.ANALYST)
    token = csrf_of(client.get("/imports").text)
    with TAOBAO.open("rb") as handle:
        response = client.post(
            "/imports",
            data={"kind": "orders", "preset": "no-such-preset", "source": "", "csrf_token": token},
            files={"file": (TAOBAO.name, handle, "text/csv")},
            follow_redirects=False,
        )
    assert response.headers["location"] == "/imports"
    assert "导入未能进行（preset_unknown）" in client.get("/imports").text
    assert client.get("/v1/jobs").json() == []
    assert list((app_settings.data_dir / "uploads").rglob("*.csv")) == []


def test_upload_through_the_api_answers_202_with_the_job_and_its_report_follows(
    as_role: Callable[[Role], TestClient], client: TestClient
) -> None:
    from .test_api import issue_key

    key = issue_key(as_role(Role.ADMIN), "analyst")
    with TAOBAO.open("rb") as handle:
        response = client.post(
            "/v1/imports",
            data={"kind": "orders"},
            files={"file": (TAOBAO.name, handle, "text/csv")},
            headers={"X-API-Key": key},
        )
    assert response.status_code == 202
    queued = response.json()
    assert response.headers["location"] == f"/v1/jobs/{queued['id']}"
    assert (queued["kind"], queued["origin"], queued["params"]["kind"]) == ("import", "api", "orders")
    assert queued["owner"].startswith("api_key:gx_")
    body = wait_for_job(client, queued["id"], headers={"X-API-Key": key})["result"]
    assert (body["rows_read"], body["rows_loaded"], body["rows_quarantined"], body["preset"]) == (
        4,
        3,
        1,
        "taobao-orders",
    )


def test_an_api_upload_of_an_unknown_kind_is_refused_at_once(
    as_role: Callable[[Role], TestClient], client: TestClient
) -> None:
    from .test_api import issue_key

    key = issue_key(as_role(Role.ADMIN), "analyst")
    with TAOBAO.open("rb") as handle:
        response = client.post(
            "/v1/imports",
            data={"kind": "invoices"},
            files={"file": (TAOBAO.name, handle, "text/csv")},
            headers={"X-API-Key": key},
        )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "mapping_invalid"
    assert "unknown import kind 'invoices'" in response.json()["error"]["message"]
    assert client.get("/v1/jobs", headers={"X-API-Key": key}).json() == []


def test_reimporting_the_same_file_shows_the_rows_its_first_import_quarantined(
    as_role: Callable[[Role], TestClient],
) -> None:
    client = as_role(Role.ANALYST)
    first = batch_of(client, upload(client, TAOBAO, "orders"))
    second = batch_of(client, upload(client, TAOBAO, "orders"))
    assert first != second
    assert "此前已导入过" not in client.get(f"/imports/{first}").text
    page = client.get(f"/imports/{second}").text
    assert "此前已导入过" in page
    assert "时间无法识别" in page
