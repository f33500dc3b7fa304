"""``guanxi jobs …`` and the one way the long CLI commands run: here, or queued to the warehouse's writer.

:func:`run_job` is what ``guanxi import``, ``resolve``, ``models run`` and
``segments refresh`` call. It draws the job's progress bar and returns the
job's result; whether the work ran in this process or in ``guanxi serve`` /
``guanxi worker`` (which holds the embedded warehouse), the command then prints
the same report and exits with the same status (see :mod:`guanxi.jobs.launch`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from guanxi.cli.context import console, err_console, fails_cleanly
from guanxi.cli.progress import progress_bar
from guanxi.cli.worker import migrated_session
from guanxi.config import get_settings
from guanxi.errors import ValidationFailedError
from guanxi.jobs import store
from guanxi.jobs.kinds import Params, Result
from guanxi.jobs.launch import cli_owner, follow, run_or_queue
from guanxi.jobs.registry import job_kind, job_kinds
from guanxi.jobs.tables import ALL_STATES, Job
from guanxi.jobs.writer import Holder

app = typer.Typer(help="Background jobs: list, show, cancel, run one.", no_args_is_help=True)


def _queued(job: Job, holder: Holder) -> None:
    err_console.print(
        f"the warehouse is held by {escape(holder.describe())}: queued as job {job.id}, following it "
        "(Ctrl-C cancels it)",
        highlight=False,
    )


def _waiting(holder: Holder) -> None:
    err_console.print(
        f"waiting for {escape(holder.describe())} to finish with the warehouse…", highlight=False
    )


def run_job(kind: str, params: Params, *, title: str, show_progress: bool = True) -> Result:
    """Run a job of ``kind`` here or in the writer, with a progress bar titled ``title``; return its result."""
    settings = get_settings()
    with progress_bar(console, title, enabled=settings.progress and show_progress) as progress:
        return run_or_queue(settings, kind, params, progress=progress, on_queued=_queued, on_wait=_waiting)


def _parse_params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValidationFailedError(f"--param {pair!r}: write key=value (value may be JSON)")
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(get_settings().zone).strftime("%Y-%m-%d %H:%M:%S")


def _progress(job: Job) -> str:
    if not job.progress_total:
        return ""
    share = job.progress_done / job.progress_total
    return f"{share:.0%} {job.progress_message}".strip()


@app.command("list")
@fails_cleanly
def list_command(
    state: Annotated[
        str | None, typer.Option(help=f"Only jobs in this state: {', '.join(ALL_STATES)}.")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="Only jobs of this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The newest jobs: kind, state, progress, who started them."""
    if state is not None and state not in ALL_STATES:
        raise ValidationFailedError(f"unknown state {state!r}; use one of {', '.join(ALL_STATES)}")
    with migrated_session(get_settings()) as session:
        jobs = store.list_jobs(session, limit=limit, state=state, kind=kind)
        if as_json:
            console.print_json(json.dumps([job.to_dict() for job in jobs], ensure_ascii=False))
            return
        table = Table("id", "kind", "state", "progress", "owner", "created", "finished", title="jobs")
        for job in jobs:
            table.add_row(
                str(job.id),
                job.kind,
                job.state,
                escape(_progress(job)),
                escape(job.owner),
                _when(job.created_at),
                _when(job.finished_at),
            )
    if not jobs:
        console.print("no jobs yet")
        return
    console.print(table)


@app.command("show")
@fails_cleanly
def show_command(
    job_id: Annotated[int, typer.Argument(help="The job's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One job: parameters, progress, result or error, and its log."""
    with migrated_session(get_settings()) as session:
        data = store.get_job(session, job_id).to_dict()
    if as_json:
        console.print_json(json.dumps(data, ensure_ascii=False))
        return
    table = Table(show_header=False, title=f"job {data['id']} · {data['kind']}")
    table.add_column("what", style="bold")
    table.add_column("value")
    progress = data["progress"]
    for label, value in (
        ("state", data["state"]),
        ("parameters", json.dumps(data["params"], ensure_ascii=False)),
        ("owner", f"{data['owner']} ({data['origin']})"),
        ("attempts", str(data["attempts"])),
        ("progress", f"{progress['done']}/{progress['total']} {progress['message']}"),
        (
            "created / started / finished",
            f"{data['created_at']} / {data['started_at']} / {data['finished_at']}",
        ),
        ("error", f"[{data['error_code']}] {data['error']}" if data["error"] else ""),
    ):
        table.add_row(label, escape(value))
    console.print(table)
    if data["result"] is not None:
        console.print_json(json.dumps(data["result"], ensure_ascii=False))
    for line in data["log"]:
        console.print(escape(line), highlight=False)


@app.command("cancel")
@fails_cleanly
def cancel_command(job_id: Annotated[int, typer.Argument(help="The job's id.")]) -> None:
    """Cancel a queued job, or ask a running one to stop at its next step (its changes roll back)."""
    with migrated_session(get_settings()) as session:
        job = store.request_cancel(session, job_id, now=datetime.now(UTC))
        state = job.state
    console.print(f"job {job_id}: {'cancelled' if state == 'cancelled' else 'asked to stop'}")


@app.command("kinds")
@fails_cleanly
def kinds_command() -> None:
    """The job kinds (built-in and from plugins)."""
    table = Table("kind", "needs the warehouse writer", "description", title="job kinds")
    for kind in job_kinds().values():
        table.add_row(kind.name, "yes" if kind.writes_warehouse else "no", kind.description)
    console.print(table)


@app.command("run")
@fails_cleanly
def run_command(
    kind: Annotated[str, typer.Argument(help="The job kind (see `guanxi jobs kinds`).")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="A parameter key=value (value may be JSON).")
    ] = None,
    queue: Annotated[
        bool, typer.Option("--queue", help="Only queue it for `guanxi serve` / `guanxi worker`; do not wait.")
    ] = False,
) -> None:
    """Run one job of KIND (here, or queued to the process holding the warehouse) and print its result."""
    params = _parse_params(param or [])
    chosen = job_kind(kind)
    if queue:
        settings = get_settings()
        with migrated_session(settings) as session:
            job = store.submit(
                session, chosen, params, owner=cli_owner(), origin="cli", now=datetime.now(UTC)
            )
            assert job is not None
            job_id = job.id
        console.print(f"job {job_id} queued ({kind}); follow it with `guanxi jobs follow {job_id}`")
        return
    result = run_job(kind, params, title=chosen.name)
    console.print_json(json.dumps(result, ensure_ascii=False, default=str))


@app.command("follow")
@fails_cleanly
def follow_command(job_id: Annotated[int, typer.Argument(help="The job's id.")]) -> None:
    """Follow a job to its end with a progress bar, then print its result (Ctrl-C cancels it)."""
    settings = get_settings()
    from guanxi.appdb.database import make_engine, session_factory  # noqa: PLC0415

    with migrated_session(settings) as session:
        kind = store.get_job(session, job_id).kind
    engine = make_engine(settings)
    try:
        with progress_bar(console, kind, enabled=settings.progress) as progress:
            result = follow(session_factory(engine), job_id, progress=progress)
    finally:
        engine.dispose()
    console.print_json(json.dumps(result, ensure_ascii=False, default=str))
