"""``guanxi worker`` and ``guanxi outbox …``: run the delivery worker, inspect and repair the outbox.

The worker needs an app database at the newest revision (``guanxi init``); it
refuses to start otherwise, so several workers never race to migrate. Logs go
to standard error and never carry message bodies or secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.migrate import current_revision, head_revision
from guanxi.cli.context import console as out
from guanxi.cli.context import fails_cleanly
from guanxi.config import Settings, get_settings
from guanxi.errors import ConfigError
from guanxi.jobs import store
from guanxi.jobs.kinds import JobContext
from guanxi.jobs.registry import job_kinds, services
from guanxi.jobs.runner import run_pending
from guanxi.jobs.runtime import Runtime
from guanxi.jobs.writer import WriterLock, holder
from guanxi.marketing import outbox
from guanxi.marketing.worker import default_worker_id, run_worker
from guanxi.warehouse import connect

outbox_app = typer.Typer(help="Inspect and repair the outbox of outgoing messages.", no_args_is_help=True)


@contextmanager
def migrated_session(settings: Settings) -> Iterator[Session]:
    """A session on the app database, committed when the block succeeds; ConfigError when not migrated."""
    engine = make_engine(settings)
    try:
        revision, head = current_revision(engine), head_revision()
        if revision != head:
            raise ConfigError(
                f"the app database is at revision {revision or 'none'}, not {head}: run `guanxi init` first"
            )
        with session_factory(engine)() as session, session.begin():
            yield session
    finally:
        engine.dispose()


@fails_cleanly
def worker_command(
    worker_id: Annotated[
        str | None, typer.Option("--id", help="Name in leases and delivery records; default host:pid.")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Work until nothing is due, then exit.")] = False,
    batch: Annotated[
        int | None,
        typer.Option("--batch", min=1, help="Items claimed at a time; default GUANXI_WORKER_BATCH."),
    ] = None,
    poll: Annotated[
        float | None,
        typer.Option(
            "--poll", min=0.05, help="Idle seconds between polls; default GUANXI_WORKER_POLL_SECONDS."
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every item.")] = False,
) -> None:
    """Deliver due journey steps and outbox messages until SIGTERM/SIGINT (run several on PostgreSQL)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    settings = get_settings()
    with migrated_session(settings):
        pass
    identity = worker_id or default_worker_id()
    with background_work(settings, identity, once=once) as jobs_ran:
        stats = run_worker(settings, identity, once=once, poll_seconds=poll, batch=batch)
    out.print(
        f"worker {identity}: {stats.sent} sent, {stats.send_failed} failed sends, "
        f"{stats.steps_done} steps done, {stats.steps_failed} failed steps, {stats.dead} dead, "
        f"{stats.released} released, {jobs_ran()} jobs run"
    )


@contextmanager
def background_work(settings: Settings, identity: str, *, once: bool) -> Iterator[Callable[[], int]]:
    """The worker's share of jobs, schedules and services while the block runs; yields a count of jobs run.

    On an embedded DuckDB warehouse the worker takes them only when it can be the
    warehouse's one writer (``guanxi serve`` not running); otherwise it only
    delivers messages. On other warehouses every worker runs them. With ``once``
    the due jobs and one pass of each service run first, in this thread.
    """
    lock = WriterLock(settings, role="worker", takes_jobs=True)
    if not lock.acquire():
        current = holder(settings)
        logging.getLogger(__name__).info(
            "the warehouse is held by %s: this worker delivers messages only",
            current.describe() if current else "another process",
        )
        yield lambda: 0
        return
    engine = make_engine(settings)
    warehouse = connect(settings)
    sessions = session_factory(engine)
    ran = 0
    runtime: Runtime | None = None
    try:
        if once:
            if warehouse.name == "duckdb":
                with sessions() as session, session.begin():
                    store.recover_orphans(session, now=datetime.now(UTC))
            ran = run_pending(
                settings=settings,
                sessions=sessions,
                warehouse=warehouse,
                worker_id=identity,
                kinds=job_kinds(),
                writer=True,
            )
            for service in services().values():
                service.run(
                    JobContext(
                        settings=settings, warehouse=warehouse, sessions=sessions, now=datetime.now(UTC)
                    )
                )
        else:
            runtime = Runtime(settings, sessions, warehouse, worker_id=identity, writer=True)
            runtime.start()
        yield lambda: ran
    finally:
        if runtime is not None:
            runtime.stop()
        warehouse.disconnect()
        engine.dispose()
        lock.release()


@outbox_app.command("status")
@fails_cleanly
def status() -> None:
    """Messages per channel and state."""
    with migrated_session(get_settings()) as session:
        counts = outbox.status_counts(session)
    states = outbox.STATES.all
    table = Table("channel", *states, "total")
    for channel in sorted(counts):
        row = counts[channel]
        table.add_row(channel, *(str(row[state]) for state in states), str(sum(row.values())))
    if not counts:
        out.print("the outbox is empty")
        return
    out.print(table)


@outbox_app.command("retry-dead")
@fails_cleanly
def retry_dead() -> None:
    """Give every dead message a fresh attempt budget; workers send it again."""
    settings = get_settings()
    with migrated_session(settings) as session:
        revived = outbox.retry_dead(session, outbox.outbox_queue(settings), datetime.now(UTC))
    out.print(f"{revived} dead message(s) are pending again")


def register(app: typer.Typer) -> None:
    """Add ``worker`` and ``outbox`` to the ``guanxi`` command."""
    app.command("worker")(worker_command)
    app.add_typer(outbox_app, name="outbox")
