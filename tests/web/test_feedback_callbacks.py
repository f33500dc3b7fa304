"""Provider callbacks: Aliyun receipts and replies, a generic provider's replies, bounces piped by an MTA."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.appdb.database import make_engine, session_factory
from guanxi.config import Settings
from guanxi.marketing import consent, outbox, suppression
from guanxi.marketing.channels.aliyun_sms import PUSH_ANSWER
from guanxi.marketing.outbox import OutboxMessage
from guanxi.web import create_app

TOKEN = "inbound-0123456789abcdef"  # noqa: S105 - a test secret
BOUNCES = Path(__file__).parents[1] / "data" / "bounces"
PHONE = "+8613812345678"
ROUTES = ["/v1/sms/aliyun/reports", "/v1/sms/aliyun/replies", "/v1/sms/replies", "/v1/mail/bounces"]


@pytest.fixture
def app_settings(app_settings: Settings) -> Settings:
    """The app's settings with GUANXI_INBOUND_TOKEN set."""
    return app_settings.model_copy(update={"inbound_token": SecretStr(TOKEN)})


@pytest.fixture
def db(app_settings: Settings) -> Iterator[Session]:
    engine = make_engine(app_settings)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def sent(db: Session, key: str, now: datetime, *, provider_id: str, channel: str = "aliyun_sms") -> int:
    """An outbox message already handed to the provider under ``provider_id``; its id."""
    message = outbox.enqueue(
        db, channel=channel, recipient=PHONE, idempotency_key=key, now=now, body="春季上新"
    )
    message.state, message.sent_at, message.provider_message_id = "sent", now, provider_id
    db.commit()
    return message.id


def report(biz_id: str, success: bool, err_code: str = "DELIVERED") -> dict[str, Any]:
    return {
        "phone_number": "13812345678",
        "send_time": "2026-03-01 17:30:00",
        "report_time": "2026-03-01 17:30:08",
        "success": success,
        "err_code": err_code,
        "err_msg": "用户接收成功" if success else "失败",
        "sms_size": "1",
        "biz_id": biz_id,
        "out_id": "x",
    }


def sms_up(content: str) -> list[dict[str, Any]]:
    return [
        {
            "phone_number": "13812345678",
            "send_time": "2026-03-01 18:02:11",
            "content": content,
            "sign_name": "好店",
            "dest_code": "1234",
            "sequence_id": 889900,
        }
    ]


def post(client: TestClient, path: str, token: str | None = TOKEN, **kwargs: Any) -> Any:
    return client.post(path, params={"token": token} if token is not None else None, **kwargs)


def test_an_aliyun_report_marks_messages_delivered_or_undelivered_by_biz_id(
    client: TestClient, db: Session, now: datetime
) -> None:
    ok = sent(db, "campaign:1:c1", now, provider_id="900619746936498440^0")
    failed = sent(db, "campaign:1:c2", now, provider_id="900619746936498441^0")
    body = [report("900619746936498440^0", True), report("900619746936498441^0", False, "MK:0001")]

    for _ in range(2):  # Aliyun may push a receipt twice
        response = post(client, "/v1/sms/aliyun/reports", content=json.dumps(body))
        assert (response.status_code, response.json()) == (200, PUSH_ANSWER)

    db.expire_all()
    delivered, undelivered = db.get(OutboxMessage, ok), db.get(OutboxMessage, failed)
    assert delivered is not None
    assert undelivered is not None
    assert (delivered.receipt, delivered.receipt_error) == ("delivered", None)
    assert (undelivered.receipt, undelivered.receipt_error) == ("undelivered", "MK:0001")


def test_a_malformed_push_is_a_400_naming_the_problem_and_changes_nothing(
    client: TestClient, db: Session, now: datetime
) -> None:
    message = sent(db, "campaign:1:c1", now, provider_id="900619746936498440^0")
    broken = [report("900619746936498440^0", True), {"phone_number": "13812345678", "success": "yes"}]

    response = post(client, "/v1/sms/aliyun/reports", content=json.dumps(broken))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "callback_malformed"
    assert "item 1" in error["message"]
    assert "biz_id" in error["message"]
    db.expire_all()
    stored = db.get(OutboxMessage, message)
    assert stored is not None
    assert stored.receipt is None
    for path in ["/v1/sms/aliyun/replies", "/v1/sms/replies"]:
        refused = post(client, path, content=b"{not json", headers={"Content-Type": "application/json"})
        assert refused.status_code == 400, path
        assert refused.json()["error"]["code"] == "callback_malformed"


def test_an_aliyun_td_reply_revokes_sms_consent_once(client: TestClient, db: Session) -> None:
    for _ in range(2):
        response = post(client, "/v1/sms/aliyun/replies", content=json.dumps(sms_up("TD")))
        assert (response.status_code, response.json()) == (200, PUSH_ANSWER)

    [record] = consent.history(db, "sms", PHONE)
    assert (record.state, record.source, record.actor) == ("revoked", "sms_reply", "aliyun_sms")
    assert record.proof == {"reply": "TD", "provider_id": "889900"}


def test_a_generic_provider_reply_of_tuiding_revokes_and_other_text_is_ignored(
    client: TestClient, db: Session
) -> None:
    response = post(client, "/v1/sms/replies", data={"mobile": "138 1234 5678", "content": "退订"})
    assert response.status_code == 200
    assert response.json()["opted_out"] == 1

    chat = post(client, "/v1/sms/replies", json={"phone": "+8613900001111", "text": "T恤多少钱"})
    assert chat.status_code == 200
    assert (chat.json()["ignored"], chat.json()["opted_out"]) == (1, 0)

    assert consent.state_of(db, "sms", PHONE) == consent.REVOKED
    assert consent.state_of(db, "sms", "+8613900001111") is None
    missing = post(client, "/v1/sms/replies", json={"phone": PHONE})
    assert missing.status_code == 400
    assert "text: missing" in missing.json()["error"]["message"]


def test_a_bounce_dsn_suppresses_the_address_and_marks_the_message(
    client: TestClient, db: Session, now: datetime
) -> None:
    message = outbox.enqueue(
        db, channel="email", recipient="WangFang@example.com", idempotency_key="journey:care:c42:1", now=now
    )
    db.commit()
    raw = (BOUNCES / "hard_bounce_5_1_1.eml").read_bytes()

    for _ in range(2):
        response = post(client, "/v1/mail/bounces", content=raw, headers={"Content-Type": "message/rfc822"})
        assert response.status_code == 200
        assert response.json()["suppressed"] == 1

    db.expire_all()
    entries = db.scalars(select(suppression.Suppression)).all()
    assert [(e.medium, e.address, e.reason) for e in entries] == [("email", "wangfang@example.com", "bounce")]
    stored = db.get(OutboxMessage, message.id)
    assert stored is not None
    assert stored.receipt == "undelivered"
    assert (stored.receipt_error or "").startswith("5.1.1 550")


def test_mail_that_is_no_dsn_is_accepted_and_ignored_but_an_empty_body_is_refused(
    client: TestClient, db: Session
) -> None:
    response = post(client, "/v1/mail/bounces", content=(BOUNCES / "not_a_dsn.eml").read_bytes())
    assert response.status_code == 200
    assert response.json()["suppressed"] == 0
    assert post(client, "/v1/mail/bounces", content=b"").status_code == 400
    assert db.scalars(select(suppression.Suppression)).all() == []


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + "x"])
def test_a_missing_or_wrong_token_is_401_and_never_logged(
    client: TestClient, db: Session, caplog: pytest.LogCaptureFixture, path: str, token: str | None
) -> None:
    caplog.set_level(logging.DEBUG)
    response = post(client, path, token=token, content=json.dumps(sms_up("TD")))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth_failed"
    assert consent.state_of(db, "sms", PHONE) is None
    server_logs = [r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert [line for line in server_logs if TOKEN in line] == []
    assert TOKEN not in response.text


def test_without_an_inbound_token_setting_the_callbacks_do_not_exist(
    app: FastAPI, app_settings: Settings, now: datetime
) -> None:
    unset = app_settings.model_copy(update={"inbound_token": None})
    with TestClient(create_app(unset, clock=lambda: now, background=False)) as client:
        for path in ROUTES:
            response = post(client, path, token="", content=b"[]")
            assert response.status_code == 404, path
