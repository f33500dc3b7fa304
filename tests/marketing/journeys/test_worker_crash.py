"""A real ``guanxi worker`` running journeys, SIGKILLed mid-journey, and a new one taking over.

600 customers each send a ``signed_up`` event just after a two-step webhook journey is activated. The worker owns
the warehouse, so its ``journeys`` service enters them and runs their steps in batches of 20 while its delivery
loop posts the messages to a real webhook receiver. It is killed (SIGKILL: no release, no last commit) once about
a third of the steps are done; a second worker takes over the orphaned claims when their 2-second leases expire.
In the end every customer took each step once: one enrollment, one run per step, one message per step, every
message delivered (the receiver de-duplicating on ``Idempotency-Key`` as docs/outbox.md tells receivers to).

Runs on SQLite, and on PostgreSQL with GUANXI_TEST_POSTGRES.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from guanxi.config import Settings
from guanxi.marketing.channels.webhook import WebhookSettings
from guanxi.marketing.journey_steps import JourneyStepRun
from guanxi.marketing.journeys import service
from guanxi.marketing.journeys import tables as t
from guanxi.marketing.journeys.runtime import catalogue
from guanxi.marketing.outbox import OutboxMessage
from guanxi.tables import CUSTOMERS, IDENTITY_MAP, RAW_EVENTS
from guanxi.warehouse import connect
from tests.marketing.campaigns.conftest import WEBHOOK_SECRET
from tests.marketing.processes import WorkerProcess, wait_for, worker_env
from tests.marketing.receiver import WebhookReceiver
from tests.segments.scenario import insert

pytestmark = pytest.mark.slow

COUNT = 600
JOURNEY = """
name: 注册欢迎 webhook
trigger: {kind: event, params: {event: signed_up}}
reentry: {mode: once}
steps:
  - {name: hello, kind: webhook, event: welcome_hello}
  - {name: coupon, kind: webhook, event: welcome_coupon}
"""


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()


def done_steps(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(JourneyStepRun).where(JourneyStepRun.state == "done")
            )
            or 0
        )


def settled(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        completed = session.scalar(
            select(func.count())
            .select_from(t.JourneyEnrollment)
            .where(t.JourneyEnrollment.state == t.COMPLETED)
        )
        unsent = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state != "sent")
        )
    return completed == COUNT and unsent == 0


def test_a_killed_journeys_worker_leaves_each_step_taken_once(
    campaign_settings: Settings,
    sessions: sessionmaker[Session],
    webhook_sink: WebhookReceiver,
    workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    # given a journey activated now and 600 sign-ups a moment later, in a warehouse nobody holds open
    now = datetime.now(UTC)
    with sessions() as session, session.begin():
        service.save_journey(session, "welcome", JOURNEY, actor="test", now=now, catalogue=catalogue())
        service.activate(session, "welcome", actor="test", now=now)
    moment = (now + timedelta(seconds=1)).astimezone(campaign_settings.zone).replace(tzinfo=None)
    con = connect(campaign_settings)
    insert(con, CUSTOMERS, [{"customer_id": n, "name": f"客户{n}"} for n in range(1, COUNT + 1)])
    insert(
        con,
        IDENTITY_MAP,
        [{"source": "app", "source_customer_id": f"u{n}", "customer_id": n} for n in range(1, COUNT + 1)],
    )
    insert(con, RAW_EVENTS, [
        {"source": "app", "event_id": f"e{n}", "source_customer_id": f"u{n}", "event": "signed_up",
         "occurred_at": moment}
        for n in range(1, COUNT + 1)
    ])  # fmt: skip
    con.disconnect()
    env = worker_env(
        campaign_settings,
        WebhookSettings(url=webhook_sink.url, secret=SecretStr(WEBHOOK_SECRET)),
        GUANXI_WAREHOUSE_URL=campaign_settings.warehouse_url,
        GUANXI_OUTBOX_LEASE_SECONDS="2",
        GUANXI_JOURNEYS_SECONDS="0.2",
        GUANXI_JOURNEYS_BATCH="20",
        GUANXI_WEBHOOK_TIMEOUT_SECONDS="0.5",
    )

    # when the worker is SIGKILLed once about a third of the 1,200 steps are done
    workers.append(WorkerProcess("victim", env, tmp_path))
    wait_for(lambda: done_steps(sessions) >= 400, 120, "a third of the steps", interval=0.01)
    workers[0].kill()
    at_kill = done_steps(sessions)
    assert at_kill < 2 * COUNT, "the victim finished before it was killed"

    # and a new worker takes over
    workers.append(WorkerProcess("heir", env, tmp_path))
    wait_for(lambda: settled(sessions), 120, "every customer to complete the journey and every message to go")
    assert workers[1].stop() == 0

    # then every customer took each step once
    with sessions() as session:
        enrollments = Counter(session.scalars(select(t.JourneyEnrollment.customer_id)))
        runs = Counter((r.enrollment_id, r.step_name) for r in session.scalars(select(JourneyStepRun)))
        messages = list(session.scalars(select(OutboxMessage)))
    print(f"\njourney crash test: killed at {at_kill} of {2 * COUNT} steps done")
    assert len(enrollments) == COUNT
    assert set(enrollments.values()) == {1}
    assert len(runs) == 2 * COUNT
    assert set(runs.values()) == {1}
    assert len(messages) == 2 * COUNT
    assert Counter(m.payload["event"] for m in messages) == {"welcome_hello": COUNT, "welcome_coupon": COUNT}
    seen = set(webhook_sink.keys())
    assert seen == {m.idempotency_key for m in messages}
