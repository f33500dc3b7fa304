"""A ``guanxi worker`` SIGKILLed halfway through a 2,000-message campaign, and a new one taking over.

The campaign engine builds one webhook wave to 2,000 generated customers (the
webhook channel needs no consent); a real worker process delivers it to a real
webhook receiver and is killed (SIGKILL: no release, no last commit) once the
receiver has about half. A second worker, on the same short lease, takes over
the orphaned claims when they expire. The receiver, de-duplicating on the
``Idempotency-Key`` header as docs/outbox.md tells receivers to, then holds
exactly 2,000 distinct messages; the raw duplicates (sends whose outcome the
killed worker had not committed) are at most one claimed batch.

Runs on SQLite, and on PostgreSQL with GUANXI_TEST_POSTGRES.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ibis.backends import BaseBackend
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from guanxi.config import Settings
from guanxi.jobs.kinds import JobContext
from guanxi.jobs.registry import job_kinds
from guanxi.jobs.runner import run_pending
from guanxi.jobs.writer import WriterLock
from guanxi.marketing.campaigns import service
from guanxi.marketing.campaigns.jobs import queue_due_waves
from guanxi.marketing.channels.webhook import WebhookSettings
from guanxi.marketing.outbox import OUTCOME_SENT, Delivery, OutboxMessage
from guanxi.tables import CUSTOMERS
from tests.marketing.campaigns.conftest import WEBHOOK_SECRET
from tests.marketing.processes import WorkerProcess, wait_for, worker_env
from tests.marketing.receiver import WebhookReceiver
from tests.segments.scenario import insert

pytestmark = pytest.mark.slow

CUSTOMER_COUNT = 2000
BATCH = 20
LEASE_SECONDS = 2
UNFINISHED = ("pending", "sending", "failed")


@pytest.fixture
def crash_settings(campaign_settings: Settings) -> Settings:
    return campaign_settings.model_copy(
        update={
            "outbox_lease_seconds": LEASE_SECONDS,
            "marketing_quiet_start": "00:00",  # no quiet hours: the workers run on the real clock
            "marketing_quiet_end": "00:00",
        }
    )


@pytest.fixture
def writer(crash_settings: Settings, warehouse: BaseBackend) -> Iterator[None]:
    """This test is the warehouse's writer (as `guanxi serve` is), so the workers only deliver."""
    lock = WriterLock(crash_settings, role="test", takes_jobs=True)
    assert lock.acquire()
    yield
    lock.release()


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()


def build_campaign(settings: Settings, warehouse: BaseBackend, sessions: sessionmaker[Session]) -> int:
    """2,000 customers and one webhook wave to all of them, built by the wave job; returns how many queued."""
    insert(
        warehouse, CUSTOMERS, [{"customer_id": n, "name": f"客户{n}"} for n in range(1, CUSTOMER_COUNT + 1)]
    )
    definition = {
        "name": "双11 开场",
        "purpose": "notice",
        "audience": {"customers": [str(n) for n in range(1, CUSTOMER_COUNT + 1)]},
        "channels": ["webhook"],
        "control": 0,  # no holdout: these tests count every send (holdouts: test_holdout.py)
        "content": {"webhook": {"subject": "双11", "body": "{{ name }}，双11 好礼等你"}},
        "schedule": {"mode": "now"},
    }
    now = datetime.now(UTC)
    with sessions() as session, session.begin():
        service.create_campaign(session, "d11", definition, actor="mk", now=now)
        service.launch(session, "d11", actor="mk", now=now)
    queue_due_waves(JobContext(settings=settings, warehouse=warehouse, sessions=sessions, now=now))
    ran = run_pending(
        settings=settings,
        sessions=sessions,
        warehouse=warehouse,
        worker_id="test-runner",
        kinds=job_kinds(),
        writer=True,
    )
    assert ran == 1
    with sessions() as session:
        return int(service.status(session, "d11").waves[0].counts["queued"])


def unfinished(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state.in_(UNFINISHED))
            )
            or 0
        )


def test_a_killed_worker_leaves_every_message_delivered_once_after_deduplication(
    crash_settings: Settings,
    warehouse: BaseBackend,
    sessions: sessionmaker[Session],
    webhook_sink: WebhookReceiver,
    writer: None,
    workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    # given a 2,000-message webhook campaign in the outbox
    assert build_campaign(crash_settings, warehouse, sessions) == CUSTOMER_COUNT
    env = worker_env(
        crash_settings,
        WebhookSettings(url=webhook_sink.url, secret=SecretStr(WEBHOOK_SECRET)),
        GUANXI_WAREHOUSE_URL=crash_settings.warehouse_url,
        GUANXI_MARKETING_QUIET_START="00:00",
        GUANXI_MARKETING_QUIET_END="00:00",
        GUANXI_WEBHOOK_TIMEOUT_SECONDS="0.5",  # a send must fit well inside half the 2 s lease
    )

    # when its worker is SIGKILLed once the receiver has about half
    workers.append(WorkerProcess("victim", env, tmp_path, "--batch", str(BATCH)))
    wait_for(
        lambda: len(webhook_sink.received) >= CUSTOMER_COUNT // 2, 60, "half the messages", interval=0.005
    )
    workers[0].kill()
    at_kill = len(webhook_sink.received)
    assert at_kill < CUSTOMER_COUNT, "the victim finished before it was killed"

    # and a new worker takes over once the victim's leases expire
    workers.append(WorkerProcess("heir", env, tmp_path, "--batch", str(BATCH)))
    wait_for(lambda: unfinished(sessions) == 0, 60, "the outbox to drain")
    assert workers[1].stop() == 0

    # then the receiver, de-duplicating on the key, holds every message exactly once
    seen = Counter(webhook_sink.keys())
    duplicates = sum(seen.values()) - len(seen)
    print(f"\ncrash test: killed at {at_kill} received; {len(seen)} distinct, {duplicates} duplicate(s)")
    assert len(seen) == CUSTOMER_COUNT
    assert all(key.startswith("campaign:d11:w0:") for key in seen)
    assert all(item.signature_ok and item.header_key == item.body_key for item in webhook_sink.received)
    assert duplicates <= BATCH
    with sessions() as session:
        states = Counter(session.scalars(select(OutboxMessage.state)))
        sent_records = Counter(
            session.scalars(select(Delivery.worker_id).where(Delivery.outcome == OUTCOME_SENT))
        )
    assert states == {"sent": CUSTOMER_COUNT}
    assert sum(sent_records.values()) == CUSTOMER_COUNT  # one delivery record per committed attempt
    assert set(sent_records) == {"victim", "heir"}
