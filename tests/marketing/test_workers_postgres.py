"""Three ``guanxi worker`` processes on one PostgreSQL app database share the work without doing any twice.

Needs GUANXI_TEST_POSTGRES (run with ``-m postgres``); each test has its own schema.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from guanxi.appdb.database import session_factory
from guanxi.config import Settings
from guanxi.marketing import outbox
from guanxi.marketing.channels.webhook import WebhookSettings
from guanxi.marketing.journey_steps import JourneyStepRun, StepSpec, schedule_step
from guanxi.marketing.outbox import Delivery, OutboxMessage
from tests.appdb_fixtures import postgres_url
from tests.marketing.processes import WorkerProcess, wait_for, worker_env
from tests.marketing.receiver import WebhookReceiver

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    if postgres_url() is None:
        pytest.skip("GUANXI_TEST_POSTGRES is not set")


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()


def count(engine: Engine, model: type[OutboxMessage] | type[JourneyStepRun], state: str) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(model.state == state)) or 0)


def start(
    workers: list[WorkerProcess], names: list[str], env: dict[str, str], folder: Path, *args: str
) -> None:
    for name in names:
        workers.append(WorkerProcess(name, env, folder, *args))
    wait_for(lambda: all(w.started() for w in workers if w.name in names), 90, f"workers {names} to start")


def test_three_workers_send_300_messages_each_exactly_once(
    delivery_settings: Settings,
    webhook_settings: WebhookSettings,
    app_engine: Engine,
    receiver: WebhookReceiver,
    tmp_path: Path,
    workers: list[WorkerProcess],
) -> None:
    env = worker_env(delivery_settings, webhook_settings, GUANXI_OUTBOX_LEASE_SECONDS="60")
    start(workers, ["w1", "w2", "w3"], env, tmp_path, "--batch", "10")
    now = datetime.now(UTC)
    with session_factory(app_engine)() as session:
        for n in range(300):
            outbox.enqueue(
                session,
                channel="webhook",
                recipient=f"c{n}",
                body="您好",
                idempotency_key=f"m{n:03d}",
                now=now,
            )
        session.commit()

    wait_for(lambda: count(app_engine, OutboxMessage, "sent") == 300, 120, "300 messages to be sent")
    assert [worker.stop() for worker in workers] == [0, 0, 0]

    seen = Counter(receiver.keys())
    assert seen == Counter({f"m{n:03d}": 1 for n in range(300)})
    assert all(item.signature_ok and item.header_key == item.body_key for item in receiver.received)
    with Session(app_engine) as session:
        per_worker = Counter(session.scalars(select(Delivery.worker_id)))
        assert sum(per_worker.values()) == 300
        assert len(per_worker) > 1, per_worker
        assert set(per_worker) <= {"w1", "w2", "w3"}
        assert set(session.scalars(select(OutboxMessage.attempts))) == {1}


def test_a_killed_workers_leases_expire_and_the_others_deliver_its_messages(
    delivery_settings: Settings,
    webhook_settings: WebhookSettings,
    app_engine: Engine,
    receiver: WebhookReceiver,
    tmp_path: Path,
    workers: list[WorkerProcess],
) -> None:
    env = worker_env(delivery_settings, webhook_settings, GUANXI_OUTBOX_LEASE_SECONDS="3")
    receiver.gate.clear()  # the victim's first request is held until it is dead
    # one send at a time, so exactly one request is in flight when the victim dies
    start(workers, ["victim"], {**env, "GUANXI_WORKER_SEND_CONCURRENCY": "1"}, tmp_path, "--batch", "5")
    now = datetime.now(UTC)
    with session_factory(app_engine)() as session:
        for n in range(40):
            outbox.enqueue(
                session, channel="webhook", recipient=f"c{n}", idempotency_key=f"m{n:02d}", now=now
            )
        session.commit()
    assert receiver.arrived.wait(60), "the victim never sent"
    [victim] = workers
    victim.kill()  # SIGKILL: no chance to release anything
    with Session(app_engine) as session:
        leased = set(
            session.scalars(
                select(OutboxMessage.idempotency_key).where(OutboxMessage.lease_owner == "victim")
            )
        )
    in_flight = receiver.keys()
    assert len(leased) == 5
    assert len(in_flight) == 1
    assert in_flight[0] in leased
    receiver.gate.set()

    start(workers, ["w1", "w2"], env, tmp_path, "--batch", "5")
    wait_for(lambda: count(app_engine, OutboxMessage, "sent") == 40, 120, "40 messages to be sent")
    assert [worker.stop() for worker in workers[1:]] == [0, 0]

    seen = Counter(receiver.keys())
    assert set(seen) == {f"m{n:02d}" for n in range(40)}
    assert max(seen.values()) <= 2
    assert {key for key, times in seen.items() if times == 2} == set(in_flight)
    duplicates = [item for item in receiver.received if item.body_key == in_flight[0]]
    assert [item.header_key for item in duplicates] == [in_flight[0], in_flight[0]]
    with Session(app_engine) as session:
        for message in session.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.in_(leased))
        ):
            assert message.attempts == 2  # the victim's claim, then the claim after its lease expired
            [delivery] = session.scalars(select(Delivery).where(Delivery.message_id == message.id))
            assert delivery.worker_id in {"w1", "w2"}


def journey(customer: str) -> StepSpec:
    contact = {"openid": f"o-{customer}", "name": "王芳"}
    send_review = {
        "channel": "webhook",
        "to": "{{ contact.openid }}",
        "body": "{{ contact.name }}，请评价",
        "contact": contact,
        "next": {"index": 3, "name": "end", "kind": "exit"},
    }
    wait = {
        "delay_seconds": 0,
        "next": {"index": 2, "name": "review", "kind": "send", "payload": send_review},
    }
    thank = {
        "channel": "webhook",
        "to": "{{ contact.openid }}",
        "body": "{{ contact.name }}，谢谢",
        "contact": contact,
        "next": {"index": 1, "name": "pause", "kind": "wait", "payload": wait},
    }
    return StepSpec(0, "thank", "send", thank)


def test_three_workers_run_every_journey_step_once(
    delivery_settings: Settings,
    webhook_settings: WebhookSettings,
    app_engine: Engine,
    receiver: WebhookReceiver,
    tmp_path: Path,
    workers: list[WorkerProcess],
) -> None:
    env = worker_env(delivery_settings, webhook_settings, GUANXI_OUTBOX_LEASE_SECONDS="60")
    start(workers, ["w1", "w2", "w3"], env, tmp_path, "--batch", "5")
    now = datetime.now(UTC)
    customers = [f"c{n:02d}" for n in range(60)]
    with session_factory(app_engine)() as session:
        for customer in customers:
            schedule_step(
                session, journey_key="care", customer_id=customer, step=journey(customer), due_at=now, now=now
            )
        session.commit()

    wait_for(
        lambda: (
            count(app_engine, JourneyStepRun, "done") == 240
            and count(app_engine, OutboxMessage, "sent") == 120
        ),
        120,
        "240 steps done and 120 messages sent",
    )
    assert [worker.stop() for worker in workers] == [0, 0, 0]

    expected = {f"journey:care:{c}:{step}" for c in customers for step in (0, 2)}
    assert Counter(receiver.keys()) == Counter(dict.fromkeys(expected, 1))
    with Session(app_engine) as session:
        steps = session.scalars(select(JourneyStepRun)).all()
        assert len(steps) == 240
        assert {(step.state, step.attempts) for step in steps} == {("done", 1)}
        assert Counter(step.outcome for step in steps) == {"sent": 120, "waited": 60, "exited": 60}
        assert len({step.finished_by for step in steps}) > 1
