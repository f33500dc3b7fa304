"""A real browser installs the 催付 and 唤醒 recipes from the journey list, reads each journey's diagram
(a box per step, the branch's two arrows, the counts of customers already in it), checks a broken edit in
the editor, activates one journey, and photographs the pages in both languages (set
GUANXI_SCREENSHOTS=/some/folder to keep the pictures).

The customers "already in" 唤醒 are written into the app database before the page opens (enrollments and
their step runs, as the journey runtime would have left them), so the diagram shows real numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from guanxi.appdb.database import make_engine, session_factory
from guanxi.config import Settings
from guanxi.marketing.journeys import tables as jt

from .test_browser import CHROMIUM
from .test_jobs_browser import browser_page, live_server, shots
from .test_journeys_pages import enroll

__all__ = ["browser_page", "live_server", "shots"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium (apt-get install chromium)"
    ),
]

WIN_BACK_STEPS = ["coupon", "high_value", "call_task", "wait_14_days", "tag_not_back"]
REMINDER_STEPS = ["sms_15_minutes", "wait_2_hours", "wechat_2_hours", "wait_22_hours", "last_call"]


@pytest.fixture
def app_sessions(app: FastAPI, app_settings: Settings) -> Callable[[], sessionmaker[Session]]:
    """Sessions on the live server's app database (opened when first asked for)."""

    def sessions() -> sessionmaker[Session]:
        return session_factory(make_engine(app_settings))

    return sessions


def seed_win_back(sessions: sessionmaker[Session], key: str, now: datetime) -> None:
    """Twelve customers in the journey at its steps as the runtime leaves them, three with the goal reached,
    two held out."""
    coupon = (0, "coupon", "send", "done", "sent:sms")
    branch_then = (1, "high_value", "branch", "done", "then")
    branch_else = (1, "high_value", "branch", "done", "else")
    later = now + timedelta(days=10)
    for number in range(1, 4):  # high value: a call task, then waiting 14 days
        enroll(
            sessions,
            key,
            f"{number}",
            now,
            step="wait_14_days",
            runs=(
                coupon,
                branch_then,
                (2, "call_task", "task", "done", "task"),
                (3, "wait_14_days", "wait", "done", "waiting"),
            ),
        )
    for number in range(4, 10):  # the others: waiting 14 days
        enroll(
            sessions,
            key,
            f"{number}",
            now,
            step="wait_14_days",
            runs=(coupon, branch_else, (3, "wait_14_days", "wait", "done", "waiting")),
        )
    enroll(sessions, key, "10", now, step="high_value", runs=((0, "coupon", "send", "done", "no_consent"),))
    for number in range(11, 14):
        enroll(
            sessions, key, f"{number}", now, state=jt.GOAL, step="wait_14_days", runs=(coupon, branch_else)
        )
    for number in range(14, 16):
        enroll(sessions, key, f"{number}", now, state=jt.CONTROL)
    with sessions() as session, session.begin():  # the waits are due in ten days: pending, not done
        from sqlalchemy import update

        from guanxi.marketing.journey_steps import JourneyStepRun

        session.execute(
            update(JourneyStepRun)
            .where(JourneyStepRun.step_name == "wait_14_days")
            .values(state="pending", outcome=None, finished_at=None, due_at=later, next_attempt_at=later)
        )


def photograph(page: Any, selector: str, path: Path) -> None:
    """A picture of one part of the page, taken from the page's top (so the sticky menu bar stays there)."""
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True, clip=page.locator(selector).bounding_box())


def step_names(page: Any) -> list[str]:
    return [
        str(name)
        for name in page.locator("svg.journey-diagram g.journey-step").evaluate_all(
            "els => els.map(e => e.dataset.step)"
        )
    ]


def test_recipes_are_installed_and_their_diagrams_read_in_the_browser(
    live_server: str,
    browser_page: Any,
    shots: Path,
    app_sessions: Callable[[], sessionmaker[Session]],
    now: datetime,
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(live_server + "/journeys")
    expect(page.get_by_role("heading", name="客户旅程")).to_be_visible()
    expect(page.locator("tr[data-recipe]")).to_have_count(8)
    page.screenshot(path=str(shots / "journeys-empty-zh.png"), full_page=True)

    page.get_by_role("button", name="安装模板 催付").click()
    page.wait_for_url(live_server + "/journeys/payment-reminder")
    expect(page.locator("h1 [data-status]")).to_have_text("草稿")
    assert step_names(page) == REMINDER_STEPS
    expect(page.locator('g.journey-edge[data-from="last_call"][data-to="end"]')).to_have_count(1)
    page.screenshot(path=str(shots / "journey-payment-reminder-zh.png"), full_page=True)

    page.goto(live_server + "/journeys")
    page.get_by_role("button", name="安装模板 唤醒").click()
    page.wait_for_url(live_server + "/journeys/win-back")
    seed_win_back(app_sessions(), "win-back", now)
    page.reload()
    assert step_names(page) == WIN_BACK_STEPS
    for exit_label, target in (("then", "call_task"), ("else", "wait_14_days")):
        edge = page.locator(f'g.journey-edge[data-from="high_value"][data-exit="{exit_label}"]')
        expect(edge).to_have_attribute("data-to", target)
    expect(page.locator('g.journey-edge[data-from="high_value"] text')).to_have_text(["是", "否"])
    box = page.locator('g.journey-step[data-step="wait_14_days"]')
    expect(box.locator('[data-count="here"]')).to_have_text("9")
    expect(box.locator('[data-count="waiting"]')).to_have_text("9")
    expect(page.locator('g.journey-step[data-step="coupon"] [data-count="done"]')).to_have_text("13")
    expect(page.locator('.journey-counts [data-count="goal"] .stat-note')).to_contain_text("23.1%")
    boxes = [
        page.locator(f'g.journey-step[data-step="{name}"] rect.journey-box').bounding_box()
        for name in WIN_BACK_STEPS
    ]
    for i, a in enumerate(boxes):  # no two boxes overlap
        for b in boxes[i + 1 :]:
            assert a
            assert b
            apart = a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
            assert apart or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]
    page.screenshot(path=str(shots / "journey-win-back-zh.png"), full_page=True)
    photograph(page, "section.journey-graph", shots / "journey-win-back-diagram-zh.png")

    page.get_by_role("button", name="编辑").click()
    page.wait_for_url(re.compile(r".*/journeys/win-back/edit\??$"))
    editor = page.locator('textarea[name="text"]')
    editor.fill(editor.input_value().replace("days: 14", "dayz: 14").replace("then: call_task", "then: call"))
    page.get_by_role("button", name="检查").click()
    expect(page.locator('.journey-problems li[data-path="steps.3.dayz"]')).to_be_visible()
    expect(page.locator('.journey-problems li[data-path="steps.1.then"]')).to_be_visible()
    expect(editor).to_have_value(re.compile("then: call\n"))
    page.screenshot(path=str(shots / "journey-editor-problems-zh.png"), full_page=True)
    editor.fill(
        editor.input_value().replace("dayz: 14", "days: 14").replace("then: call\n", "then: call_task\n")
    )
    page.get_by_role("button", name="检查").click()
    expect(page.locator(".journey-valid")).to_contain_text("有效")

    page.goto(live_server + "/journeys/payment-reminder")
    page.get_by_role("button", name="启用").click()
    expect(page.locator("h1 [data-status]")).to_have_text("运行中")
    page.goto(live_server + "/journeys")
    expect(page.locator('tr[data-journey="win-back"] [data-count="entered"]')).to_have_text("15")
    page.screenshot(path=str(shots / "journeys-zh.png"), full_page=True)

    page.goto(live_server + "/journeys/win-back?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator('g.journey-edge[data-from="high_value"] text')).to_have_text(["yes", "no"])
    photograph(page, "section.journey-graph", shots / "journey-win-back-diagram-en.png")
    page.goto(live_server + "/journeys")
    page.screenshot(path=str(shots / "journeys-en.png"), full_page=True)
    page.goto(live_server + "/journeys?lang=zh-CN")
    assert len(list(shots.glob("*.png"))) == 8
