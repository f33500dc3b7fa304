"""任务: an upload becomes a job; its page follows it to the import report or the error; jobs are
listed by state and kind, started with one button and cancelled by the roles allowed to."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from guanxi.appdb.roles import Role
from guanxi.config import Settings
from guanxi.jobs.tables import ALL_STATES
from guanxi.web.i18n import catalogues

from .conftest import csrf_of, job_id_of, wait_for_job

INGEST = Path(__file__).parents[1] / "data" / "ingest"
GBK_ORDERS = INGEST / "taobao_orders_gbk_with_broken_rows.csv"
"""6 rows: 3 loaded, 3 quarantined (unreadable date, unreadable amount, missing value, unknown status)."""
UNKNOWN_HEADERS = INGEST / "orders_unknown_headers.csv"
"""Columns no preset recognises: the import cannot start."""


def upload(client: TestClient, path: Path, kind: str = "orders") -> str:
    """Upload ``path`` through the import page's form; return where the browser is sent."""
    token = csrf_of(client.get("/imports").text)
    with path.open("rb") as handle:
        response = client.post(
            "/imports",
            data={"kind": kind, "preset": "", "source": "", "csrf_token": token},
            files={"file": (path.name, handle, "text/csv")},
            follow_redirects=False,
        )
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def stat(page: str, key: str) -> str:
    found = re.search(
        rf'data-count="{key}"><div class="stat-label">[^<]*</div><div class="stat-value">([^<]*)<', page
    )
    assert found, f"no {key} figure on the page"
    return found.group(1)


def test_an_upload_answers_at_once_with_the_queued_job_page(
    idle_client: Callable[[Role], TestClient],
) -> None:
    client = idle_client(Role.ANALYST)
    location = upload(client, GBK_ORDERS)
    assert re.fullmatch(r"/jobs/\d+", location)
    page = client.get(location).text
    assert "排队中" in page
    assert "已提交 taobao_orders_gbk_with_broken_rows.csv 的导入任务" in page
    assert '<script src="/static/jobs.js" defer></script>' in page
    assert f'data-job-poll="/v1{location}"' in page


def test_the_job_page_follows_an_upload_to_its_import_report_and_quarantine_link(
    as_role: Callable[[Role], TestClient],
) -> None:
    client = as_role(Role.ANALYST)
    location = upload(client, GBK_ORDERS)
    job = wait_for_job(client, job_id_of(location))
    assert job["state"] == "done"
    page = client.get(location).text
    assert "已完成" in page
    assert "jobs.js" not in page  # an ended job is not polled
    figures = {
        key: stat(page, key) for key in ("rows_read", "rows_loaded", "rows_inserted", "rows_quarantined")
    }
    assert figures == {"rows_read": "6", "rows_loaded": "3", "rows_inserted": "3", "rows_quarantined": "3"}
    assert "时间无法识别" in page
    assert "金额无法识别" in page
    batch = job["result"]["batch_id"]
    assert f'<a class="quarantine-link" href="/imports/{batch}">查看该批次被隔离的行 →</a>' in page
    assert 'value="4"' in page  # the bar is full: the import's 4 steps done
    quarantine = client.get(f"/imports/{batch}").text
    assert "taobao_orders_gbk_with_broken_rows.csv" in quarantine


def test_the_report_reads_in_english_too(as_role: Callable[[Role], TestClient]) -> None:
    client = as_role(Role.ANALYST)
    location = upload(client, GBK_ORDERS)
    wait_for_job(client, job_id_of(location))
    page = client.get(f"{location}?lang=en").text
    assert "Import report" in page
    assert ">Done<" in page
    assert "Unreadable date and time" in page
    assert "See this batch&#39;s quarantined rows →" in page


def test_a_bad_file_fails_its_job_and_the_page_shows_the_code_and_message(
    as_role: Callable[[Role], TestClient], app_settings: Settings
) -> None:
    client = as_role(Role.ANALYST)
    location = upload(client, UNKNOWN_HEADERS)
    job = wait_for_job(client, job_id_of(location))
    assert (job["state"], job["error_code"]) == ("failed", "mapping_invalid")
    page = client.get(location).text
    assert ">失败<" in page
    assert '<code class="error-code">mapping_invalid</code>' in page
    assert "orders_unknown_headers.csv: no built-in preset recognises these orders columns" in page
    assert "没有模板能识别这个文件的列" in page  # what to do, in the page's language
    assert "导入报告" not in page
    assert list((app_settings.data_dir / "uploads").rglob("*.csv")) == []  # discarded on error


def test_a_queued_job_is_cancelled_from_its_page(idle_client: Callable[[Role], TestClient]) -> None:
    client = idle_client(Role.ANALYST)
    location = upload(client, GBK_ORDERS)
    page = client.get(location).text
    assert f'action="{location}/cancel"' in page
    response = client.post(f"{location}/cancel", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, location)
    after = client.get(location).text
    assert "已取消" in after
    assert f"任务 #{job_id_of(location)} 已取消。" in after
    assert f'action="{location}/cancel"' not in after
    again = client.post(f"{location}/cancel", data={"csrf_token": csrf_of(after)}, follow_redirects=True)
    assert "已经结束，无法取消" in again.text


def test_cancelling_needs_the_form_token(idle_client: Callable[[Role], TestClient]) -> None:
    client = idle_client(Role.ANALYST)
    location = upload(client, GBK_ORDERS)
    response = client.post(f"{location}/cancel", data={}, headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_a_viewer_sees_jobs_but_no_start_or_cancel_button_and_may_not_cancel(
    idle_client: Callable[[Role], TestClient],
) -> None:
    analyst = idle_client(Role.ANALYST)
    location = upload(analyst, GBK_ORDERS)
    viewer = idle_client(Role.VIEWER)
    page = viewer.get(location).text
    assert "排队中" in page
    assert "/cancel" not in page
    listing = viewer.get("/jobs").text
    assert 'method="post" action="/jobs"' not in listing
    assert 'href="/jobs"' in listing  # the menu entry
    response = viewer.post(
        f"{location}/cancel", data={"csrf_token": csrf_of(page)}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert viewer.get(f"/v1{location}").json()["state"] == "queued"


def test_the_start_buttons_show_by_permission_and_queue_their_job(
    idle_client: Callable[[Role], TestClient],
) -> None:
    marketer = idle_client(Role.MARKETER)
    page = marketer.get("/jobs").text
    assert 'name="start" value="segments_refresh"' in page  # edit
    assert 'name="start" value="resolve"' not in page  # import
    token = csrf_of(page)
    refused = marketer.post(
        "/jobs", data={"start": "resolve", "csrf_token": token}, headers={"Accept": "application/json"}
    )
    assert refused.status_code == 403
    started = marketer.post(
        "/jobs", data={"start": "segments_refresh", "csrf_token": token}, follow_redirects=False
    )
    assert started.status_code == 303
    job = marketer.get(f"/v1{started.headers['location']}").json()
    assert (job["kind"], job["owner"], job["origin"], job["state"]) == (
        "segments.refresh",
        "marketer",
        "web",
        "queued",
    )
    admin = idle_client(Role.ADMIN)
    token = csrf_of(admin.get("/jobs").text)
    models = admin.post(
        "/jobs", data={"start": "models_incremental", "csrf_token": token}, follow_redirects=False
    )
    assert admin.get(f"/v1{models.headers['location']}").json()["params"]["incremental"] is True
    unknown = admin.post(
        "/jobs", data={"start": "drop_tables", "csrf_token": token}, headers={"Accept": "application/json"}
    )
    assert unknown.status_code == 422


def test_the_list_shows_newest_first_with_translated_states_and_filters_by_state_and_kind(
    idle_client: Callable[[Role], TestClient],
) -> None:
    client = idle_client(Role.ADMIN)
    first = upload(client, GBK_ORDERS)
    token = csrf_of(client.get("/jobs").text)
    second = client.post("/jobs", data={"start": "resolve", "csrf_token": token}, follow_redirects=False)
    client.post(f"{first}/cancel", data={"csrf_token": token})
    listing = client.get("/jobs").text
    rows = re.findall(r'<tr data-job="(\d+)">', listing)
    assert rows == [str(job_id_of(second.headers["location"])), str(job_id_of(first))]
    assert "已取消" in listing
    assert "排队中" in listing
    assert "身份识别" in listing
    assert "taobao_orders_gbk_with_broken_rows.csv" in listing
    cancelled = client.get("/jobs?state=cancelled").text
    assert re.findall(r'<tr data-job="(\d+)">', cancelled) == [str(job_id_of(first))]
    by_kind = client.get("/jobs?kind=resolve").text
    assert re.findall(r'<tr data-job="(\d+)">', by_kind) == [str(job_id_of(second.headers["location"]))]
    assert "没有符合条件的任务" in client.get("/jobs?state=failed").text
    english = client.get("/jobs?lang=en").text
    assert ">Cancelled<" in english
    assert ">Resolve identities<" in english
    bad = client.get("/jobs?state=exploded", headers={"Accept": "application/json"})
    assert bad.status_code == 422


def test_a_job_of_an_unknown_number_is_the_404_page(as_role: Callable[[Role], TestClient]) -> None:
    response = as_role(Role.VIEWER).get("/jobs/424242")
    assert response.status_code == 404
    assert "there is no job 424242" in response.text


def test_every_job_state_has_a_word_in_both_languages() -> None:
    for locale in ("zh-CN", "en"):
        words = catalogues()[locale]
        assert [state for state in ALL_STATES if f"jobs.state.{state}" not in words] == []
    assert [catalogues()["zh-CN"][f"jobs.state.{s}"] for s in ALL_STATES] == [
        "排队中",
        "运行中",
        "已完成",
        "重试中",
        "失败",
        "已取消",
    ]
