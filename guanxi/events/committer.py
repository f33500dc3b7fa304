"""Group commit: the messages of concurrent requests go to the spool in one app-database transaction.

A commit costs one or more disk syncs (about 10 ms on SQLite's default journal,
a few ms on PostgreSQL), whatever it holds, and SQLite takes one writer at a
time. :class:`GroupCommitter` has one thread write every request that arrived
while the previous commit ran, in one transaction; each request waits for the
commit that holds its messages, so its 200 still comes after its own messages
are durable.

Guarantees: :meth:`GroupCommitter.write` returns only after the messages are
committed, and raises :class:`~guanxi.events.errors.SpoolUnavailableError` when
they are not. When a group's transaction fails, each request of the group is
written again in a transaction of its own, so one bad request never fails the
others. The thread starts on first use and ends after :data:`IDLE_SECONDS`
without work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from guanxi.events import spool
from guanxi.events.errors import SpoolUnavailableError
from guanxi.events.messages import Accepted

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0
MAX_GROUP_ROWS = 10_000
"""Most messages one transaction holds; later requests wait for the next one."""


@dataclass
class _Request:
    source: str
    messages: Sequence[Accepted]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class GroupCommitter:
    """Writes spool rows for many requests per transaction (see the module docstring). Thread-safe."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Condition()
        self._waiting: list[_Request] = []
        self._running = False

    def write(self, source: str, messages: Sequence[Accepted]) -> None:
        """Commit ``messages`` of ``source`` to the spool; returns once they are durable."""
        if not messages:
            return
        request = _Request(source, messages)
        with self._lock:
            self._waiting.append(request)
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="guanxi-event-spool", daemon=True).start()
            self._lock.notify()
        request.done.wait()
        if request.error is not None:
            err = request.error
            raise SpoolUnavailableError(
                f"the events could not be stored ({type(err).__name__}); nothing was accepted, send them again"
            ) from err

    def _take(self) -> list[_Request] | None:
        with self._lock:
            if not self._waiting:
                self._lock.wait(IDLE_SECONDS)
            if not self._waiting:
                self._running = False
                return None
            group: list[_Request] = []
            rows = 0
            while self._waiting and (not group or rows + len(self._waiting[0].messages) <= MAX_GROUP_ROWS):
                request = self._waiting.pop(0)
                group.append(request)
                rows += len(request.messages)
            return group

    def _run(self) -> None:
        while (group := self._take()) is not None:
            try:
                self._commit(group)
            except SQLAlchemyError as err:
                if len(group) == 1:
                    group[0].error = err
                else:
                    log.warning(
                        "a group commit of %d requests failed (%s); writing them one by one", len(group), err
                    )
                    for request in group:
                        try:
                            self._commit([request])
                        except SQLAlchemyError as alone:
                            request.error = alone
            except BaseException as err:  # noqa: BLE001 - the waiting requests must always be answered
                for request in group:
                    request.error = err
            finally:
                for request in group:
                    request.done.set()

    def _commit(self, group: list[_Request]) -> None:
        by_source: dict[str, list[Accepted]] = {}
        for request in group:
            by_source.setdefault(request.source, []).extend(request.messages)
        with self._sessions() as session, session.begin():
            for source, messages in by_source.items():
                spool.enqueue(session, source, messages)
