"""The background work of a process that holds the warehouse: jobs, schedules and services.

``guanxi serve`` and ``guanxi worker`` start one :class:`Runtime`. It runs three
daemon threads, each with its own warehouse connection (on DuckDB a cursor of
the process's one database, so the web app's pages keep reading while a job
writes):

* **jobs** — claims due jobs one at a time and runs them
  (:func:`guanxi.jobs.runner.run_pending`); warehouse-writing jobs only when this
  process is the warehouse's writer;
* **schedules** — every ``jobs_schedule_seconds`` creates the jobs of due
  schedule slots (:mod:`guanxi.jobs.schedule`);
* **services** — runs each registered :class:`~guanxi.jobs.kinds.Service` every
  its interval (the event loader …).

:meth:`Runtime.stop` asks the threads to end and waits for the running job's
current attempt; a job still running when the process is killed is retried by
the next owner (see :mod:`guanxi.jobs.store`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy
from ibis.backends import BaseBackend
from sqlalchemy.orm import Session, sessionmaker

from guanxi.config import Settings
from guanxi.jobs import schedule, store
from guanxi.jobs.kinds import JobContext, Service
from guanxi.jobs.registry import job_kinds, services
from guanxi.jobs.runner import Clock, run_pending, utc_now
from guanxi.warehouse import connect

log = logging.getLogger(__name__)


def worker_connection(warehouse: BaseBackend, settings: Settings) -> BaseBackend:
    """A connection for another thread of this process.

    On DuckDB a cursor of the same database (DuckDB allows one process per file
    but any number of cursors in it, each with its own transactions); on other
    backends a new connection.
    """
    if warehouse.name == "duckdb":
        import ibis  # noqa: PLC0415 - only this branch needs the module object

        raw: Any = getattr(warehouse, "con")  # noqa: B009 - the DuckDB connection under Ibis
        cursor: BaseBackend = ibis.duckdb.from_connection(raw.cursor())
        return cursor
    return connect(settings)


@dataclass
class Runtime:
    """Jobs, schedules and services of one process (see the module docstring)."""

    settings: Settings
    sessions: sessionmaker[Session]
    warehouse: BaseBackend
    worker_id: str
    writer: bool
    pm: pluggy.PluginManager | None = None
    clock: Clock = utc_now
    _stop: threading.Event = field(default_factory=threading.Event)
    _wake: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        """Start the threads (recovering jobs orphaned by a previous writer first)."""
        kinds = job_kinds(self.pm)
        schedules = schedule.load_schedules(self.settings)
        schedule.check_kinds(schedules, kinds)
        if self.writer and self.warehouse.name == "duckdb":
            with self.sessions() as session, session.begin():
                recovered = store.recover_orphans(session, now=self.clock())
            if recovered:
                log.warning("%d job(s) of a previous writer are due again", recovered)
        self._spawn("jobs", self._jobs_loop)
        if self.settings.jobs_schedules:
            self._spawn("schedules", lambda: self._schedules_loop(schedules))
        for service in services(self.pm).values():
            if service.writes_warehouse and not self.writer:
                continue
            self._spawn(f"service-{service.name}", lambda s=service: self._service_loop(s))  # type: ignore[misc]

    def wake(self) -> None:
        """Look for due jobs now (a job was just submitted in this process)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=timeout)
        self._threads.clear()

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"guanxi-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _jobs_loop(self) -> None:
        con = worker_connection(self.warehouse, self.settings)
        try:
            while not self._stop.is_set():
                try:
                    ran = run_pending(
                        settings=self.settings,
                        sessions=self.sessions,
                        warehouse=con,
                        worker_id=self.worker_id,
                        kinds=job_kinds(self.pm),
                        writer=self.writer,
                        clock=self.clock,
                        limit=1,
                    )
                except Exception:  # noqa: BLE001 - the loop outlives a failing claim
                    log.exception("job runner: claim failed")
                    ran = 0
                if not ran:
                    self._wake.wait(self.settings.jobs_poll_seconds)
                    self._wake.clear()
        finally:
            con.disconnect()

    def _schedules_loop(self, schedules: list[schedule.Schedule]) -> None:
        while not self._stop.is_set():
            try:
                with self.sessions() as session, session.begin():
                    created = schedule.create_due_jobs(
                        session, schedules, job_kinds(self.pm), now=self.clock(), zone=self.settings.zone
                    )
                for job in created:
                    log.info("schedule %s: job %s (%s) created", job.owner, job.id, job.kind)
                if created:
                    self._wake.set()
            except Exception:  # noqa: BLE001 - another scheduler may have won the race; try again
                log.warning("scheduler pass failed", exc_info=True)
            self._stop.wait(self.settings.jobs_schedule_seconds)

    def _service_loop(self, service: Service) -> None:
        con = worker_connection(self.warehouse, self.settings)
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    context = JobContext(
                        settings=self.settings,
                        warehouse=con,
                        sessions=self.sessions,
                        now=self.clock(),
                        owner=self.worker_id,
                        log=lambda line, s=service: log.info("%s: %s", s.name, line),  # type: ignore[misc]
                    )
                    service.run(context)
                except Exception:  # noqa: BLE001 - logged; the next pass runs as usual
                    log.exception("service %s failed", service.name)
                wait = service.interval(self.settings) - (time.monotonic() - started)
                self._stop.wait(max(wait, 0.01))
        finally:
            con.disconnect()
