"""A real browser walks a campaign from the editor to sent messages: the live audience count, the saved
draft, the preview's funnel and samples, launch, and the campaign page's counts moving in place while a
worker thread delivers to a real SMTP server; both languages are photographed (set
GUANXI_SCREENSHOTS=/some/folder to keep the pictures).

The shop is ``seed_shop``'s, imported from a CRM export and resolved: the 深圳 segment holds customers 1, 3, 5, 7 and 9, all with an e-mail; 9 has
no consent and c5@shop.cn is suppressed, so an e-mail campaign to the segment sends to 1, 3 and 7.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from guanxi.appdb.database import make_engine, session_factory
from guanxi.config import Settings
from guanxi.identity import resolve
from guanxi.marketing.channels.smtp import SmtpSettings
from guanxi.marketing.worker import run_worker
from guanxi.tables import RAW_CUSTOMERS
from guanxi.warehouse import connect
from tests.marketing.campaigns.conftest import shop_customers
from tests.marketing.test_smtp import Mailbox, mailbox
from tests.segments.scenario import insert

from .test_browser import CHROMIUM
from .test_campaigns_pages import seed_marketing
from .test_jobs_browser import browser_page, live_server, shots

__all__ = ["browser_page", "live_server", "mailbox", "shots"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium (apt-get install chromium)"
    ),
]


@pytest.fixture
def seeded(app: FastAPI, app_settings: Settings, now: datetime) -> None:
    """The shop as a CRM export resolved into customers, its consent and segment, before the server opens.

    Real customers come from identity resolution (the server's incremental resolver keeps them), so
    the shop goes in as raw records rather than as rows written into ``customers``.
    """
    warehouse = connect(app_settings)
    engine = make_engine(app_settings)
    try:
        raw = [
            {"source": "crm", "source_customer_id": str(row["customer_id"])}
            | {k: v for k, v in row.items() if k != "customer_id"}
            for row in shop_customers()
        ]
        insert(warehouse, RAW_CUSTOMERS, raw)
        resolve(warehouse, app_settings, now=now)
        assert warehouse.table("customers").count().execute() == 9
        seed_marketing(session_factory(engine), now)
    finally:
        warehouse.disconnect()
        engine.dispose()


@pytest.fixture
def delivering(
    seeded: None, app_settings: Settings, now: datetime, mailbox: tuple[Mailbox, int]
) -> Iterator[Mailbox]:
    """A worker thread delivering the outbox (clock at ``now``) to the SMTP server ``mailbox``."""
    handler, port = mailbox
    stop = threading.Event()
    smtp = SmtpSettings(
        host="127.0.0.1", port=port, security="plain", mail_from="好店 <shop@haodian.example>"
    )
    thread = threading.Thread(
        target=run_worker,
        args=(app_settings.model_copy(update={"worker_poll_seconds": 0.2}),),
        kwargs={"stop_event": stop, "clock": lambda: now, "channel_settings": {"email": smtp}},
        daemon=True,
    )
    thread.start()
    yield handler
    stop.set()
    thread.join(timeout=30)


def test_a_campaign_goes_from_the_editor_to_sent_messages_in_the_browser(
    delivering: Mailbox, live_server: str, browser_page: Any, shots: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(live_server + "/campaigns/new")
    page.locator('input[name="key"]').fill("spring")
    page.locator('input[name="name"]').fill("春季上新")
    page.locator('select[name="purpose"]').select_option("nurture")
    page.locator('input[name="audience_kind"][value="segment"]').check()
    page.locator('select[name="audience_segment"]').select_option("shenzhen")
    expect(page.locator("[data-audience-count-value]")).to_have_text("5")
    expect(page.locator('fieldset[data-content-for="sms"]')).to_be_visible()  # nothing ticked: all shown
    page.locator('input[name="channel_on_email"]').check()
    expect(page.locator('fieldset[data-content-for="sms"]')).to_be_hidden()  # only the ticked channel's
    expect(page.locator('fieldset[data-content-for="email"]')).to_be_visible()
    page.locator('input[name="content_email_subject"]').fill("{{ name | default('亲') }}，春季上新")
    page.locator('textarea[name="content_email_body"]').fill("新品到店，欢迎选购")
    page.locator('input[name="schedule_mode"][value="now"]').check()
    page.screenshot(path=str(shots / "campaign-editor-zh.png"), full_page=True)
    page.get_by_role("button", name="保存").click()

    page.wait_for_url(live_server + "/campaigns/spring")
    expect(page.locator("h1 [data-status]")).to_have_text("草稿")
    page.get_by_role("button", name="预览").click()
    page.wait_for_url(re.compile(r".*/campaigns/spring/preview"))
    funnel = {
        stage: page.locator(f'tr[data-stage="{stage}"] td.num').first.inner_text()
        for stage in ("audience", "reachable", "consented", "not_suppressed", "under_cap")
    }
    assert funnel == {
        "audience": "5",
        "reachable": "5",
        "consented": "4",
        "not_suppressed": "3",
        "under_cap": "3",
    }
    expect(page.locator("tr.sample")).to_have_count(3)
    expect(page.locator("tr.sample .recipient").first).to_have_text(re.compile(r"^c\*\*\*@shop\.cn$"))
    page.screenshot(path=str(shots / "campaign-preview-zh.png"), full_page=True)

    page.goto(live_server + "/campaigns/spring")
    page.evaluate("window.guanxiTestMarker = 'same page'")
    page.get_by_role("button", name="启动").click()
    page.wait_for_url(live_server + "/campaigns/spring")
    expect(page.locator('[data-message="sent"] .stat-value')).to_have_text("3")
    expect(page.locator("h1 [data-status]")).to_have_text("已完成")
    expect(page.locator("[data-wave-state]")).to_have_text("已发送")
    expect(page.locator('tr[data-stage="under_cap"] td.num').first).to_have_text("3")
    page.screenshot(path=str(shots / "campaign-sent-zh.png"), full_page=True)
    assert sorted(rcpt[0] for _, rcpt, _ in delivering.messages) == ["c1@shop.cn", "c3@shop.cn", "c7@shop.cn"]
    subjects = sorted(message["Subject"] for _, _, message in delivering.messages)
    assert subjects == sorted(["客户1，春季上新", "客户7，春季上新", "亲，春季上新"])

    page.goto(live_server + "/campaigns?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.screenshot(path=str(shots / "campaigns-en.png"), full_page=True)
    page.goto(live_server + "/campaigns/spring")
    expect(page.locator("h1 [data-status]")).to_have_text("Completed")
    page.screenshot(path=str(shots / "campaign-sent-en.png"), full_page=True)
    page.goto(live_server + "/campaigns?lang=zh-CN")
    page.screenshot(path=str(shots / "campaigns-zh.png"), full_page=True)
    assert len(list(shots.glob("*.png"))) == 6
