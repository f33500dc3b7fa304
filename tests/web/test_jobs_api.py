"""``/v1/jobs``: list with filters, read, start (202 + Location, permission per kind), cancel."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from guanxi.appdb.roles import Role
from guanxi.config import Settings

from .conftest import job_id_of, wait_for_job
from .test_api import issue_key

ORDERS = Path(__file__).parents[1] / "data" / "ingest" / "taobao_orders_gbk_with_broken_rows.csv"


def keys(admin: TestClient, *roles: str) -> dict[str, dict[str, str]]:
    """An ``X-API-Key`` header per role, issued by ``admin``."""
    return {role: {"X-API-Key": issue_key(admin, role, name=f"{role} key")} for role in roles}


def uploaded(settings: Settings) -> str:
    """The orders file copied into ``data_dir/uploads`` as if uploaded; its absolute path."""
    folder = settings.data_dir / "uploads" / "20260301-173000-test0001"
    folder.mkdir(parents=True)
    return str(shutil.copy(ORDERS, folder / ORDERS.name))


def test_a_started_job_answers_202_with_its_location_and_runs_to_done(
    as_role: Callable[[Role], TestClient], app_settings: Settings
) -> None:
    client = as_role(Role.ADMIN)
    header = keys(client, "analyst")["analyst"]
    body = {"kind": "import", "params": {"kind": "orders", "path": uploaded(app_settings)}}
    response = client.post("/v1/jobs", json=body, headers=header)
    assert response.status_code == 202, response.text
    queued = response.json()
    assert response.headers["location"] == f"/v1/jobs/{queued['id']}"
    assert queued["title"] == {"zh-CN": "导入", "en": "Import"}
    assert queued["origin"] == "api"
    job = wait_for_job(client, job_id_of(response.headers["location"]), headers=header)
    assert (job["state"], job["finished"], job["error"]) == ("done", True, None)
    assert (job["result"]["rows_read"], job["result"]["rows_loaded"], job["result"]["rows_quarantined"]) == (
        6,
        3,
        3,
    )
    assert job["progress"]["done"] == job["progress"]["total"] == 4
    assert any("3 rows loaded, 3 quarantined" in line for line in job["log"])


def test_starting_needs_the_permission_of_the_kind(idle_client: Callable[[Role], TestClient]) -> None:
    client = idle_client(Role.ADMIN)
    header = keys(client, "viewer", "marketer")
    client.cookies.clear()
    refused = client.post("/v1/jobs", json={"kind": "resolve"}, headers=header["viewer"])
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert "needs the import permission" in refused.json()["error"]["message"]
    assert client.post("/v1/jobs", json={"kind": "resolve"}, headers=header["marketer"]).status_code == 403
    allowed = client.post("/v1/jobs", json={"kind": "segments.refresh"}, headers=header["marketer"])
    assert allowed.status_code == 202
    upload = client.post(
        "/v1/imports",
        data={"kind": "orders"},
        files={"file": (ORDERS.name, ORDERS.read_bytes(), "text/csv")},
        headers=header["viewer"],
    )
    assert upload.status_code == 403


def test_a_cookie_session_may_read_jobs_but_not_start_them(idle_client: Callable[[Role], TestClient]) -> None:
    client = idle_client(Role.ADMIN)
    assert client.get("/v1/jobs").status_code == 200
    response = client.post("/v1/jobs", json={"kind": "resolve"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth_failed"


def test_bad_kinds_parameters_and_paths_are_refused_before_queueing(
    idle_client: Callable[[Role], TestClient], app_settings: Settings
) -> None:
    client = idle_client(Role.ADMIN)
    header = keys(client, "admin")["admin"]
    unknown = client.post("/v1/jobs", json={"kind": "reindex"}, headers=header)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "job_kind_unknown")
    bad = client.post("/v1/jobs", json={"kind": "resolve", "params": {"fuzzy": True}}, headers=header)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "validation_failed")
    assert "fuzzy" in bad.json()["error"]["message"]
    warehouse = str(app_settings.data_dir / "warehouse.duckdb")
    for params in (
        {"kind": "orders", "path": "/etc/passwd"},
        {"kind": "orders", "path": warehouse, "discard_on_error": True},
        {"kind": "orders", "path": str(app_settings.data_dir / "uploads" / ".." / "app.sqlite")},
    ):
        outside = client.post("/v1/jobs", json={"kind": "import", "params": params}, headers=header)
        assert (outside.status_code, outside.json()["error"]["code"]) == (422, "validation_failed"), params
        assert "must lie in" in outside.json()["error"]["message"]
    piped = {"steps": [{"kind": "segments.export", "params": {"key": "vip", "path": "/tmp/vip.csv"}}]}
    assert (
        client.post("/v1/jobs", json={"kind": "pipeline", "params": piped}, headers=header).status_code == 422
    )
    assert client.get("/v1/jobs", headers=header).json() == []


def test_the_list_filters_by_state_and_kind_newest_first(idle_client: Callable[[Role], TestClient]) -> None:
    client = idle_client(Role.ADMIN)
    header = keys(client, "admin")["admin"]
    ids = [
        client.post("/v1/jobs", json={"kind": kind}, headers=header).json()["id"]
        for kind in ("resolve", "segments.refresh", "resolve")
    ]
    client.post(f"/v1/jobs/{ids[0]}/cancel", headers=header)
    assert [j["id"] for j in client.get("/v1/jobs", headers=header).json()] == ids[::-1]
    assert [j["id"] for j in client.get("/v1/jobs?state=queued", headers=header).json()] == [ids[2], ids[1]]
    assert [j["id"] for j in client.get("/v1/jobs?state=cancelled", headers=header).json()] == [ids[0]]
    assert [j["id"] for j in client.get("/v1/jobs?kind=resolve", headers=header).json()] == [ids[2], ids[0]]
    assert [j["id"] for j in client.get("/v1/jobs?kind=resolve&state=queued", headers=header).json()] == [
        ids[2]
    ]
    assert len(client.get("/v1/jobs?limit=1", headers=header).json()) == 1
    bad = client.get("/v1/jobs?state=exploded", headers=header)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "validation_failed")
    assert client.get("/v1/jobs?limit=0", headers=header).status_code == 422


def test_cancel_a_queued_job_then_cancelling_again_is_a_conflict(
    idle_client: Callable[[Role], TestClient],
) -> None:
    client = idle_client(Role.ADMIN)
    header = keys(client, "analyst", "viewer")
    job = client.post("/v1/jobs", json={"kind": "resolve"}, headers=header["analyst"]).json()
    viewer = client.post(f"/v1/jobs/{job['id']}/cancel", headers=header["viewer"])
    assert (viewer.status_code, viewer.json()["error"]["code"]) == (403, "permission_denied")
    cancelled = client.post(f"/v1/jobs/{job['id']}/cancel", headers=header["analyst"])
    assert cancelled.status_code == 200
    assert (cancelled.json()["state"], cancelled.json()["finished"]) == ("cancelled", True)
    again = client.post(f"/v1/jobs/{job['id']}/cancel", headers=header["analyst"])
    assert (again.status_code, again.json()["error"]["code"]) == (409, "job_finished")


def test_an_unknown_job_is_a_404_in_the_one_error_shape(as_role: Callable[[Role], TestClient]) -> None:
    response = as_role(Role.VIEWER).get("/v1/jobs/424242")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "job_not_found", "message": "there is no job 424242"}}
