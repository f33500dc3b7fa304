"""The outbox table: idempotent enqueue, leases, retries, dead letters (SQLite, or PostgreSQL)."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from guanxi.appdb.database import session_factory
from guanxi.appdb.leasing import LeaseQueue, QueueStates, RetryPolicy
from guanxi.config import Settings
from guanxi.marketing import outbox
from guanxi.marketing.outbox import Delivery, OutboxMessage
from tests.appdb_fixtures import postgres_url

LEASE = timedelta(seconds=60)


@pytest.fixture
def queue() -> LeaseQueue[OutboxMessage]:
    return LeaseQueue(
        model=OutboxMessage,
        states=outbox.STATES,
        lease=LEASE,
        retry=RetryPolicy(max_attempts=3, base_delay=timedelta(seconds=30), jitter=0.0),
    )


def put(session: Session, key: str, now: datetime, **extra: object) -> OutboxMessage:
    values: dict[str, object] = {"channel": "webhook", "recipient": "u1", "body": "你好", "subject": "问候"}
    values.update(extra)
    return outbox.enqueue(session, idempotency_key=key, now=now, **values)  # type: ignore[arg-type]


def test_enqueue_twice_with_one_key_keeps_the_first_message(app_session: Session, now: datetime) -> None:
    first = put(app_session, "k1", now, body="first")
    second = put(app_session, "k1", now + timedelta(minutes=5), body="second")
    app_session.commit()
    assert second.id == first.id
    assert second.body == "first"
    assert app_session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    assert (first.state, first.attempts, first.next_attempt_at) == ("pending", 0, now)


def test_concurrent_enqueues_of_one_key_make_one_row(app_engine: Engine, now: datetime) -> None:
    sessions = session_factory(app_engine)
    ids: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def enqueue() -> None:
        try:
            with sessions() as session:
                start.wait()
                message = put(session, "same-key", now)
                session.commit()
                ids.append(message.id)
        except BaseException as err:  # collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=enqueue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(ids) == 4
    assert len(set(ids)) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_claim_takes_due_messages_oldest_first_and_sets_a_lease(
    app_session: Session, queue: LeaseQueue[OutboxMessage], now: datetime
) -> None:
    later = put(app_session, "later", now, not_before=now + timedelta(hours=1))
    second = put(app_session, "second", now, not_before=now - timedelta(minutes=1))
    first = put(app_session, "first", now, not_before=now - timedelta(minutes=2))
    app_session.commit()

    claimed = outbox.claim(app_session, queue, "w1", 10, now)
    app_session.commit()

    assert [message.idempotency_key for message in claimed] == ["first", "second"]
    assert all(message.state == "sending" for message in claimed)
    assert all(message.lease_owner == "w1" and message.attempts == 1 for message in claimed)
    assert first.lease_expires_at == now + LEASE
    app_session.refresh(later)
    assert later.state == "pending"
    assert outbox.claim(app_session, queue, "w2", 10, now) == []
    assert second.id != later.id


def test_a_message_whose_lease_expired_is_claimed_again(
    app_session: Session, queue: LeaseQueue[OutboxMessage], now: datetime
) -> None:
    message = put(app_session, "k", now)
    outbox.claim(app_session, queue, "crashed", 10, now)
    app_session.commit()
    assert outbox.claim(app_session, queue, "w2", 10, now + LEASE - timedelta(seconds=1)) == []

    again = outbox.claim(app_session, queue, "w2", 10, now + LEASE)
    app_session.commit()

    assert [m.id for m in again] == [message.id]
    assert (again[0].lease_owner, again[0].attempts) == ("w2", 2)
    # the crashed worker's late outcome does not count any more
    assert outbox.complete(app_session, queue, message, "crashed", now=now, provider_message_id="x") is False
    app_session.commit()
    assert message.state == "sending"
    assert [d.outcome for d in outbox.deliveries_of(app_session, message)] == ["lease_lost"]


def test_sends_completed_together_record_each_provider_id_and_skip_a_lost_lease(
    app_session: Session, queue: LeaseQueue[OutboxMessage], now: datetime
) -> None:
    later = now + LEASE
    third = put(app_session, "c", now)
    app_session.commit()
    outbox.claim(app_session, queue, "w1", 1, now)
    app_session.commit()
    first, second = put(app_session, "a", later), put(app_session, "b", later)
    app_session.commit()
    # w1's lease on the third message has expired: w2 takes it over, w1 claims the two others
    assert [m.id for m in outbox.claim(app_session, queue, "w2", 1, later)] == [third.id]
    app_session.commit()
    assert [m.id for m in outbox.claim(app_session, queue, "w1", 10, later)] == [first.id, second.id]
    app_session.commit()

    held = outbox.complete_many(
        app_session, queue, [(first, "p-a", 5), (second, None, 7), (third, "p-c", 9)], "w1", now=later
    )
    app_session.commit()

    assert held == [True, True, False]
    app_session.expire_all()
    assert [(m.state, m.provider_message_id, m.lease_owner) for m in (first, second, third)] == [
        ("sent", "p-a", None),
        ("sent", None, None),
        ("sending", None, "w2"),
    ]
    assert first.sent_at == later
    outcomes = {
        key: [(d.outcome, d.provider_message_id, d.duration_ms) for d in outbox.deliveries_of(app_session, m)]
        for key, m in zip("abc", (first, second, third), strict=True)
    }
    assert outcomes == {
        "a": [("sent", "p-a", 5)],
        "b": [("sent", None, 7)],
        "c": [("lease_lost", "p-c", 9)],
    }


def test_failures_back_off_exponentially_then_go_dead(
    app_session: Session, queue: LeaseQueue[OutboxMessage], now: datetime
) -> None:
    rng = random.Random(1)
    message = put(app_session, "k", now)
    app_session.commit()
    t = now
    expected_waits = [timedelta(seconds=30), timedelta(seconds=60)]
    for attempt, wait in enumerate(expected_waits, start=1):
        [claimed] = outbox.claim(app_session, queue, "w", 1, t)
        state = outbox.fail(
            app_session, queue, claimed, "w", now=t, error="503", error_code="x", permanent=False, rng=rng
        )
        app_session.commit()
        assert (state, message.attempts, message.next_attempt_at) == ("failed", attempt, t + wait)
        assert outbox.claim(app_session, queue, "w", 1, t + wait - timedelta(seconds=1)) == []
        t += wait
    [claimed] = outbox.claim(app_session, queue, "w", 1, t)
    state = outbox.fail(
        app_session, queue, claimed, "w", now=t, error="503", error_code="x", permanent=False, rng=rng
    )
    app_session.commit()
    assert (state, message.attempts, message.last_error) == ("dead", 3, "503")
    assert outbox.claim(app_session, queue, "w", 1, t + timedelta(days=30)) == []
    outcomes = [d.outcome for d in outbox.deliveries_of(app_session, message)]
    assert outcomes == ["failed", "failed", "dead"]


def test_a_permanent_failure_is_dead_at_once_and_retry_dead_revives_it(
    app_session: Session, queue: LeaseQueue[OutboxMessage], now: datetime
) -> None:
    message = put(app_session, "k", now)
    [claimed] = outbox.claim(app_session, queue, "w", 1, now)
    outbox.fail(
        app_session,
        queue,
        claimed,
        "w",
        now=now,
        error="bad address",
        error_code="bad",
        permanent=True,
        rng=random.Random(0),
    )
    app_session.commit()
    assert (message.state, message.attempts) == ("dead", 1)
    assert outbox.status_counts(app_session) == {
        "webhook": {
            "pending": 0,
            "sending": 0,
            "sent": 0,
            "failed": 0,
            "dead": 1,
            "held": 0,
            "cancelled": 0,
            "suppressed": 0,
        }
    }

    assert outbox.retry_dead(app_session, queue, now + timedelta(hours=1)) == 1
    app_session.commit()
    app_session.refresh(message)
    assert (message.state, message.attempts, message.next_attempt_at) == (
        "pending",
        0,
        now + timedelta(hours=1),
    )


def test_complete_records_the_send_and_one_delivery(
    app_session: Session, queue: LeaseQueue[OutboxMessage], now: datetime
) -> None:
    message = put(app_session, "k", now)
    [claimed] = outbox.claim(app_session, queue, "w", 1, now)
    assert outbox.complete(
        app_session, queue, claimed, "w", now=now, provider_message_id="p-1", duration_ms=7
    )
    app_session.commit()
    assert (message.state, message.sent_at, message.provider_message_id) == ("sent", now, "p-1")
    assert (message.lease_owner, message.lease_expires_at) == (None, None)
    [delivery] = app_session.scalars(select(Delivery)).all()
    assert (delivery.attempt, delivery.worker_id, delivery.outcome, delivery.provider_message_id) == (
        1,
        "w",
        "sent",
        "p-1",
    )


def test_release_gives_back_unstarted_claims_without_counting_them(
    app_session: Session, queue: LeaseQueue[OutboxMessage], now: datetime
) -> None:
    fresh = put(app_session, "fresh", now)
    retried = put(app_session, "retried", now)
    [claimed] = outbox.claim(app_session, queue, "w", 1, now)
    assert claimed.id == fresh.id
    outbox.fail(
        app_session,
        queue,
        claimed,
        "w",
        now=now,
        error="e",
        error_code="e",
        permanent=False,
        rng=random.Random(0),
    )
    app_session.commit()
    later = now + timedelta(minutes=1)
    claimed_both = outbox.claim(app_session, queue, "w", 10, later)
    assert {m.id for m in claimed_both} == {fresh.id, retried.id}

    assert queue.release(app_session, claimed_both, "w") == 2
    app_session.commit()

    assert (fresh.state, fresh.attempts) == ("failed", 1)
    assert (retried.state, retried.attempts) == ("pending", 0)
    assert fresh.lease_owner is None


def test_retry_policy_delays_double_up_to_the_cap_and_jitter_only_shortens() -> None:
    policy = RetryPolicy(base_delay=timedelta(seconds=10), max_delay=timedelta(seconds=60), jitter=0.0)
    rng = random.Random(0)
    assert [policy.delay(n, rng).total_seconds() for n in range(1, 6)] == [10, 20, 40, 60, 60]
    jittered = RetryPolicy(base_delay=timedelta(seconds=100), jitter=0.5)
    delays = [jittered.delay(1, rng).total_seconds() for _ in range(200)]
    assert all(50 <= d <= 100 for d in delays)
    assert max(delays) - min(delays) > 25


def test_states_are_named_per_queue() -> None:
    assert outbox.STATES.all == ("pending", "sending", "sent", "failed", "dead")
    assert QueueStates(claimed="running", done="done").all == ("pending", "running", "done", "failed", "dead")


@pytest.mark.postgres
def test_two_sessions_on_postgresql_never_claim_the_same_message(app_engine: Engine, now: datetime) -> None:
    if postgres_url() is None:
        pytest.skip("GUANXI_TEST_POSTGRES is not set")
    queue_ = LeaseQueue(model=OutboxMessage, states=outbox.STATES, lease=LEASE, retry=RetryPolicy())
    sessions = session_factory(app_engine)
    with sessions() as setup:
        for n in range(6):
            put(setup, f"k{n}", now)
        setup.commit()
    with sessions() as first, sessions() as second:
        # the first claim's transaction is still open (rows locked) when the second one claims
        a = outbox.claim(first, queue_, "a", 4, now)
        b = outbox.claim(second, queue_, "b", 4, now)
        assert len(a) == 4
        assert len(b) == 2
        assert not {m.id for m in a} & {m.id for m in b}
        first.commit()
        second.commit()


def test_settings_build_the_queue_policy(app_settings: Settings) -> None:
    local = app_settings.model_copy(
        update={"outbox_lease_seconds": 5.0, "outbox_max_attempts": 4, "outbox_retry_base_seconds": 2.0}
    )
    queue_ = outbox.outbox_queue(local)
    assert queue_.lease == timedelta(seconds=5)
    assert (queue_.retry.max_attempts, queue_.retry.base_delay) == (4, timedelta(seconds=2))


def test_a_last_attempt_whose_worker_vanished_is_dead_not_claimed_again(
    app_session: Session, now: datetime
) -> None:
    queue_ = LeaseQueue(
        model=OutboxMessage, states=outbox.STATES, lease=LEASE, retry=RetryPolicy(max_attempts=2)
    )
    message = put(app_session, "poison", now)
    outbox.claim(app_session, queue_, "w1", 1, now)  # attempt 1: the worker dies
    app_session.commit()
    assert len(outbox.claim(app_session, queue_, "w2", 1, now + LEASE)) == 1  # attempt 2: dies too
    app_session.commit()

    assert outbox.claim(app_session, queue_, "w3", 1, now + 2 * LEASE) == []
    app_session.commit()
    app_session.refresh(message)
    assert (message.state, message.attempts, message.lease_owner) == ("dead", 2, None)
    assert message.last_error == "the worker holding the last attempt disappeared"
