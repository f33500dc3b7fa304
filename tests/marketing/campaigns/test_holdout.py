"""The control group of a campaign: the same people in every wave and run, recorded, never messaged."""

from __future__ import annotations

from sqlalchemy import select

from guanxi.marketing.campaigns import service
from guanxi.marketing.campaigns.definition import CampaignDefinition
from guanxi.marketing.campaigns.tables import CampaignRecipient
from guanxi.marketing.measurement.holdout import campaign_scope, held_out
from tests.marketing.campaigns.conftest import Loop

ELIGIBLE = [str(i) for i in range(1, 10) if i != 8]  # 8 is do-not-disturb in the shop


def two_waves(control: float | None) -> dict[str, object]:
    definition: dict[str, object] = {
        "name": "双11 预热",
        "audience": {"customers": [str(i) for i in range(1, 10)]},
        "channels": ["webhook"],
        "content": {"webhook": {"subject": "双11", "body": "{{ name | default('亲') }}，双11 来了"}},
        "schedule": {
            "mode": "waves",
            "waves": [{"name": "第一波", "offset_minutes": 0}, {"name": "第二波", "offset_minutes": 60}],
        },
        "quiet_hours": {"start": "00:00", "end": "00:00"},
    }
    if control is not None:
        definition["control"] = control
    return definition


def recipients(loop: Loop) -> list[CampaignRecipient]:
    with loop.sessions() as session:
        return list(session.scalars(select(CampaignRecipient).order_by(CampaignRecipient.id)))


def test_the_control_group_is_the_hash_draw_in_every_wave_and_is_never_messaged(
    loop: Loop, webhook_sink
) -> None:
    expected = {c for c in ELIGIBLE if held_out(campaign_scope("d11"), c, 0.5)}
    assert 0 < len(expected) < len(ELIGIBLE)  # the draw splits this audience: the test can tell them apart
    with loop.sessions() as session, session.begin():
        service.create_campaign(session, "d11", two_waves(0.5), actor="mk", now=loop.clock())
        service.launch(session, "d11", actor="mk", now=loop.clock())
    loop.step()
    first_send = loop.clock()
    loop.clock.advance(minutes=60)
    loop.step()
    rows = recipients(loop)
    by_wave = {
        wave: {r.customer_id for r in rows if r.wave_index == wave and r.outcome == "control"}
        for wave in (0, 1)
    }
    assert by_wave == {0: expected, 1: expected}
    sent_to = {r.body["payload"]["customer_id"] for r in webhook_sink.received}
    assert sent_to == set(ELIGIBLE) - expected
    assert len(webhook_sink.received) == 2 * len(sent_to)  # both waves reached the target group
    controls = [r for r in rows if r.outcome == "control"]
    assert all(r.message_id is None for r in controls)
    # the would-be send time is kept for attribution: the wave's own time
    assert {r.not_before.replace(tzinfo=None) for r in controls if r.wave_index == 0} == {
        first_send.replace(tzinfo=None)
    }
    with loop.sessions() as session:
        waves = service.status(session, "d11").waves
        assert [w.counts["outcome_control"] for w in waves] == [len(expected)] * 2
        assert [w.counts["target"] for w in waves] == [len(ELIGIBLE) - len(expected)] * 2


def test_ten_percent_by_default_and_none_for_transactional_messages() -> None:
    base = two_waves(None)
    assert CampaignDefinition.model_validate(base).control_share == 0.10
    assert CampaignDefinition.model_validate({**base, "transactional": True}).control_share == 0.0
    assert (
        CampaignDefinition.model_validate({**base, "transactional": True, "control": 0.2}).control_share
        == 0.2
    )
    assert CampaignDefinition.model_validate({**base, "control": 0}).control_share == 0.0
