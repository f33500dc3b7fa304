"""A broadcast in three waves on a controlled clock, to a real SMTP server and a real SMS server.

The shop (see conftest): e-mail consent granted for 1, 3, 5, 7, 9 and SMS
consent for 2, 4, 6, 8; then 3 unsubscribes, 5's address is suppressed and 7
already had two marketing messages this week (the cap is 2 per 7 days).
Channels in preference order: SMS, then e-mail.

    wave 0 "预热"   10:00  [1, 2, 3, 5]     → 1 e-mail, 2 SMS; 3 no consent, 5 suppressed
    (2 replies 退订 by SMS; 1 clicks one-click unsubscribe in its mail)
    wave 1 "倒计时" 11:00  [1, 2, 4, 7, 8]  → 4 SMS; 1, 2 no consent, 7 capped, 8 do-not-disturb
    wave 2 "开场"   21:30  [6, 9]           → quiet hours: nothing at 21:30, 6 SMS and 9 e-mail at 08:00
"""

from __future__ import annotations

import json
from datetime import timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlalchemy import select

from guanxi.marketing import consent, feedback, frequency, outbox, subscriptions, suppression
from guanxi.marketing.campaigns import service
from guanxi.marketing.campaigns.tables import CampaignRecipient
from guanxi.marketing.sms_rules import InboundSms
from tests.marketing.campaigns.conftest import Clock, Loop

SHANGHAI = ZoneInfo("Asia/Shanghai")


def grant_everyone(loop: Loop) -> None:
    with loop.sessions() as session, session.begin():
        for number in (1, 3, 5, 7, 9):
            consent.record_consent(
                session,
                medium="email",
                address=f"c{number}@shop.cn",
                state="granted",
                source="import",
                at=loop.clock() - timedelta(days=30),
                now=loop.clock(),
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
                at=loop.clock() - timedelta(days=30),
                now=loop.clock(),
                actor="test",
                customer_id=str(number),
            )
        consent.record_consent(
            session,
            medium="email",
            address="c3@shop.cn",
            state="revoked",
            source="unsubscribe",
            at=loop.clock() - timedelta(days=1),
            now=loop.clock(),
            actor="test",
        )
        suppression.suppress(
            session, medium="email", address="c5@shop.cn", reason="complaint", actor="test", now=loop.clock()
        )
        frequency.log_contacts(
            session,
            [
                {
                    "customer_id": "7",
                    "at": loop.clock() - timedelta(days=d),
                    "channel": "email",
                    "transactional": False,
                    "campaign_id": None,
                    "message_id": None,
                }
                for d in (1, 3)
            ],
        )


def three_waves() -> dict[str, object]:
    def wave(name: str, ids: list[int], **time: object) -> dict[str, object]:
        return {
            "name": name,
            **time,
            "audience": {"customers": [str(i) for i in ids]},
            "content": {
                "sms": {"body": f"【小店】{name}：{{{{ name | default('亲') }}}}，双11 好礼等你"},
                "email": {
                    "subject": f"{name}｜{{{{ name | default('亲') }}}}",
                    "body": "双11 来了",
                    "html": "<p>双11</p>",
                },
            },
        }

    return {
        "name": "双11 预热",
        "purpose": "warmup",
        "audience": {"customers": ["1"]},
        "channels": ["sms", "email"],
        "control": 0,  # no holdout: these tests count every send (holdouts: test_holdout.py)
        "content": {"sms": {"body": "x"}, "email": {"subject": "x", "body": "x"}},
        "schedule": {
            "mode": "waves",
            "waves": [
                wave("预热", [1, 2, 3, 5], offset_minutes=0),
                wave("倒计时", [1, 2, 4, 7, 8], offset_minutes=60),
                wave("开场", [6, 9], at="2026-11-01T21:30:00+08:00"),
            ],
        },
    }


def sms_phones(loop: Loop, server: object) -> list[str]:
    return [json.loads(r.body)["phone"] for r in server.received]  # type: ignore[attr-defined]


def mails(smtp: object) -> list[EmailMessage]:
    return [message for _, _, message in smtp[0].messages]  # type: ignore[index]


def test_three_waves_reach_the_right_people_at_the_right_time(loop: Loop, mailbox, sms_server) -> None:
    grant_everyone(loop)
    clock: Clock = loop.clock
    with loop.sessions() as session, session.begin():
        service.create_campaign(session, "d11", three_waves(), actor="mk", now=clock())
        service.launch(session, "d11", actor="mk", now=clock())

    # wave 0 at 10:00
    loop.step()
    assert sms_phones(loop, sms_server) == ["+8613800000002"]
    assert [m["To"] for m in mails(mailbox)] == ["c1@shop.cn"]
    first_mail = mails(mailbox)[0]
    assert first_mail["Subject"] == "预热｜客户1"
    assert json.loads(sms_server.received[0].body)["text"].endswith("回T退订")
    with loop.sessions() as session:
        outcomes = {
            r.customer_id: r.outcome
            for r in service.recipients_of(session, service.get_campaign(session, "d11"), wave_index=0)
        }
    assert outcomes == {"1": "queued", "2": "queued", "3": "no_consent", "5": "suppressed"}

    # between the waves: 2 replies 退订, 1 clicks the one-click unsubscribe of its mail
    link = first_mail["List-Unsubscribe"].strip("<>").split(">")[0]
    assert first_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with loop.sessions() as session, session.begin():
        report = feedback.apply_sms_replies(
            session,
            [InboundSms("+8613800000002", "退订", clock() + timedelta(minutes=5))],
            now=clock(),
            source="test",
        )
        assert report.opted_out == 1
        subscriptions.unsubscribe(
            session,
            loop.settings,
            link.rsplit("/", 1)[1],
            now=clock(),
            proof={"ip": "203.0.113.9"},
            one_click=True,
        )

    # wave 1 at 11:00
    clock.advance(hours=1)
    loop.step()
    assert sms_phones(loop, sms_server) == ["+8613800000002", "+8613800000004"]
    assert len(mails(mailbox)) == 1
    with loop.sessions() as session:
        campaign = service.get_campaign(session, "d11")
        outcomes = {r.customer_id: r.outcome for r in service.recipients_of(session, campaign, wave_index=1)}
        counts = service.status(session, "d11").waves[1].counts
    assert outcomes == {
        "1": "no_consent",
        "2": "no_consent",
        "4": "queued",
        "7": "capped",
        "8": "do_not_disturb",
    }
    assert (
        counts["audience"],
        counts["reachable"],
        counts["consented"],
        counts["not_do_not_disturb"],
        counts["under_cap"],
    ) == (5, 5, 3, 2, 1)

    # wave 2 at 21:30: quiet hours until 08:00
    clock.at_local("2026-11-01T21:30")
    loop.step()
    assert len(sms_server.received) == 2
    assert len(mails(mailbox)) == 1
    clock.at_local("2026-11-02T07:59")
    loop.deliver()
    assert len(sms_server.received) == 2
    clock.at_local("2026-11-02T08:00")
    loop.deliver()
    assert sms_phones(loop, sms_server)[-1] == "+8613800000006"
    assert [m["To"] for m in mails(mailbox)] == ["c1@shop.cn", "c9@shop.cn"]
    assert mails(mailbox)[1]["Subject"] == "开场｜客户9"
    with loop.sessions() as session:
        sent_at = session.scalars(
            select(outbox.OutboxMessage.sent_at).where(outbox.OutboxMessage.recipient == "c9@shop.cn")
        ).one()
        assert sent_at.astimezone(SHANGHAI).hour == 8
        loop.waves()
        assert service.get_campaign(session, "d11").status == "completed"


def test_a_reply_after_the_build_stops_a_message_still_in_the_queue(loop: Loop, sms_server) -> None:
    grant_everyone(loop)
    clock = loop.clock
    clock.at_local("2026-11-01T20:50")
    definition = three_waves()
    definition["schedule"] = {"mode": "now"}
    definition["audience"] = {"customers": ["4", "6"]}
    definition["channels"] = ["sms"]
    definition["content"] = {"sms": {"body": "今晚 0 点开抢"}}
    definition["quiet_hours"] = {"start": "20:55", "end": "08:00"}
    with loop.sessions() as session, session.begin():
        service.create_campaign(session, "late", definition, actor="mk", now=clock())
        service.launch(session, "late", actor="mk", now=clock())
    loop.waves()
    clock.advance(minutes=1)
    with loop.sessions() as session, session.begin():
        feedback.apply_sms_replies(
            session, [InboundSms("+8613800000004", " TD ", clock())], now=clock(), source="test"
        )
    clock.at_local("2026-11-02T08:00")
    loop.deliver()
    assert sms_phones(loop, sms_server) == ["+8613800000006"]
    with loop.sessions() as session:
        states = dict(
            session.execute(select(outbox.OutboxMessage.recipient, outbox.OutboxMessage.state)).all()
        )
    assert states == {"+8613800000004": "suppressed", "+8613800000006": "sent"}


def test_a_transactional_message_passes_the_cap_but_not_a_suppression(loop: Loop, mailbox) -> None:
    grant_everyone(loop)
    clock = loop.clock
    definition = {
        "name": "催付",
        "purpose": "payment_reminder",
        "transactional": True,
        "audience": {"customers": ["3", "5", "7"]},
        "channels": ["email"],
        "control": 0,  # no holdout: these tests count every send (holdouts: test_holdout.py)
        "content": {
            "email": {
                "subject": "您有一笔订单待付款",
                "body": "{{ name | default('亲') }}，订单 30 分钟后关闭",
            }
        },
    }
    clock.at_local("2026-11-01T23:00")  # quiet hours do not hold transactional messages either
    with loop.sessions() as session, session.begin():
        service.create_campaign(session, "pay", definition, actor="mk", now=clock())
        service.launch(session, "pay", actor="mk", now=clock())
    loop.step()
    assert sorted(m["To"] for m in mails(mailbox)) == ["c3@shop.cn", "c7@shop.cn"]
    assert "List-Unsubscribe" not in mails(mailbox)[0]
    with loop.sessions() as session:
        outcomes = {r.customer_id: r.outcome for r in session.scalars(select(CampaignRecipient))}
    assert outcomes == {"3": "queued", "5": "suppressed", "7": "queued"}
