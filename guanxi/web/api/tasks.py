"""``/v1/tasks`` and ``/v1/customers/{id}/owner``: sales-rep follow-up tasks and customer owners.

Every route needs ``edit``. Listing follows the page's rule
(:func:`guanxi.marketing.tasks.visible_assignee`): a user sees their own tasks,
an admin anyone's (``assignee=all`` or a username; an admin key sees
everyone's by default), a non-admin key is refused. Completing or reopening a
task is for its assignee or an admin — through ``/v1`` that means an admin API
key, since cookie sessions may only read ``/v1`` and a key is nobody's
assignee. Setting a customer's owner is for any ``edit`` role (audited).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from guanxi.marketing import tasks
from guanxi.web.auth import CanEdit, Principal
from guanxi.web.state import DbSession, State

router = APIRouter(tags=["tasks"])
TaskId = Annotated[int, Path(ge=1, le=2**63 - 1)]
CustomerKey = Annotated[str, Path(min_length=1, max_length=128)]
Limit = Annotated[int, Query(ge=1, le=500)]


class TaskPublic(BaseModel):
    """A task as stored; times are UTC."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: str
    customer_name: str | None
    assignee: str
    title: str
    body: str
    due_at: datetime
    overdue: bool = Field(description="open and past its due time")
    state: str = Field(description="open, done or cancelled")
    created_at: datetime
    done_at: datetime | None
    done_by: str | None
    campaign_key: str | None
    source: str = Field(description="campaign, journey or manual")
    payload: dict[str, Any]

    @classmethod
    def of(cls, task: tasks.Task, now: datetime) -> TaskPublic:
        return cls.model_validate(
            {
                **{name: getattr(task, name) for name in cls.model_fields if name != "overdue"},
                "overdue": task.is_overdue(now),
            }
        )


class OwnerUpdate(BaseModel):
    """The rep who owns the customer from now on (they take every new task about them)."""

    username: str = Field(min_length=2, max_length=64)


class OwnerPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: str
    username: str
    assigned_at: datetime
    assigned_by: str


def _username(principal: Principal) -> str | None:
    return principal.name if principal.kind == "user" else None


@router.get("/tasks", summary="List tasks")
def task_list(
    principal: CanEdit,
    session: DbSession,
    state: State,
    assignee: Annotated[str | None, Query(max_length=64)] = None,
    task_state: Annotated[tasks.TaskState | None, Query(alias="state")] = "open",
    limit: Limit = 200,
) -> list[TaskPublic]:
    """Open tasks soonest due first (``state=done``/``cancelled``: latest finished first)."""
    shown = tasks.visible_assignee(username=_username(principal), role=principal.role, requested=assignee)
    now = state.clock()
    return [
        TaskPublic.of(task, now)
        for task in tasks.list_tasks(session, assignee=shown, state=task_state, limit=limit)
    ]


@router.post("/tasks/{task_id}/done", summary="Mark a task done")
def mark_done(task_id: TaskId, principal: CanEdit, session: DbSession, state: State) -> TaskPublic:
    """Mark the task done (audited; already done: unchanged). A cancelled task answers 409."""
    task = tasks.get_task(session, task_id)
    tasks.check_may_change(task, username=_username(principal), role=principal.role)
    now = state.clock()
    task = tasks.complete_task(session, task_id, actor=principal.actor, now=now)
    session.commit()
    return TaskPublic.of(task, now)


@router.post("/tasks/{task_id}/reopen", summary="Reopen a task")
def reopen(task_id: TaskId, principal: CanEdit, session: DbSession, state: State) -> TaskPublic:
    """Open a done or cancelled task again (audited; already open: unchanged)."""
    task = tasks.get_task(session, task_id)
    tasks.check_may_change(task, username=_username(principal), role=principal.role)
    now = state.clock()
    task = tasks.reopen(session, task_id, actor=principal.actor, now=now)
    session.commit()
    return TaskPublic.of(task, now)


@router.put("/customers/{customer_id}/owner", summary="Set a customer's owning rep")
def set_owner(
    customer_id: CustomerKey, body: OwnerUpdate, principal: CanEdit, session: DbSession, state: State
) -> OwnerPublic:
    """Make ``username`` (an active user) the customer's owner (audited); open tasks keep their assignee."""
    owner = tasks.set_owner(session, customer_id, body.username, actor=principal.actor, now=state.clock())
    session.commit()
    return OwnerPublic.model_validate(owner)
