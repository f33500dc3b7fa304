"""催付 on a controlled clock: the reminders an unpaid order gets, none after paying or cancelling, none at night.

Orders (Shanghai time, 1 November 2026), the recipe as installed (15 min SMS, 2 h WeChat or SMS, 22 h last call,
quiet hours 21:00–09:00):

    O1  c2  10:00 unpaid, never paid        → 10:15 SMS, 12:00 SMS, last call due 08:00 next day → held to 09:00
    O2  c4  19:30 unpaid, never paid        → 19:45 SMS, 21:30 due → held to 09:00, 17:30 next day last call
    O3  c6  10:00, paid 10:05               → nothing (paid before the first reminder)
    O4  c2  10:30, paid 12:40               → 10:45 SMS, 12:30 SMS, then the goal: no last call
    O5  c4  10:00, cancelled 10:50          → 10:15 SMS, then stopped: no more
"""

from __future__ import annotations

from sqlalchemy import select

from guanxi.marketing import outbox
from guanxi.marketing.journey_steps import JourneyStepRun
from guanxi.marketing.quiet_hours import QuietHours
from tests.marketing.channels_sms.servers import ProviderServer
from tests.marketing.journeys.conftest import SHANGHAI, Journeys, add_orders, order, set_order

KEY = "payment-reminder"


def test_the_payment_reminder_sends_exactly_the_expected_reminders(
    journeys: Journeys, sms_server: ProviderServer
) -> None:
    journeys.clock.at_local("2026-11-01 09:00")
    journeys.install("payment_reminder")
    add_orders(
        journeys.warehouse,
        order("O1", 2, "unpaid", "2026-11-01 10:00"),
        order("O2", 4, "unpaid", "2026-11-01 19:30"),
        order("O3", 6, "paid", "2026-11-01 10:00", paid_at="2026-11-01 10:05"),
        order("O4", 2, "unpaid", "2026-11-01 10:30"),
        order("O5", 4, "unpaid", "2026-11-01 10:00"),
    )
    assert journeys.at("2026-11-01 10:14").entered == 0  # nobody is 15 minutes unpaid yet
    assert journeys.at("2026-11-01 10:16").entered == 2  # O1, O5 (O3 was paid)
    journeys.at("2026-11-01 10:46")  # O4
    set_order(journeys.warehouse, "O5", status="cancelled")
    journeys.at("2026-11-01 11:01")
    journeys.at("2026-11-01 12:01")
    journeys.at("2026-11-01 12:31")
    set_order(journeys.warehouse, "O4", status="paid", paid_at="2026-11-01 12:40", paid_amount=199)
    journeys.at("2026-11-01 12:45")
    journeys.at("2026-11-01 19:46")
    night = len(journeys.sent())
    for moment in ("2026-11-01 21:31", "2026-11-01 23:00", "2026-11-02 08:01", "2026-11-02 08:59"):
        journeys.at(moment)
    assert len(journeys.sent()) == night  # nothing at night, although O2's and O1's reminders fell due
    journeys.at("2026-11-02 09:00")
    journeys.at("2026-11-02 17:31")
    journeys.at("2026-11-03 10:00")

    assert sorted(journeys.sent(KEY)) == sorted([
        ("2", "sms_15_minutes", "sms", "2026-11-01 10:16"),  # O1
        ("4", "sms_15_minutes", "sms", "2026-11-01 10:16"),  # O5
        ("2", "sms_15_minutes", "sms", "2026-11-01 10:46"),  # O4
        ("2", "wechat_2_hours", "sms", "2026-11-01 12:01"),  # O1: no WeChat openid, so SMS
        ("2", "wechat_2_hours", "sms", "2026-11-01 12:31"),  # O4
        ("4", "sms_15_minutes", "sms", "2026-11-01 19:46"),  # O2
        ("2", "last_call", "sms", "2026-11-02 09:00"),  # O1: due 08:00, after the night
        ("4", "wechat_2_hours", "sms", "2026-11-02 09:00"),  # O2: due 21:30, after the night
        ("4", "last_call", "sms", "2026-11-02 17:31"),  # O2
    ])  # fmt: skip
    assert journeys.states(KEY) == {
        ("2", "shop:O1"): "completed",
        ("4", "shop:O2"): "completed",
        ("2", "shop:O4"): "goal",
        ("4", "shop:O5"): "exited",
    }
    assert len(sms_server.received) == 9
    texts = [request.json()["text"] for request in sms_server.received]
    assert "客户2,您的订单还未付款,宝贝已为您预留,请尽快完成支付哦~" in texts
    assert all("退订" not in text for text in texts)  # service messages carry no marketing opt-out
    quiet = QuietHours.of("21:00", "09:00", SHANGHAI)
    for message in journeys.messages(KEY):
        assert message.sent_at is not None
        assert quiet.next_allowed(message.sent_at) == message.sent_at  # none went out in quiet hours


def test_a_reminder_already_queued_is_withdrawn_when_the_order_is_paid(journeys: Journeys) -> None:
    journeys.clock.at_local("2026-11-01 09:00")
    journeys.install("payment_reminder")
    add_orders(journeys.warehouse, order("O1", 2, "unpaid", "2026-11-01 20:00"))
    journeys.at("2026-11-01 20:16")  # first SMS sent
    journeys.at("2026-11-01 22:01")  # the 2-hour one is queued for 09:00
    held = [m for m in journeys.messages(KEY) if m.state == outbox.STATES.pending]
    assert [(m.payload["step"], m.next_attempt_at.astimezone(SHANGHAI).strftime("%H:%M")) for m in held] == [
        ("wechat_2_hours", "09:00")
    ]
    set_order(journeys.warehouse, "O1", status="paid", paid_at="2026-11-02 07:00", paid_amount=199)
    journeys.at("2026-11-02 07:05")
    journeys.at("2026-11-02 09:30")
    assert [m.payload["step"] for m in journeys.messages(KEY) if m.state == outbox.STATES.done] == [
        "sms_15_minutes"
    ]
    assert [m.state for m in journeys.messages(KEY)] == [outbox.STATES.done, outbox.CANCELLED]
    with journeys.sessions() as session:
        outcomes = [r.outcome for r in session.scalars(select(JourneyStepRun).order_by(JourneyStepRun.id))]
    assert outcomes == ["sent:sms", "waited", "sent:sms", "goal"]  # the wait for the last call ends as goal
