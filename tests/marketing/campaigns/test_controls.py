"""Batches partition the audience; pause holds, resume releases, cancel withdraws."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from guanxi.marketing import frequency, outbox
from guanxi.marketing.campaigns import service
from guanxi.marketing.campaigns.service import CampaignStateError
from guanxi.marketing.campaigns.tables import CampaignRecipient
from tests.marketing.campaigns.conftest import Loop


def webhook_campaign(mode: dict[str, object]) -> dict[str, object]:
    return {
        "name": "会员日",
        "audience": {"customers": [str(i) for i in range(1, 10)]},
        "channels": ["webhook"],
        "control": 0,  # no holdout: these tests count every send (holdouts: test_holdout.py)
        "content": {"webhook": {"subject": "会员日", "body": "{{ name | default('亲') }}，会员日快乐"}},
        "schedule": mode,
        "quiet_hours": {"start": "00:00", "end": "00:00"},
    }


def states(loop: Loop) -> dict[str, int]:
    with loop.sessions() as session:
        return {
            str(s): int(n)
            for s, n in session.execute(
                select(outbox.OutboxMessage.state, func.count()).group_by(outbox.OutboxMessage.state)
            )
        }


def test_batches_send_everyone_once_in_waves_of_the_batch_size(loop: Loop, webhook_sink) -> None:
    with loop.sessions() as session, session.begin():
        service.create_campaign(
            session,
            "day",
            webhook_campaign({"mode": "batches", "batch_size": 4, "interval_minutes": 30}),
            actor="mk",
            now=loop.clock(),
        )
        service.launch(session, "day", actor="mk", now=loop.clock())
    sizes = []
    for _ in range(4):
        loop.step()
        with loop.sessions() as session:
            sizes.append(session.scalar(select(func.count()).select_from(CampaignRecipient)))
        loop.clock.advance(minutes=30)
    assert sizes == [4, 8, 9, 9]
    keys = [r.header_key for r in webhook_sink.received]
    assert len(keys) == len(set(keys)) == 8  # 8 is do-not-disturb
    assert sorted(r.body["payload"]["customer_id"] for r in webhook_sink.received) == [
        str(i) for i in range(1, 10) if i != 8
    ]
    with loop.sessions() as session:
        waves = service.status(session, "day").waves
        assert [w.counts["audience"] for w in waves] == [4, 4, 1]
        assert sum(w.counts["queued"] for w in waves) == 8
        loop.waves()
        assert service.get_campaign(session, "day").status == "completed"


def test_pause_holds_the_queue_resume_releases_it_and_cancel_withdraws_it(loop: Loop, webhook_sink) -> None:
    with loop.sessions() as session, session.begin():
        service.create_campaign(session, "p", webhook_campaign({"mode": "now"}), actor="mk", now=loop.clock())
        service.launch(session, "p", actor="mk", now=loop.clock())
    loop.waves()
    with loop.sessions() as session, session.begin():
        assert service.pause(session, "p", actor="mk", now=loop.clock()) == 8
    loop.deliver()
    assert webhook_sink.received == []
    assert states(loop) == {"held": 8}
    with loop.sessions() as session, session.begin():
        with pytest.raises(CampaignStateError):
            service.launch(session, "p", actor="mk", now=loop.clock())
        assert service.resume(session, "p", actor="mk", now=loop.clock()) == 8
    loop.deliver()
    assert len(webhook_sink.received) == 8
    assert states(loop) == {"sent": 8}
    with loop.sessions() as session, session.begin():
        assert service.cancel(session, "p", actor="mk", now=loop.clock()) == 0
        with pytest.raises(CampaignStateError):
            service.resume(session, "p", actor="mk", now=loop.clock())


def test_a_cancelled_campaign_sends_nothing_more_and_its_messages_do_not_count_for_caps(
    loop: Loop, webhook_sink
) -> None:
    with loop.sessions() as session, session.begin():
        service.create_campaign(session, "c", webhook_campaign({"mode": "now"}), actor="mk", now=loop.clock())
        service.launch(session, "c", actor="mk", now=loop.clock())
    loop.waves()
    with loop.sessions() as session, session.begin():
        assert service.cancel(session, "c", actor="mk", now=loop.clock()) == 8
    loop.deliver()
    assert webhook_sink.received == []
    assert states(loop) == {"cancelled": 8}
    with loop.sessions() as session:
        assert frequency.counts_in_window(session, until=loop.clock() + timedelta(hours=1), days=7) == []
