"""The built-in channels and step kinds exist only because guanxi.marketing.plugin registers them."""

from __future__ import annotations

from datetime import datetime

import pluggy
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from guanxi.appdb.database import session_factory
from guanxi.config import Settings
from guanxi.marketing import outbox
from guanxi.marketing.channels import ChannelSet, registered_channels
from guanxi.marketing.errors import ChannelUnknownError, StepKindUnknownError
from guanxi.marketing.journey_steps import JourneyStepRun, StepSpec, registered_step_kinds, schedule_step
from guanxi.marketing.outbox import OutboxMessage
from guanxi.marketing.worker import run_worker
from guanxi.plugins import DEFAULT_PLUGINS, build_plugin_manager
from tests.marketing.test_journey_steps import BUILT_IN_STEPS

MARKETING = "guanxi.marketing.plugin"


@pytest.fixture
def without_marketing() -> pluggy.PluginManager:
    """A manager with every built-in plugin except the marketing one, and no installed plugins."""
    return build_plugin_manager(defaults=[d for d in DEFAULT_PLUGINS if d != MARKETING], entry_points=False)


def test_with_the_marketing_plugin_the_built_ins_are_there() -> None:
    pm = build_plugin_manager(defaults=[MARKETING], entry_points=False)
    assert list(registered_channels(pm)) == ["email", "sms", "aliyun_sms", "wechat", "webhook", "task"]
    assert list(registered_step_kinds(pm)) == [*BUILT_IN_STEPS]


def test_without_the_marketing_plugin_email_webhook_and_send_are_unknown(
    without_marketing: pluggy.PluginManager,
) -> None:
    assert registered_channels(without_marketing) == {}
    assert registered_step_kinds(without_marketing) == {}
    channels = ChannelSet(pm=without_marketing)
    for name in ("email", "webhook"):
        with pytest.raises(ChannelUnknownError, match=rf"'{name}' \(known: none\)"):
            channels.get(name)


def test_a_worker_without_the_marketing_plugin_can_neither_send_nor_run_a_send_step(
    app_settings: Settings, app_engine: Engine, now: datetime, without_marketing: pluggy.PluginManager
) -> None:
    with session_factory(app_engine)() as session:
        outbox.enqueue(session, channel="webhook", recipient="c1", idempotency_key="m1", now=now)
        step = StepSpec(0, "thank", "send", {"channel": "email", "to": "a@example.com", "body": "谢谢"})
        schedule_step(session, journey_key="care", customer_id="c1", step=step, due_at=now, now=now)
        session.commit()

    stats = run_worker(app_settings, "w", once=True, clock=lambda: now, pm=without_marketing)

    assert (stats.dead, stats.sent, stats.steps_done) == (2, 0, 0)
    with Session(app_engine) as session:
        message = session.scalars(select(OutboxMessage)).one()
        run = session.scalars(select(JourneyStepRun)).one()
    assert (message.state, run.state) == ("dead", "dead")
    assert message.last_error is not None
    assert "no channel named 'webhook'" in message.last_error
    assert run.last_error is not None
    assert run.last_error.startswith(StepKindUnknownError.code)
    assert "'send'" in run.last_error
