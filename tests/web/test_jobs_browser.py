"""A real browser uploads a file on the import page, lands on the job's page, watches its progress bar
move in place and reach done, and reads the import report; the jobs pages are photographed in both
languages (set GUANXI_SCREENSHOTS=/some/folder to keep the pictures)."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guanxi.ingest import jobs as ingest_jobs

from .conftest import PASSWORD
from .test_browser import CHROMIUM, LAUNCH_ARGS, live_server

__all__ = ["live_server"]  # the fixture, shared with test_browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium (apt-get install chromium)"
    ),
]

INGEST = Path(__file__).parents[1] / "data" / "ingest"
GBK_ORDERS = INGEST / "taobao_orders_gbk_with_broken_rows.csv"
UNKNOWN_HEADERS = INGEST / "orders_unknown_headers.csv"
WAIT = 30.0


class Gate:
    """Holds a running import at its ``read`` and ``normalise`` steps until the test opens each.

    It wraps :func:`guanxi.ingest.api.import_file` as the import job calls it: at a held step the
    job's progress is stored at once (not throttled), then the job waits, so the page shows that
    step for as long as the test looks at it.
    """

    def __init__(self) -> None:
        self.steps = {"read": threading.Event(), "normalise": threading.Event()}
        self.real = ingest_jobs.import_file

    def open(self, step: str) -> None:
        self.steps[step].set()

    def open_all(self) -> None:
        for event in self.steps.values():
            event.set()

    def import_file(self, *args: Any, progress: Any, **kwargs: Any) -> Any:
        def held(done: int, total: int, message: str = "") -> None:
            progress(done, total, message)
            if message in self.steps:
                progress.write(done, total, message)
                assert self.steps[message].wait(WAIT), f"the test never opened {message}"

        return self.real(*args, progress=held, **kwargs)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    held = Gate()
    monkeypatch.setattr(ingest_jobs, "import_file", held.import_file)
    yield held
    held.open_all()


@pytest.fixture
def shots(tmp_path: Path) -> Iterator[Path]:
    """Where screenshots go; copied to ``$GUANXI_SCREENSHOTS`` afterwards when it is set."""
    folder = tmp_path / "shots"
    folder.mkdir()
    yield folder
    keep = os.environ.get("GUANXI_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in folder.glob("*.png"):
            shutil.copy(shot, Path(keep) / shot.name)


@pytest.fixture
def browser_page(live_server: str) -> Iterator[Any]:
    """A signed-in (admin 王伟) chromium page on the live server; ``expect`` waits up to :data:`WAIT` seconds.

    Jobs run in a real background thread (a first import can take seconds on a slow machine), so
    the assertions that wait for a job get more than Playwright's 5 s default.
    """
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT * 1000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            page.set_default_timeout(WAIT * 1000)
            page.goto(live_server + "/login")
            page.get_by_label("用户名").fill("wang.wei")
            page.get_by_label("密码").fill(PASSWORD)
            page.get_by_role("button", name="登录").click()
            page.wait_for_url(live_server + "/")
            yield page
        finally:
            browser.close()
            expect.set_options(timeout=5000)  # Playwright's default, for the other browser tests


def upload_in_the_page(page: Any, base: str, path: Path) -> int:
    """Fill the import page's form with ``path`` as orders, submit it, and return the job it lands on."""
    page.goto(base + "/imports")
    page.get_by_label("数据类型").select_option("orders")
    page.get_by_label("文件").set_input_files(str(path))
    page.get_by_role("button", name="上传并导入").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_an_upload_lands_on_its_job_whose_progress_bar_moves_to_done_and_shows_the_report(
    live_server: str, gate: Gate, browser_page: Any, shots: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    job_id = upload_in_the_page(page, live_server, GBK_ORDERS)
    badge = page.locator("h1 .badge-job")
    bar = page.locator(".job-progress progress")

    expect(badge).to_have_text("运行中")  # queued at first; the script reloads when it runs
    expect(page.locator(".progress-count")).to_have_text("0 / 4")
    expect(page.locator(".progress-message")).to_have_text("读取文件")
    expect(page.get_by_role("button", name="取消任务")).to_be_visible()
    page.evaluate("window.guanxiTestMarker = 'same page'")

    gate.open("read")
    expect(page.locator(".progress-count")).to_have_text("1 / 4")
    expect(page.locator(".progress-message")).to_have_text("标准化")
    expect(bar).to_have_js_property("value", 1)
    expect(page.locator(".progress-percent")).to_have_text("25%")
    assert page.evaluate("window.guanxiTestMarker") == "same page"  # moved in place, not reloaded
    page.screenshot(path=str(shots / "job-running-zh.png"), full_page=True)

    gate.open("normalise")
    expect(badge).to_have_text("已完成")
    expect(page.locator(".progress-percent")).to_have_text("100%")
    expect(bar).to_have_js_property("value", 4)
    figures = {
        key: page.locator(f'[data-count="{key}"] .stat-value').inner_text()
        for key in ("rows_read", "rows_loaded", "rows_inserted", "rows_quarantined")
    }
    assert figures == {"rows_read": "6", "rows_loaded": "3", "rows_inserted": "3", "rows_quarantined": "3"}
    expect(page.get_by_text("金额无法识别")).to_be_visible()
    expect(page.get_by_role("button", name="取消任务")).to_have_count(0)
    page.get_by_role("link", name="查看该批次被隔离的行 →").click()
    page.wait_for_url(re.compile(r".*/imports/\d{8}-\d{6}-[0-9a-f]{8}$"))
    expect(page.get_by_role("heading", name="隔离的行")).to_be_visible()
    page.goto(f"{live_server}/jobs")
    expect(page.locator(f'tr[data-job="{job_id}"] .badge-job')).to_have_text("已完成")


def test_photograph_the_jobs_pages_in_both_languages(
    live_server: str, browser_page: Any, shots: Path
) -> None:
    """/jobs and /jobs/{id} for a done import and a failed one, in Chinese and English."""
    from playwright.sync_api import expect

    page = browser_page
    done = upload_in_the_page(page, live_server, GBK_ORDERS)
    expect(page.locator("h1 .badge-job")).to_have_text("已完成")
    failed = upload_in_the_page(page, live_server, UNKNOWN_HEADERS)
    expect(page.locator("h1 .badge-job")).to_have_text("失败")
    expect(page.locator(".error-code")).to_have_text("mapping_invalid")

    for locale, word in (("zh", "zh-CN"), ("en", "en")):
        page.goto(f"{live_server}/jobs?lang={word}")
        expect(page.locator("html")).to_have_attribute("lang", word)
        page.screenshot(path=str(shots / f"jobs-{locale}.png"), full_page=True)
        page.goto(f"{live_server}/jobs/{done}")
        page.screenshot(path=str(shots / f"job-done-{locale}.png"), full_page=True)
        page.goto(f"{live_server}/jobs/{failed}")
        page.screenshot(path=str(shots / f"job-failed-{locale}.png"), full_page=True)
    expect(page.locator("h1 .badge-job")).to_have_text("Failed")
    for shot in shots.glob("*.png"):
        assert shot.read_bytes().startswith(b"\x89PNG")
    assert len(list(shots.glob("*.png"))) == 6
