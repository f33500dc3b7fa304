"""``guanxi tasks …``: sales-rep follow-up tasks and customer owners from the command line.

Errors print as ``error [code]: message`` and exit with status 2. Every
change is audited with the actor ``cli`` (the operator may change any task);
the app database is migrated first when needed. Times print in
``GUANXI_TIMEZONE``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from guanxi.cli.context import console as out
from guanxi.cli.context import fails_cleanly
from guanxi.cli.users import ACTOR, app_db, now
from guanxi.config import get_settings
from guanxi.marketing import tasks

app = typer.Typer(help="Follow-up tasks of sales reps, and who owns which customer.", no_args_is_help=True)


@app.command("list")
@fails_cleanly
def list_(
    assignee: Annotated[str | None, typer.Option(help="Only this rep's tasks; default: everyone's.")] = None,
    state: Annotated[
        Literal["open", "done", "cancelled"], typer.Option(help="open, done or cancelled")
    ] = "open",
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
) -> None:
    """List tasks: open ones soonest due first, others latest finished first."""
    settings = get_settings()
    zone = settings.zone
    current = now()
    table = Table("id", "due", "assignee", "customer", "title", "campaign", "state")
    with app_db(settings) as session:
        for task in tasks.list_tasks(session, assignee=assignee, state=state, limit=limit):
            due = task.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            customer = task.customer_id + (f" ({task.customer_name})" if task.customer_name else "")
            table.add_row(
                str(task.id),
                due + (" overdue" if task.is_overdue(current) else ""),
                task.assignee,
                escape(customer),
                escape(task.title),
                escape(task.campaign_key or "—"),
                task.state,
            )
    out.print(table)


@app.command("done")
@fails_cleanly
def done(task_id: Annotated[int, typer.Argument(min=1)]) -> None:
    """Mark a task done (already done: unchanged)."""
    with app_db() as session:
        task = tasks.complete_task(session, task_id, actor=ACTOR, now=now())
    out.print(f"task {task.id} is done")


@app.command("reopen")
@fails_cleanly
def reopen(task_id: Annotated[int, typer.Argument(min=1)]) -> None:
    """Open a done or cancelled task again."""
    with app_db() as session:
        task = tasks.reopen(session, task_id, actor=ACTOR, now=now())
    out.print(f"task {task.id} is open")


@app.command("owner")
@fails_cleanly
def owner(customer_id: str, username: str) -> None:
    """Make USERNAME (an active user) the owner of CUSTOMER_ID; new tasks about them go to that rep."""
    with app_db() as session:
        record = tasks.set_owner(session, customer_id, username, actor=ACTOR, now=now())
    out.print(f"customer {escape(record.customer_id)} is owned by {record.username}")


@app.command("add")
@fails_cleanly
def add(
    customer_id: str,
    title: str,
    body: Annotated[str, typer.Option(help="What to do, in more words.")] = "",
    pool: Annotated[
        str, typer.Option(help="Comma-separated reps to choose from when the customer has no owner.")
    ] = "",
    due_hours: Annotated[float, typer.Option(min=0, help="Hours from now until it is due.")] = 24,
) -> None:
    """Create a manual task: the customer's owner takes it, else the least-loaded rep of --pool."""
    current = now()
    with app_db() as session:
        task = tasks.create_task(
            session,
            idempotency_key=f"manual:{uuid.uuid4().hex}",
            customer_id=customer_id,
            title=title,
            body=body,
            due_at=current + timedelta(hours=due_hours),
            now=current,
            pool=[name for name in pool.split(",") if name.strip()],
            source="manual",
            actor=ACTOR,
        )
    out.print(f"task {task.id} for {task.assignee}")
