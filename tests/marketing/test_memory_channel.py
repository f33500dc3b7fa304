"""The in-memory channel records what it is given and answers as told, also under the worker."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from guanxi.appdb.database import session_factory
from guanxi.config import Settings
from guanxi.marketing import outbox
from guanxi.marketing.channels import ChannelSet, Envelope
from guanxi.marketing.channels.memory import MemoryChannel, scripted
from guanxi.marketing.errors import PermanentDeliveryError, TransientDeliveryError
from guanxi.marketing.outbox import Delivery, OutboxMessage
from guanxi.marketing.worker import run_worker


def envelope(key: str, recipient: str = "13800138000") -> Envelope:
    return Envelope(
        channel="sms", recipient=recipient, subject="", body="您的订单已发货", idempotency_key=key
    )


def test_every_envelope_is_recorded_and_numbered() -> None:
    channel = MemoryChannel()
    assert [channel.send(envelope("k1")), channel.send(envelope("k2"))] == ["memory-1", "memory-2"]
    assert channel.keys() == ["k1", "k2"]
    assert [(message.idempotency_key, provider) for message, provider in channel.delivered] == [
        ("k1", "memory-1"),
        ("k2", "memory-2"),
    ]


def test_a_handler_decides_the_answer_and_failed_attempts_are_recorded_too() -> None:
    def refuse_landlines(message: Envelope) -> str:
        if message.recipient.startswith("010"):
            raise PermanentDeliveryError("not a mobile number", code="sms_number_invalid")
        return f"sms-{message.idempotency_key}"

    channel = MemoryChannel(refuse_landlines)
    assert channel.send(envelope("k1")) == "sms-k1"
    with pytest.raises(PermanentDeliveryError, match="not a mobile number"):
        channel.send(envelope("k2", recipient="01012345678"))
    assert channel.keys() == ["k1", "k2"]
    assert [message.idempotency_key for message, _ in channel.delivered] == ["k1"]


def test_a_script_answers_in_order_then_delivers() -> None:
    channel = MemoryChannel(scripted(TransientDeliveryError("busy"), "p-2"))
    with pytest.raises(TransientDeliveryError, match="busy"):
        channel.send(envelope("k"))
    assert channel.send(envelope("k")) == "p-2"
    assert channel.send(envelope("k")) == "memory-3"


def test_its_definition_builds_the_very_same_channel_and_close_keeps_it_usable() -> None:
    channel = MemoryChannel()
    channels = ChannelSet([channel.definition("sms")])
    assert channels.get("sms") is channel
    channels.close()
    assert channel.closed
    assert ChannelSet([channel.definition("sms")]).get("sms").send(envelope("k")) == "memory-1"


def test_under_the_worker_a_transient_answer_is_retried_and_a_permanent_one_is_dead(
    app_settings: Settings, app_engine: Engine, now: datetime
) -> None:
    local = app_settings.model_copy(update={"outbox_retry_jitter": 0.0, "outbox_retry_base_seconds": 30.0})
    with session_factory(app_engine)() as session:
        for key in ("late", "never"):
            outbox.enqueue(session, channel="sms", recipient="13800138000", idempotency_key=key, now=now)
        session.commit()
    channel = MemoryChannel(
        scripted(
            TransientDeliveryError("gateway busy", code="sms_busy"),
            PermanentDeliveryError("number unknown", code="sms_number_invalid"),
            "sms-9",
        )
    )
    sms = [channel.definition("sms")]

    first = run_worker(local, "w", once=True, clock=lambda: now, channel_definitions=sms)
    second = run_worker(
        local, "w", once=True, clock=lambda: now + timedelta(seconds=30), channel_definitions=sms
    )

    assert (first.send_failed, first.dead, second.sent) == (2, 1, 1)
    assert channel.keys() == ["late", "never", "late"]
    with Session(app_engine) as session:
        stored = {m.idempotency_key: m for m in session.scalars(select(OutboxMessage))}
        assert (stored["late"].state, stored["late"].provider_message_id) == ("sent", "sms-9")
        assert stored["never"].state == "dead"
        codes = [d.error_code for d in session.scalars(select(Delivery).order_by(Delivery.id))]
        assert codes == ["sms_busy", "sms_number_invalid", None]
