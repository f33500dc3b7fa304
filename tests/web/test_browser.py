"""A real browser (Debian chromium via Playwright) signs in, reads the dashboard in Chinese,
switches to English and signs out, against uvicorn serving the app on a free localhost port."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from guanxi.appdb.roles import Role
from guanxi.config import Settings
from guanxi.tables import RAW_ORDERS
from guanxi.warehouse import connect

from .conftest import PASSWORD, insert_rows

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium (apt-get install chromium)"
    ),
]


@pytest.fixture
def live_server(app: FastAPI, app_settings: Settings, add_user: Callable[..., None]) -> Iterator[str]:
    """The app served by uvicorn in a thread on 127.0.0.1:<free port>, with a user and two orders."""
    add_user("wang.wei", Role.ADMIN, display_name="王伟")
    warehouse = connect(app_settings)
    insert_rows(
        warehouse,
        RAW_ORDERS,
        [
            {
                "source": "tb",
                "order_id": "1",
                "status": "paid",
                "created_at": datetime(2026, 1, 5),
                "paid_at": datetime(2026, 1, 5, 0, 5),
                "paid_amount": Decimal("1234.50"),
            },
            {
                "source": "tb",
                "order_id": "2",
                "status": "paid",
                "created_at": datetime(2026, 2, 5),
                "paid_at": datetime(2026, 2, 5, 0, 5),
                "paid_amount": Decimal("66.00"),
            },
        ],
    )
    warehouse.disconnect()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()


def test_sign_in_read_the_dashboard_in_chinese_switch_to_english_and_sign_out(
    live_server: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            page.goto(live_server + "/")
            expect(page).to_have_url(f"{live_server}/login?next=%2F")
            page.get_by_label("用户名").fill("wang.wei")
            page.get_by_label("密码").fill(PASSWORD)
            page.get_by_role("button", name="登录").click()

            expect(page).to_have_url(live_server + "/")
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
            expect(page.get_by_role("heading", name="仪表盘")).to_be_visible()
            expect(page.locator(".stat-money .stat-value")).to_have_text("¥1,300.50")
            expect(page.locator(".chart-bar")).to_have_count(12)
            page.screenshot(path=str(tmp_path / "dashboard-zh.png"), full_page=True)

            page.get_by_role("button", name="English").click()
            expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
            expect(page.locator("html")).to_have_attribute("lang", "en")

            page.get_by_role("button", name="Sign out").click()
            expect(page).to_have_url(live_server + "/login")
            expect(page.get_by_role("button", name="Sign in")).to_be_visible()
            page.goto(live_server + "/")
            expect(page).to_have_url(f"{live_server}/login?next=%2F")
        finally:
            browser.close()
    shot = (tmp_path / "dashboard-zh.png").read_bytes()
    assert shot.startswith(b"\x89PNG")
    assert len(shot) > 20_000
