"""Group commit: concurrent requests share transactions, each answered after its own messages are durable."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from guanxi.appdb.database import session_factory
from guanxi.events import spool
from guanxi.events.committer import GroupCommitter
from guanxi.events.errors import SpoolUnavailableError
from guanxi.events.messages import Accepted, read_request
from tests.events.servers import wait_for

RECEIVED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def accepted(*ids: str) -> list[Accepted]:
    body = {"batch": [{"type": "track", "userId": "u", "event": "E", "messageId": i} for i in ids]}
    return read_request(body, kind=None, received_at=RECEIVED).accepted


def test_concurrent_requests_with_overlapping_ids_are_each_stored_once(app_engine: Engine) -> None:
    sessions = session_factory(app_engine)
    committer = GroupCommitter(sessions)
    answered: list[int] = []
    barrier = threading.Barrier(8)

    def request(n: int) -> None:
        barrier.wait()
        committer.write("segment", accepted(*(f"m{i}" for i in range(n * 10, n * 10 + 30))))
        with sessions() as session:  # durable when the call returns
            found = {e.message_id for e in session.query(spool.SpooledEvent)}
        assert {f"m{i}" for i in range(n * 10, n * 10 + 30)} <= found
        answered.append(n)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answered) == list(range(8))
    with sessions() as session:
        assert spool.waiting(session) == 100


def test_a_failing_request_is_refused_alone_and_the_others_of_its_group_are_stored(
    app_engine: Engine,
) -> None:
    sessions = session_factory(app_engine)
    committer = GroupCommitter(sessions)
    good, bad = accepted("g1", "g2"), accepted("b1")
    poison = [Accepted(bad[0].message_id, bad[0].type, bad[0].received_at, bad[0].occurred_at, None)]  # type: ignore[arg-type]
    outcomes: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def send(name: str, messages: list[Accepted]) -> None:
        barrier.wait()
        try:
            committer.write("segment", messages)
            outcomes[name] = "stored"
        except SpoolUnavailableError as err:
            outcomes[name] = err.code

    threads = [threading.Thread(target=send, args=a) for a in (("good", good), ("bad", poison))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == {"good": "stored", "bad": "spool_unavailable"}
    with sessions() as session:
        assert sorted(e.message_id for e in session.query(spool.SpooledEvent)) == ["g1", "g2"]


def test_nothing_to_write_returns_at_once(app_engine: Engine) -> None:
    GroupCommitter(session_factory(app_engine)).write("segment", [])


@pytest.mark.parametrize("count", [1, 3])
def test_the_thread_starts_again_after_it_went_idle(
    app_engine: Engine, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    from guanxi.events import committer as module

    monkeypatch.setattr(module, "IDLE_SECONDS", 0.01)
    sessions = session_factory(app_engine)
    writer = GroupCommitter(sessions)
    for round_ in range(count):
        writer.write("segment", accepted(f"r{round_}"))
        wait_for(lambda: not writer._running, 5, "the committer thread to go idle")
    with sessions() as session:
        assert spool.waiting(session) == count
