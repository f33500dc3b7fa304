"""``guanxi worker``: claims due journey steps and outbox messages and runs them.

Any number of workers may run against one PostgreSQL app database; each claims
small batches under a lease (``SELECT … FOR UPDATE SKIP LOCKED``), so no two
live workers take the same item, and a crashed worker's items come back after
the lease expires (see :mod:`guanxi.marketing.outbox` for the delivery
guarantee). On SQLite run one worker.

A journey step is committed on its own, together with everything it
scheduled. Only bare queue steps run here; the steps of a journey enrollment
(``enrollment_id`` set) are run by the ``journeys`` service in the process
owning the warehouse (:mod:`guanxi.marketing.journeys.runtime`), which reads
the warehouse for goals, branches and audiences. Messages go out in claim order: one after another, except on a
channel whose definition is ``concurrent`` (webhook, SMS, WeChat), where up to
``worker_send_concurrency`` of them are in flight at once on a thread pool.
Their outcomes (state and delivery record, each still guarded by its lease)
are committed together once per claimed batch — before any release, and as soon as a quarter of the lease
has passed since the first unrecorded send — so a delivery costs no commit of
its own. A worker killed before that commit loses at most one batch of
outcomes: those messages are sent again after their leases expire (at least
once; the receiver de-duplicates on the idempotency key). On SIGTERM or SIGINT
the worker finishes the item in hand, records what it sent, gives back the
leases of the items it had claimed but not started, and returns. Logs name items by id and key, never
message bodies or secrets.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType

import pluggy
from pydantic_settings import BaseSettings
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.leasing import LeaseQueue, W
from guanxi.config import Settings
from guanxi.errors import GuanxiError
from guanxi.marketing import gate, outbox
from guanxi.marketing.channels import ChannelDefinition, ChannelSet
from guanxi.marketing.errors import is_permanent
from guanxi.marketing.journey_steps import (
    JourneyStepRun,
    StepContext,
    StepKind,
    registered_step_kinds,
    run_step,
    step_kinds,
    step_queue,
)
from guanxi.marketing.quiet_hours import QuietHours

log = logging.getLogger("guanxi.worker")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def default_worker_id() -> str:
    """``<host>:<pid>`` — unique among the live workers of one database."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class WorkerStats:
    """What one worker did."""

    steps_done: int = 0
    steps_failed: int = 0
    sent: int = 0
    send_failed: int = 0
    dead: int = 0
    released: int = 0
    lease_lost: int = 0
    deferred: int = 0
    """Messages put back until quiet hours end (not attempts)."""
    suppressed: int = 0
    """Messages the send-time check refused (suppressed address, consent revoked)."""
    held: int = 0
    """Messages of paused or cancelled campaigns taken out of the queue."""


@dataclass
class _Attempt:
    """One send whose outcome is not recorded yet."""

    message: outbox.OutboxMessage
    started: float
    """``time.monotonic()`` when the send started."""
    duration_ms: int
    provider_id: str | None = None
    error: Exception | None = None


class Worker:
    """One worker's loop over both queues; see :func:`run_worker`.

    ``channels`` defaults to a :class:`ChannelSet` of the channels registered on
    ``pm``; ``kinds`` (step kinds) to those registered on ``pm``, collected once,
    here. Given explicitly, either replaces the registered ones entirely.
    ``concurrency`` (default ``worker_send_concurrency``) bounds the sends in
    flight at once on a concurrent channel; :meth:`close` ends the send threads.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        worker_id: str,
        *,
        batch: int,
        stop_event: threading.Event,
        concurrency: int | None = None,
        clock: Clock = system_clock,
        channels: ChannelSet | None = None,
        kinds: Iterable[StepKind] | None = None,
        rng: random.Random | None = None,
        pm: pluggy.PluginManager | None = None,
    ) -> None:
        self.sessions = sessions
        self.worker_id = worker_id
        self.batch = batch
        self.concurrency = concurrency or settings.worker_send_concurrency
        self.stop_event = stop_event
        self.clock = clock
        self.channels = channels if channels is not None else ChannelSet(pm=pm)
        self.kinds = registered_step_kinds(pm) if kinds is None else step_kinds(kinds)
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.outbox_queue = outbox.outbox_queue(settings)
        self.quiet = QuietHours.of(
            settings.marketing_quiet_start, settings.marketing_quiet_end, settings.zone
        )
        self.step_queue = step_queue(settings)
        self.record_after = self.outbox_queue.lease.total_seconds() / 4
        """Seconds after which sent messages' outcomes are committed even in the middle of a batch."""
        self.stats = WorkerStats()
        self._pool: ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Wait for the send threads (none is busy between passes) and end them."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def run_once(self) -> int:
        """One pass: a batch of due steps, then a batch of due messages. Returns how many were claimed."""
        claimed = self.run_steps()
        if not self.stop_event.is_set():
            claimed += self.run_outbox()
        return claimed

    def run_steps(self) -> int:
        with self.sessions() as session:
            runs = self.step_queue.claim(
                session,
                self.worker_id,
                self.batch,
                self.clock(),
                where=JourneyStepRun.enrollment_id.is_(
                    None
                ),  # journeys' own steps run where the warehouse is
            )
            session.commit()
            for position, run in enumerate(runs):
                if self.stop_event.is_set() or not self.step_queue.starts_in_time(run, self.clock()):
                    self._release(session, self.step_queue, runs[position:])
                    break
                self._run_step(session, run)
            return len(runs)

    def _run_step(self, session: Session, run: JourneyStepRun) -> None:
        now = self.clock()
        try:
            held = run_step(StepContext(session, now, self.worker_id), self.step_queue, run, self.kinds)
        except Exception as err:
            session.rollback()
            code = err.code if isinstance(err, GuanxiError) else type(err).__name__
            state = self.step_queue.fail(
                session,
                run,
                self.worker_id,
                now=now,
                error=str(err),
                permanent=is_permanent(err),
                rng=self.rng,
            )
            session.commit()
            self.stats.steps_failed += 1
            self.stats.dead += state == self.step_queue.states.dead
            log.warning("step %s failed (%s), now %s", run.idempotency_key, code, state or "taken over")
            return
        if not held:
            session.rollback()
            self.stats.lease_lost += 1
            log.warning(
                "step %s was taken over by another worker; its effects were rolled back", run.idempotency_key
            )
            return
        session.commit()
        self.stats.steps_done += 1
        log.debug("step %s %s", run.idempotency_key, run.outcome)

    def run_outbox(self) -> int:
        with self.sessions() as session:
            messages = outbox.claim(session, self.outbox_queue, self.worker_id, self.batch, self.clock())
            session.commit()
            if not messages:
                return 0
            verdicts = gate.check(
                session, messages, now=self.clock(), quiet=self.quiet, definitions=self.channels.definitions
            )
            session.commit()
            sent: list[_Attempt] = []
            ready: list[outbox.OutboxMessage] = []
            """Messages for concurrent channels, passed by the gate, not started yet."""
            for position, message in enumerate(messages):
                if self.stop_event.is_set() or not self.outbox_queue.starts_in_time(message, self.clock()):
                    self._record(session, sent)
                    self._release(session, self.outbox_queue, ready + messages[position:])
                    ready = []
                    break
                if sent and time.monotonic() - sent[0].started > self.record_after:
                    self._record(session, sent)
                verdict = verdicts[message.id]
                if verdict.action != gate.SEND:
                    self._withhold(session, message, verdict)
                elif self._concurrent(message.channel):
                    ready.append(message)
                    if len(ready) == self.concurrency:
                        sent.extend(self._send_together(ready))
                        ready = []
                else:
                    sent.append(self._send(message))
            if ready and self.stop_event.is_set():
                self._record(session, sent)
                self._release(session, self.outbox_queue, ready)
            else:
                sent.extend(self._send_together(ready))
            self._record(session, sent)
            return len(messages)

    def _concurrent(self, channel: str) -> bool:
        definition = self.channels.definitions.get(channel)
        return self.concurrency > 1 and definition is not None and definition.concurrent

    def _send_together(self, messages: list[outbox.OutboxMessage]) -> list[_Attempt]:
        """Send ``messages`` at once on the send threads; the attempts come back in the same order."""
        if len(messages) <= 1:
            return [self._send(message) for message in messages]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="guanxi-send")
        return list(self._pool.map(self._send, messages))

    def _withhold(self, session: Session, message: outbox.OutboxMessage, verdict: gate.Verdict) -> None:
        """Apply a verdict other than send: defer (not an attempt), hold, cancel or suppress."""
        if verdict.action == gate.DEFER:
            self.outbox_queue.settle(
                session,
                message,
                self.worker_id,
                self.outbox_queue.states.pending
                if message.attempts <= 1
                else self.outbox_queue.states.failed,
                attempts=message.attempts - 1,
                next_attempt_at=verdict.until,
            )
            self.stats.deferred += 1
        else:
            held = self.outbox_queue.settle(
                session, message, self.worker_id, verdict.action, last_error=verdict.reason
            )
            if held and verdict.action == outbox.SUPPRESSED:
                outbox.record_withheld(
                    session, message, self.worker_id, now=self.clock(), reason=verdict.reason
                )
                self.stats.suppressed += 1
            elif held:
                self.stats.held += 1
        session.commit()
        log.info("message %s not sent now: %s", message.id, verdict.reason)

    def _send(self, message: outbox.OutboxMessage) -> _Attempt:
        """Hand ``message`` to its channel; the outcome is recorded later by :meth:`_record`.

        Never raises: any error is the attempt's outcome. Safe to call from the send threads.
        """
        started = time.monotonic()
        try:
            provider_id = self.channels.get(message.channel).send(message.envelope())
        except Exception as err:
            return _Attempt(message, started, int((time.monotonic() - started) * 1000), error=err)
        return _Attempt(message, started, int((time.monotonic() - started) * 1000), provider_id=provider_id)

    def _record(self, session: Session, attempts: list[_Attempt]) -> None:
        """Commit the outcomes of ``attempts`` in one transaction (each guarded by its lease), then clear it."""
        if not attempts:
            return
        now = self.clock()
        with session.no_autoflush:  # the delivery rows go in one insert at the commit
            delivered = [attempt for attempt in attempts if attempt.error is None]
            held = outbox.complete_many(
                session,
                self.outbox_queue,
                [(a.message, a.provider_id, a.duration_ms) for a in delivered],
                self.worker_id,
                now=now,
            )
            done = self.outbox_queue.states.done
            state_of = {id(a): done if h else None for a, h in zip(delivered, held, strict=True)}
            outcomes = [
                state_of[id(attempt)]
                if attempt.error is None
                else self._failure(session, attempt, attempt.error, now)
                for attempt in attempts
            ]
        session.commit()
        for attempt, outcome in zip(attempts, outcomes, strict=True):
            self._count(attempt, outcome)
        attempts.clear()

    def _failure(self, session: Session, attempt: _Attempt, err: Exception, now: datetime) -> str | None:
        """Record one failed attempt in the open transaction; returns the new state (None: the lease was lost)."""
        message = attempt.message
        return outbox.fail(
            session,
            self.outbox_queue,
            message,
            self.worker_id,
            now=now,
            error=err.message if isinstance(err, GuanxiError) else str(err),
            error_code=err.code if isinstance(err, GuanxiError) else type(err).__name__,
            permanent=is_permanent(err),
            rng=self.rng,
            duration_ms=attempt.duration_ms,
        )

    def _count(self, attempt: _Attempt, state: str | None) -> None:
        message, err = attempt.message, attempt.error
        if err is None:
            if state is not None:
                self.stats.sent += 1
            else:
                self.stats.lease_lost += 1
                log.warning(
                    "message %s was sent after its lease had been taken over", message.idempotency_key
                )
            return
        self.stats.send_failed += 1
        self.stats.dead += state == self.outbox_queue.states.dead
        log.warning(
            "message %s (%s) to channel %s failed (%s), now %s",
            message.id,
            message.idempotency_key,
            message.channel,
            err.code if isinstance(err, GuanxiError) else type(err).__name__,
            state or "taken over",
        )

    def _release(self, session: Session, queue: LeaseQueue[W], items: list[W]) -> None:
        released = queue.release(session, items, self.worker_id)
        session.commit()
        self.stats.released += released
        reason = "stopping" if self.stop_event.is_set() else "lease half gone"
        log.info("%s: gave back %d unstarted item(s)", reason, released)


@contextmanager
def _signals_set(stop_event: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop_event`` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: finishing the current item", signal.Signals(signum).name)
        stop_event.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_worker(
    settings: Settings,
    worker_id: str | None = None,
    once: bool = False,
    poll_seconds: float | None = None,
    batch: int | None = None,
    stop_event: threading.Event | None = None,
    *,
    clock: Clock = system_clock,
    channel_definitions: Iterable[ChannelDefinition] | None = None,
    channel_settings: Mapping[str, BaseSettings] | None = None,
    kinds: Iterable[StepKind] | None = None,
    rng: random.Random | None = None,
    pm: pluggy.PluginManager | None = None,
) -> WorkerStats:
    """Run the worker loop until stopped (or, with ``once``, until nothing is due).

    Channels and journey step kinds are those registered through the plugin
    hooks on ``pm`` (default: the process's plugin manager), collected when the
    worker starts; ``channel_definitions`` and ``kinds`` replace them with an
    explicit set (tests, embedding). ``channel_settings`` gives channels their
    settings objects instead of their environment variables (see
    :class:`~guanxi.marketing.channels.ChannelSet`).

    ``poll_seconds`` is the idle wait when nothing was due (default
    ``worker_poll_seconds``); ``batch`` the number of items claimed at a time per
    queue (default ``worker_batch``). ``stop_event`` (set by SIGTERM/SIGINT when
    running in the main thread) ends the loop after the current item; unstarted
    claims are released. A lost database connection is logged and retried after
    ``poll_seconds``. Returns what was done.
    """
    event = stop_event or threading.Event()
    identity = worker_id or default_worker_id()
    idle = settings.worker_poll_seconds if poll_seconds is None else poll_seconds
    channels = ChannelSet(channel_definitions, channel_settings=channel_settings, pm=pm)
    engine = make_engine(settings)
    try:
        worker = Worker(
            session_factory(engine),
            settings,
            identity,
            batch=batch or settings.worker_batch,
            stop_event=event,
            clock=clock,
            channels=channels,
            kinds=kinds,
            rng=rng,
            pm=pm,
        )
        log.info(
            "worker %s started (batch %d, up to %d sends at once, poll %.1fs)",
            identity,
            worker.batch,
            worker.concurrency,
            idle,
        )
        with _signals_set(event), closing(worker):
            while not event.is_set():
                try:
                    claimed = worker.run_once()
                except OperationalError as err:
                    if once:
                        raise
                    log.error(
                        "app database unavailable (%s); retrying in %.1fs", type(err.orig).__name__, idle
                    )
                    claimed = 0
                if claimed == 0:
                    if once:
                        break
                    event.wait(idle)
    finally:
        channels.close()
        engine.dispose()
    log.info("worker %s stopped: %s", identity, worker.stats)
    return worker.stats
