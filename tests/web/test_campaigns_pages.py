"""营销活动 pages: a marketer writes a campaign in the editor (problems next to the form), previews it on
real customers (counts that add up, three masked samples), dry-runs it and drives it through launch,
pause, resume and cancel; a viewer reads but may not act.

The shop (``seed_shop``): nine customers — odd ids have an e-mail (深圳), 2, 4, 6, 8 a phone (杭州).
E-mail consent for 1, 3, 5, 7; SMS consent for 2, 4, 6, 8; c5@shop.cn is suppressed. A campaign to all
nine on SMS then e-mail: 9 has no consent, 5 is suppressed, so 7 are queued (4 SMS, 3 e-mails).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ibis.backends import BaseBackend
from sqlalchemy.orm import Session, sessionmaker

from guanxi import segments
from guanxi.appdb.roles import Role
from guanxi.config import Settings
from guanxi.marketing import consent, suppression
from guanxi.tables import CUSTOMERS
from guanxi.web import create_app
from guanxi.web.ui.campaigns import shown_wave_state
from tests.marketing.campaigns.conftest import shop_customers
from tests.segments.scenario import insert

from .conftest import PASSWORD, csrf_of, sign_in

SMS_THEN_EMAIL = {
    "name": "春季上新",
    "purpose": "nurture",
    "audience": {"customers": [str(n) for n in range(1, 10)]},
    "channels": ["sms", "email"],
    "control": 0,  # no holdout: these tests count every send (holdouts: test_holdout.py)
    "content": {
        "sms": {"body": "【小店】{{ name | default('亲') }}，春季上新"},
        "email": {
            "subject": "{{ name | default('亲') }}，春季上新",
            "body": "新品到店",
            "html": "<p>新品</p>",
        },
    },
}


def seed_shop(con: BaseBackend, sessions: sessionmaker[Session], now: datetime) -> None:
    """The shop's customers in the warehouse, their consent and one suppression, a 深圳 segment."""
    insert(con, CUSTOMERS, shop_customers())
    seed_marketing(sessions, now)


def seed_marketing(sessions: sessionmaker[Session], now: datetime) -> None:
    """The shop's consent ledger, the suppression of c5@shop.cn and the 深圳 segment (app database)."""
    with sessions() as session, session.begin():
        for number in (1, 3, 5, 7):
            consent.record_consent(
                session,
                medium="email",
                address=f"c{number}@shop.cn",
                state="granted",
                source="import",
                at=now - timedelta(days=30),
                now=now,
                actor="test",
                customer_id=str(number),
            )
        for number in (2, 4, 6, 8):
            consent.record_consent(
                session,
                medium="sms",
                address=f"+86138000000{number:02d}",
                state="granted",
                source="import",
                at=now - timedelta(days=30),
                now=now,
                actor="test",
                customer_id=str(number),
            )
        suppression.suppress(
            session, medium="email", address="c5@shop.cn", reason="complaint", actor="test", now=now
        )
        segments.create_segment(
            session, "shenzhen", {"where": "city = 深圳"}, actor="test", now=now, name="深圳客户"
        )


class Shop:
    """An app with its job thread off (waves stay waiting unless a test builds them), seeded as above."""

    def __init__(self, client: TestClient, add_user: Callable[..., None]) -> None:
        self.client = client
        self.add_user = add_user

    def as_role(self, role: Role) -> TestClient:
        self.add_user(role.value, role)
        self.client.cookies.clear()
        response = sign_in(self.client, role.value, PASSWORD)
        assert response.status_code == 303, response.text
        return self.client

    def token(self) -> str:
        return csrf_of(self.client.get("/campaigns/new").text)

    def post(self, path: str, data: dict[str, Any] | None = None) -> Any:
        token = csrf_of(self.client.get("/campaigns").text)
        return self.client.post(path, data={"csrf_token": token, **(data or {})}, follow_redirects=False)


@pytest.fixture
def shop(app_settings: Settings, now: datetime, add_user: Callable[..., None]) -> Iterator[Shop]:
    from guanxi.appdb.migrate import upgrade

    upgrade(app_settings)
    with TestClient(create_app(app_settings, clock=lambda: now, background=False)) as client:
        state = client.app.state.guanxi  # type: ignore[attr-defined]
        seed_shop(state.warehouse, state.sessions, now)
        yield Shop(client, add_user)


def form_for(key: str, **extra: str) -> dict[str, str]:
    """The editor's fields for SMS_THEN_EMAIL, sent now."""
    return {
        "key": key,
        "name": "春季上新",
        "purpose": "nurture",
        "audience_kind": "customers",
        "audience_customers": "1, 2 3\n4,5,6,7,8,9",
        "channel_on_sms": "1",
        "channel_order_sms": "1",
        "channel_on_email": "1",
        "channel_order_email": "2",
        "content_sms_body": "【小店】{{ name | default('亲') }}，春季上新",
        "content_email_subject": "{{ name | default('亲') }}，春季上新",
        "content_email_body": "新品到店",
        "schedule_mode": "now",
        **extra,
    }


def created(shop: Shop, key: str = "spring") -> None:
    response = shop.post("/campaigns", form_for(key))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/campaigns/{key}"


def test_the_list_and_the_editor_speak_chinese(shop: Shop) -> None:
    client = shop.as_role(Role.MARKETER)
    listing = client.get("/campaigns").text
    assert "营销活动" in listing
    assert "还没有营销活动" in listing
    editor = client.get("/campaigns/new").text
    for label in (
        "目标人群",
        "已保存的分群",
        "粘贴客户编号",
        "渠道（按偏好顺序）",
        "立即发送",
        "分批发送",
        "每人最多条数",
        "免打扰开始",
        "高级：完整定义（JSON）",
        "深圳客户",
        "短信签名",
        "模板 ID",
    ):
        assert label in editor, label
    assert 'placeholder="21:00"' in editor  # the default quiet hours are shown
    assert "/static/campaigns.js" in editor


def test_a_created_campaign_is_listed_as_a_draft_with_its_purpose_in_chinese(shop: Shop) -> None:
    shop.as_role(Role.MARKETER)
    created(shop)
    page = shop.client.get("/campaigns/spring").text
    assert "春季上新" in page
    assert "草稿" in page
    assert "培育" in page
    assert "已创建（草稿）" in page  # the flash
    assert ">sms</span> → <span" in page  # channels in preference order
    row = shop.client.get("/campaigns").text
    assert 'data-campaign="spring"' in row
    assert "培育" in row
    assert "草稿" in row


def test_a_broken_template_is_shown_next_to_the_form_and_nothing_is_saved(shop: Shop) -> None:
    shop.as_role(Role.MARKETER)
    response = shop.post("/campaigns", form_for("broken", content_email_subject="{{ name "))
    assert response.status_code == 422
    assert "请修改以下问题后再保存" in response.text
    assert "content.email.subject" in response.text
    assert 'value="broken"' in response.text  # the form keeps what was typed
    assert shop.client.get("/campaigns/broken", headers={"Accept": "application/json"}).status_code == 404


def test_every_problem_of_the_form_is_listed_at_once(shop: Shop) -> None:
    shop.as_role(Role.MARKETER)
    response = shop.post(
        "/campaigns",
        form_for("two", audience_customers="", schedule_mode="batches", batch_size="x", name=""),
    )
    assert response.status_code == 422
    text = response.text
    assert "audience: paste at least one customer id" in text
    assert "schedule.batch_size" in text


def test_the_live_audience_count_counts_a_segment_and_pasted_ids(shop: Shop) -> None:
    client = shop.as_role(Role.MARKETER)
    token = shop.token()
    headers = {"X-CSRF-Token": token, "Accept": "application/json"}
    assert client.post("/campaigns/audience-count", json={"segment": "shenzhen"}, headers=headers).json() == {
        "count": 5
    }
    listed = client.post("/campaigns/audience-count", json={"customers": ["1", "2", "99"]}, headers=headers)
    assert listed.json() == {"count": 2}
    refused = client.post("/campaigns/audience-count", json={"segment": "shenzhen"})
    assert refused.status_code == 403


def test_the_preview_shows_a_funnel_that_adds_up_and_three_masked_samples(shop: Shop) -> None:
    shop.as_role(Role.MARKETER)
    created(shop)
    page = shop.client.get("/campaigns/spring/preview").text
    assert "目标人群" in page
    assert "已同意" in page
    assert "未超频次上限" in page
    import re

    rows = dict(re.findall(r'data-stage="(\w+)"><td>[^<]*</td><td class="num">(\d+)</td>', page))
    assert rows == {
        "audience": "9",
        "reachable": "9",
        "consented": "8",
        "not_suppressed": "7",
        "not_do_not_disturb": "7",
        "under_cap": "7",
        "target": "7",
    }
    assert page.count('<tr class="sample">') == 3
    recipients = re.findall(r'<td class="recipient">([^<]+)</td>', page)
    assert all(re.fullmatch(r"138\*\*\*\*00\d\d|c\*\*\*@shop\.cn", r) for r in recipients), recipients
    assert "+8613800000002" not in page
    assert "c1@shop.cn" not in page
    assert "因免打扰时段" not in page  # 17:30 in Shanghai: no quiet hours


def test_a_wave_due_in_quiet_hours_says_when_it_will_go(shop: Shop) -> None:
    shop.as_role(Role.MARKETER)
    assert (
        shop.post(
            "/campaigns", form_for("late", schedule_mode="at", schedule_at="2026-03-01T22:30")
        ).status_code
        == 303
    )
    page = shop.client.get("/campaigns/late/preview").text
    assert "因免打扰时段将于 08:00 发送" in page
    assert "2026-03-01 22:30" in page  # the planned time, in Asia/Shanghai


def test_the_dry_run_shows_rendered_messages_and_channel_problems_in_red(shop: Shop) -> None:
    shop.as_role(Role.MARKETER)
    created(shop)
    page = shop.post("/campaigns/spring/dry-run").text
    assert "试运行" in page
    assert 'data-count="rendered"' in page
    import re

    rendered = re.search(
        r'data-count="rendered"><div class="stat-label">[^<]+</div><div class="stat-value">(\d+)', page
    )
    assert rendered
    assert rendered.group(1) == "7"
    assert "card-error channel-problems" in page  # no SMTP or SMS provider is configured in tests
    assert "渠道配置问题" in page


def test_a_viewer_reads_the_campaign_but_sees_no_buttons_and_may_not_launch(shop: Shop) -> None:
    shop.as_role(Role.MARKETER)
    created(shop)
    viewer = shop.as_role(Role.VIEWER)
    page = viewer.get("/campaigns/spring").text
    assert "春季上新" in page
    assert 'action="/campaigns/spring/launch"' not in page
    token = csrf_of(page)
    response = viewer.post(
        "/campaigns/spring/launch", data={"csrf_token": token}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 403
    assert viewer.get("/campaigns/new", headers={"Accept": "application/json"}).status_code == 403


def test_launch_pause_resume_and_cancel_move_the_campaign_and_refusals_are_notices(shop: Shop) -> None:
    shop.as_role(Role.MARKETER)
    created(shop)
    page = shop.client.get("/campaigns/spring").text
    assert 'action="/campaigns/spring/launch"' in page
    assert 'action="/campaigns/spring/pause"' not in page

    assert shop.post("/campaigns/spring/launch").headers["location"] == "/campaigns/spring"
    page = shop.client.get("/campaigns/spring").text
    assert "已排期" in page
    assert "已启动" in page
    assert 'data-campaign-poll="/campaigns/spring/progress.json"' in page
    assert "第 1 批" in page
    assert "等待中" in page
    assert "2026-03-01 17:30" in page
    assert 'action="/campaigns/spring/pause"' in page
    assert 'action="/campaigns/spring/launch"' not in page
    progress = shop.client.get("/campaigns/spring/progress.json").json()
    assert progress["status"] == "scheduled"
    assert progress["waves"][0]["state"] == "waiting"

    shop.post("/campaigns/spring/launch")  # a second launch is refused, as a notice
    page = shop.client.get("/campaigns/spring").text
    assert "无法启动" in page
    assert "not a draft" in page

    shop.post("/campaigns/spring/pause")
    page = shop.client.get("/campaigns/spring").text
    assert "已暂停" in page
    assert 'action="/campaigns/spring/resume"' in page
    assert "data-campaign-poll" not in page

    shop.post("/campaigns/spring/resume")
    assert "已继续" in shop.client.get("/campaigns/spring").text

    shop.post("/campaigns/spring/cancel")
    page = shop.client.get("/campaigns/spring").text
    assert "已取消" in page
    assert "<form" not in page.split("campaign-actions")[0][-1:]
    assert 'action="/campaigns/spring/resume"' not in page
    assert 'action="/campaigns/spring/cancel"' not in page


def test_editing_a_draft_saves_a_new_version_and_an_advanced_definition_opens_on_the_json(shop: Shop) -> None:
    import json

    shop.as_role(Role.MARKETER)
    created(shop)
    editor = shop.client.get("/campaigns/spring/edit").text
    assert 'value="spring"' in editor
    assert "readonly" in editor
    assert "以下方 JSON 为准" in editor
    response = shop.post("/campaigns/spring/edit", form_for("spring", name="春季上新 第二版"))
    assert response.status_code == 303
    assert "第 2 版" in shop.client.get("/campaigns/spring").text

    waves = {
        **SMS_THEN_EMAIL,
        "schedule": {
            "mode": "waves",
            "waves": [{"name": "预热", "offset_minutes": 0}, {"name": "开场", "offset_minutes": 60}],
        },
    }
    response = shop.post(
        "/campaigns", {"key": "waves", "use_json": "1", "definition_json": json.dumps(waves)}
    )
    assert response.status_code == 303, response.text
    editor = shop.client.get("/campaigns/waves/edit").text
    assert "表单无法表示" in editor
    assert 'name="use_json" value="1" checked' in editor


@pytest.mark.parametrize(
    ("state", "messages", "shown"),
    [
        ("queued", {"sent": 3, "suppressed": 1}, "sent"),
        ("queued", {"sent": 2, "pending": 1}, "queued"),
        ("queued", {"sent": 2, "failed": 1}, "queued"),
        ("queued", {"held": 4}, "queued"),
        ("queued", {}, "queued"),
        ("waiting", None, "waiting"),
        ("cancelled", {"cancelled": 3}, "cancelled"),
    ],
)
def test_a_wave_whose_messages_are_all_settled_is_shown_as_sent(
    state: str, messages: dict[str, int] | None, shown: str
) -> None:
    assert shown_wave_state(state, messages) == shown
