"""The spool: one row per (source, messageId), also from concurrent writers; claims survive a dead loader."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from guanxi.appdb.database import session_factory
from guanxi.events import spool
from guanxi.events.messages import Accepted, read_request

RECEIVED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def accepted(*ids: str) -> list[Accepted]:
    body = {"batch": [{"type": "track", "userId": "u", "event": "E", "messageId": i} for i in ids]}
    return read_request(body, kind=None, received_at=RECEIVED).accepted


def test_concurrent_writers_of_the_same_messages_store_each_once(app_engine: Engine) -> None:
    sessions = session_factory(app_engine)
    messages = accepted(*(f"m{i}" for i in range(200)))
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def write() -> None:
        try:
            barrier.wait()
            with sessions() as session, session.begin():
                spool.enqueue(session, "segment", messages)
        except BaseException as err:  # noqa: BLE001 - reported below
            failures.append(err)

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with sessions() as session:
        assert spool.waiting(session) == 200


def test_a_claim_left_by_a_dead_loader_is_taken_again_whole_before_new_rows(app_engine: Engine) -> None:
    sessions = session_factory(app_engine)
    with sessions() as session, session.begin():
        spool.enqueue(session, "segment", accepted("a", "b", "c"))
    with sessions() as session, session.begin():
        first, rows = spool.claim(session, 2, now=RECEIVED)
    assert [r.message_id for r in rows] == ["a", "b"]
    with sessions() as session, session.begin():
        spool.enqueue(session, "segment", accepted("d"))
        again, rows = spool.claim(session, 10, now=RECEIVED)
    assert (again, [r.message_id for r in rows]) == (first, ["a", "b"])
    with sessions() as session, session.begin():
        assert first is not None
        assert spool.release(session, first) == 2
        _next, rows = spool.claim(session, 10, now=RECEIVED)
    assert [r.message_id for r in rows] == ["c", "d"]
    with sessions() as session:
        assert session.scalars(select(spool.SpooledEvent.load_batch).distinct()).all() == [_next]
