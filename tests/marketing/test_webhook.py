"""The webhook channel against a real local HTTP server, alone and driven by the worker."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta

import pytest
from pydantic import SecretStr
from pydantic_settings import BaseSettings
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from guanxi.appdb.database import session_factory
from guanxi.config import Settings
from guanxi.errors import ConfigError
from guanxi.marketing import outbox
from guanxi.marketing.channels import Envelope
from guanxi.marketing.channels.webhook import WebhookChannel, WebhookSettings, signature
from guanxi.marketing.errors import PermanentDeliveryError, TransientDeliveryError
from guanxi.marketing.outbox import Delivery, OutboxMessage
from guanxi.marketing.worker import run_worker
from tests.marketing.conftest import WEBHOOK_SECRET
from tests.marketing.receiver import WebhookReceiver


def envelope(key: str = "k-1") -> Envelope:
    return Envelope(
        channel="webhook",
        recipient="c42",
        subject="提醒",
        body="您的订单还未付款",
        idempotency_key=key,
        payload={"order": "A1"},
    )


def test_a_post_is_signed_and_carries_the_idempotency_key(receiver: WebhookReceiver) -> None:
    channel = WebhookChannel(receiver.url, WEBHOOK_SECRET, timeout=5)
    provider_id = channel.send(envelope("journey:j:c42:0"))
    channel.close()
    [received] = receiver.received
    assert received.signature_ok
    assert received.header_key == received.body_key == "journey:j:c42:0"
    assert received.body == {
        "idempotency_key": "journey:j:c42:0",
        "channel": "webhook",
        "recipient": "c42",
        "subject": "提醒",
        "body": "您的订单还未付款",
        "payload": {"order": "A1"},
    }
    assert provider_id == "r-1"


def test_signature_is_hmac_sha256_of_the_body() -> None:
    # computed independently: printf 'hello' | openssl dgst -sha256 -hmac key
    assert (
        signature("key", b"hello")
        == "sha256=9307b3b915efb5171ff14d8cb55fbcc798c6c0ef1456d66ded1a6aa723a58b7b"
    )


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, TransientDeliveryError),
        (503, TransientDeliveryError),
        (429, TransientDeliveryError),
        (400, PermanentDeliveryError),
        (404, PermanentDeliveryError),
    ],
)
def test_status_classes_map_to_transient_or_permanent(
    receiver: WebhookReceiver, status: int, error: type[Exception]
) -> None:
    receiver.script.append(status)
    channel = WebhookChannel(receiver.url, WEBHOOK_SECRET, timeout=5)
    with pytest.raises(error):
        channel.send(envelope())
    channel.close()


def test_a_wrong_secret_is_refused_by_the_receiver_as_permanent(receiver: WebhookReceiver) -> None:
    channel = WebhookChannel(receiver.url, "not-the-secret", timeout=5)
    with pytest.raises(PermanentDeliveryError, match="401"):
        channel.send(envelope())
    assert receiver.received[0].signature_ok is False


def test_an_unreachable_endpoint_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel = WebhookChannel(f"http://127.0.0.1:{port}/hook", WEBHOOK_SECRET, timeout=2)
    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(envelope())
    assert caught.value.code == "webhook_unavailable"


def test_the_channel_needs_url_and_secret() -> None:
    with pytest.raises(ConfigError, match="GUANXI_WEBHOOK_URL"):
        WebhookChannel.from_settings(WebhookSettings(url=None, secret=SecretStr("s3cr3t")))
    with pytest.raises(ConfigError, match="GUANXI_WEBHOOK_SECRET"):
        WebhookChannel.from_settings(WebhookSettings(url="http://127.0.0.1:9/h", secret=None))
    secret = WebhookSettings(url="http://127.0.0.1:9/h", secret=SecretStr("s3cr3t"), timeout_seconds=3)
    channel = WebhookChannel.from_settings(secret)
    assert "s3cr3t" not in repr(channel)
    assert "s3cr3t" not in repr(secret)
    channel.close()


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def enqueue(engine: Engine, key: str, now: datetime) -> None:
    with session_factory(engine)() as session:
        outbox.enqueue(session, channel="webhook", recipient="c1", body="你好", idempotency_key=key, now=now)
        session.commit()


def message(session: Session, key: str) -> OutboxMessage:
    return session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).one()


def test_a_500_is_retried_after_the_back_off_and_then_sent(
    delivery_settings: Settings,
    channel_settings: dict[str, BaseSettings],
    app_engine: Engine,
    receiver: WebhookReceiver,
    now: datetime,
) -> None:
    enqueue(app_engine, "k-500", now)
    receiver.script.append(500)
    clock = Clock(now)

    first = run_worker(delivery_settings, "w1", once=True, clock=clock, channel_settings=channel_settings)
    clock.now = now + timedelta(seconds=29)
    early = run_worker(delivery_settings, "w1", once=True, clock=clock, channel_settings=channel_settings)
    clock.now = now + timedelta(seconds=30)
    second = run_worker(delivery_settings, "w2", once=True, clock=clock, channel_settings=channel_settings)

    assert (first.send_failed, early.sent + early.send_failed, second.sent) == (1, 0, 1)
    assert receiver.keys() == ["k-500", "k-500"]
    assert [r.status for r in receiver.received] == [500, 200]
    with Session(app_engine) as session:
        sent = message(session, "k-500")
        assert (sent.state, sent.attempts, sent.provider_message_id) == ("sent", 2, "r-2")
        assert sent.sent_at == now + timedelta(seconds=30)
        deliveries = session.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert [(d.attempt, d.worker_id, d.outcome, d.error_code) for d in deliveries] == [
            (1, "w1", "failed", "webhook_http_5xx"),
            (2, "w2", "sent", None),
        ]
        assert deliveries[0].at == now


def test_a_400_is_dead_at_once(
    delivery_settings: Settings,
    channel_settings: dict[str, BaseSettings],
    app_engine: Engine,
    receiver: WebhookReceiver,
    now: datetime,
) -> None:
    enqueue(app_engine, "k-400", now)
    receiver.script.append(400)
    stats = run_worker(
        delivery_settings, "w1", once=True, clock=Clock(now), channel_settings=channel_settings
    )
    later = run_worker(
        delivery_settings,
        "w1",
        once=True,
        clock=Clock(now + timedelta(days=1)),
        channel_settings=channel_settings,
    )
    assert (stats.dead, later.sent) == (1, 0)
    assert receiver.keys() == ["k-400"]
    with Session(app_engine) as session:
        dead = message(session, "k-400")
        assert (dead.state, dead.attempts) == ("dead", 1)
        assert dead.last_error is not None
        assert "400" in dead.last_error


def test_transient_failures_stop_at_the_attempt_limit(
    delivery_settings: Settings,
    channel_settings: dict[str, BaseSettings],
    app_engine: Engine,
    receiver: WebhookReceiver,
    now: datetime,
) -> None:
    enqueue(app_engine, "k-flaky", now)
    receiver.script.extend([503, 503, 503])
    clock = Clock(now)
    for wait in (0, 30, 60):  # back-off 30 s, then 60 s; max 3 attempts
        clock.now += timedelta(seconds=wait)
        run_worker(delivery_settings, "w", once=True, clock=clock, channel_settings=channel_settings)
    with Session(app_engine) as session:
        assert (message(session, "k-flaky").state, message(session, "k-flaky").attempts) == ("dead", 3)
    assert receiver.keys() == ["k-flaky"] * 3


def test_an_unknown_channel_is_dead_at_once(
    delivery_settings: Settings, channel_settings: dict[str, BaseSettings], app_engine: Engine, now: datetime
) -> None:
    with session_factory(app_engine)() as session:
        outbox.enqueue(session, channel="pigeon", recipient="x", idempotency_key="k", now=now)
        session.commit()
    run_worker(delivery_settings, "w", once=True, clock=Clock(now), channel_settings=channel_settings)
    with Session(app_engine) as session:
        stored = message(session, "k")
        assert stored.state == "dead"
        assert stored.last_error is not None
        assert "pigeon" in stored.last_error
