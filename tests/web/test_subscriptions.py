"""The public customer links: unsubscribe (page and RFC 8058 one-click) and e-mail double opt-in."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.appdb.database import make_engine, session_factory
from guanxi.config import Settings
from guanxi.marketing import consent
from guanxi.marketing.links import CONFIRM, UNSUBSCRIBE, LinkTarget, make_token
from guanxi.marketing.outbox import OutboxMessage
from guanxi.web.api.subscriptions import PER_ADDRESS, PER_IP
from guanxi.web.ui.subscriptions import mask_address

ADDRESS = "chen.li@shop.cn"
BROWSER = {"User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger/8.0"}


@pytest.fixture
def db(app_settings: Settings) -> Iterator[Session]:
    """A session of its own on the app's database, to look at what a request stored."""
    engine = make_engine(app_settings)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def unsubscribe_path(settings: Settings, address: str = ADDRESS, campaign: str | None = "spring-sale") -> str:
    return "/u/" + make_token(settings, UNSUBSCRIBE, LinkTarget("email", address, campaign))


def records(db: Session, address: str = ADDRESS, medium: str = "email") -> list[consent.ConsentRecord]:
    db.expire_all()
    return consent.history(db, medium, address)


def test_the_unsubscribe_page_shows_the_masked_address_and_changes_nothing(
    client: TestClient, app_settings: Settings, db: Session
) -> None:
    path = unsubscribe_path(app_settings)
    page = client.get(path, headers=BROWSER)

    assert page.status_code == 200
    assert "退订邮件" in page.text
    assert "c***@shop.cn" in page.text
    assert ADDRESS not in page.text
    assert f'action="{path}"' in page.text
    assert 'class="menu"' not in page.text
    assert records(db) == []


def test_the_page_button_revokes_consent_with_the_request_as_proof(
    client: TestClient, app_settings: Settings, db: Session
) -> None:
    response = client.post(unsubscribe_path(app_settings), headers=BROWSER)

    assert response.status_code == 200
    assert "已退订" in response.text
    [record] = records(db)
    assert (record.state, record.source, record.actor) == ("revoked", "unsubscribe", "subscriber")
    assert record.proof == {
        "ip": "testclient",
        "user_agent": BROWSER["User-Agent"],
        "campaign": "spring-sale",
        "method": "page",
    }
    assert consent.state_of(db, "email", ADDRESS) == consent.REVOKED
    assert "这个地址已经退订" in client.get(unsubscribe_path(app_settings)).text


def test_one_click_needs_no_cookie_or_csrf_token_and_is_idempotent(
    client: TestClient, app_settings: Settings, db: Session
) -> None:
    path = unsubscribe_path(app_settings)
    for _ in range(2):
        client.cookies.clear()
        response = client.post(
            path,
            data={"List-Unsubscribe": "One-Click"},
            headers={"User-Agent": "Gmail-One-Click", "Origin": "https://mail.google.com"},
            follow_redirects=False,
        )
        assert response.status_code == 200
        assert "已退订" in response.text

    multipart = client.post(path, files={"List-Unsubscribe": (None, "One-Click")})  # RFC 8058 allows both
    assert multipart.status_code == 200

    [record] = records(db)
    assert record.state == "revoked"
    assert record.proof["method"] == "one-click"
    assert record.proof["user_agent"] == "Gmail-One-Click"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forged_or_damaged_unsubscribe_link_is_refused_and_changes_nothing(
    client: TestClient, app_settings: Settings, db: Session, method: str
) -> None:
    good = unsubscribe_path(app_settings)
    other_secret = app_settings.model_copy(update={"secret_key": SecretStr("someone-else")})
    confirm_token = make_token(app_settings, CONFIRM, LinkTarget("email", ADDRESS))
    for path in [good[:-3], unsubscribe_path(other_secret), f"/u/{confirm_token}"]:
        response = client.request(
            method, path, data={"List-Unsubscribe": "One-Click"} if method == "POST" else None
        )
        assert response.status_code == 400, path
        assert "链接无效" in response.text
    assert records(db) == []


def test_double_opt_in_mails_a_confirmation_link_that_grants_consent(
    client: TestClient, app_settings: Settings, db: Session
) -> None:
    response = client.post("/v1/consent/subscribe", json={"email": " Chen.Li@Shop.cn "}, headers=BROWSER)

    assert response.status_code == 202
    assert response.json()["success"] is True
    assert consent.state_of(db, "email", ADDRESS) == consent.PENDING
    [message] = db.scalars(select(OutboxMessage)).all()
    assert (message.recipient, message.medium, message.transactional) == (ADDRESS, "email", True)
    found = re.search(r"http://127\.0\.0\.1:8000(/consent/confirm/\S+)", message.body)
    assert found, message.body

    confirmed = client.get(found.group(1), headers={"User-Agent": "Outlook"})

    assert confirmed.status_code == 200
    assert "订阅已确认" in confirmed.text
    assert mask_address("email", ADDRESS) in confirmed.text
    pending, granted = records(db)
    assert (pending.state, pending.source) == ("pending", "form")
    assert pending.proof == {"ip": "testclient", "user_agent": BROWSER["User-Agent"]}
    assert (granted.state, granted.source) == ("granted", "double_opt_in")
    assert granted.proof == {"ip": "testclient", "user_agent": "Outlook"}
    assert consent.state_of(db, "email", ADDRESS) == consent.GRANTED
    assert client.get(found.group(1)).status_code == 200  # a second click changes nothing
    assert len(records(db)) == 2


def test_subscribe_takes_a_form_too_and_refuses_what_is_no_address(client: TestClient, db: Session) -> None:
    assert client.post("/v1/consent/subscribe", data={"email": ADDRESS}).status_code == 202
    for body in [{"email": "not-an-address"}, {"name": "陈丽"}]:
        response = client.post("/v1/consent/subscribe", json=body)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_failed"
    assert len(db.scalars(select(OutboxMessage)).all()) == 1


def test_an_expired_confirmation_link_says_so_and_grants_nothing(
    client: TestClient, app_settings: Settings, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    eight_days_ago = int(time.time()) - 8 * 24 * 3600
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: eight_days_ago)
    token = make_token(app_settings, CONFIRM, LinkTarget("email", ADDRESS))
    monkeypatch.undo()

    response = client.get(f"/consent/confirm/{token}")

    assert response.status_code == 400
    assert "链接已过期" in response.text
    assert records(db) == []


def test_subscribe_is_throttled_per_address_and_per_ip(client: TestClient, db: Session) -> None:
    answers = [
        client.post("/v1/consent/subscribe", json={"email": ADDRESS}).status_code
        for _ in range(PER_ADDRESS + 1)
    ]
    assert answers == [202] * PER_ADDRESS + [429]
    assert len(db.scalars(select(OutboxMessage)).all()) == 1  # one confirmation mail per address a day

    others = [
        client.post("/v1/consent/subscribe", json={"email": f"buyer{n}@shop.cn"}).status_code
        for n in range(PER_IP - PER_ADDRESS)
    ]
    assert others[:-1] == [202] * (len(others) - 1)
    assert others[-1] == 429
    refused = client.post("/v1/consent/subscribe", json={"email": "late@shop.cn"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    db.expire_all()
    assert consent.state_of(db, "email", "late@shop.cn") is None


def test_addresses_are_masked_on_the_public_pages() -> None:
    assert mask_address("email", "chen.li@shop.cn") == "c***@shop.cn"
    assert mask_address("sms", "+8613812345678") == "+86138****5678"
    assert mask_address("wechat", "wx123/openid") == "wx***"
