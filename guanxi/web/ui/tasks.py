"""我的任务: a sales rep's follow-up tasks — open ones by due date (overdue marked), done ones, mark done, reopen.

Every route needs ``edit``. A user sees and changes their own tasks; an admin
may pick another rep's list (``?assignee=<username>``) or everyone's
(``?assignee=all``) and change any task. Completing and reopening are form
posts checked against the session's CSRF token; they answer with a redirect
back to the list the form was on. Another user's task answers 403.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from guanxi.appdb.roles import Role
from guanxi.appdb.users import USERNAME, list_users
from guanxi.marketing import tasks
from guanxi.web.auth import CanEdit, Principal
from guanxi.web.csrf import CsrfChecked
from guanxi.web.i18n import translator
from guanxi.web.pages import flash, locale_of, render
from guanxi.web.state import DbSession, State

router = APIRouter()
TaskId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Tab = Literal["open", "done"]
LIST_LIMIT = 200
"""The page shows at most 200 tasks of a tab."""


def username_of(principal: Principal) -> str | None:
    """The principal's username, or None for an API key (which has no tasks of its own)."""
    return principal.name if principal.kind == "user" else None


def list_address(tab: str, assignee: str) -> str:
    """``/tasks`` with the tab and assignee filter of a form, each kept only when valid."""
    query: dict[str, str] = {}
    if tab == "done":
        query["state"] = "done"
    if assignee == tasks.ALL or USERNAME.match(assignee):
        query["assignee"] = assignee
    return "/tasks" + ("?" + urlencode(query) if query else "")


@router.get("/tasks")
def task_list(
    request: Request,
    principal: CanEdit,
    session: DbSession,
    state: State,
    tab: Annotated[Tab, Query(alias="state")] = "open",
    assignee: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The chosen rep's (default: the caller's) open tasks soonest due first, or done ones latest first."""
    me = username_of(principal)
    shown = tasks.visible_assignee(username=me, role=principal.role, requested=assignee)
    now = state.clock()
    rows = tasks.list_tasks(session, assignee=shown, state=tab, limit=LIST_LIMIT)
    is_admin = principal.role is Role.ADMIN
    t = translator(locale_of(request, state))
    context: dict[str, Any] = {
        "tasks": rows,
        "tab": tab,
        "counts": tasks.count_tasks(session, assignee=shown),
        "now": now,
        "shown": shown,
        "mine": shown is not None and shown == me,
        "assignee_param": tasks.ALL if shown is None else ("" if shown == me else shown),
        "reps": [user.username for user in list_users(session) if user.active] if is_admin else [],
        "limit": LIST_LIMIT,
        "sources": {source: t(f"tasks.source.{source}") for source in tasks.SOURCES},
    }
    return render(request, state, "tasks.html", context, section="tasks")


def _change(
    request: Request,
    principal: Principal,
    session: DbSession,
    state: State,
    task_id: int,
    *,
    reopen: bool,
    back: str,
) -> Response:
    task = tasks.get_task(session, task_id)
    tasks.check_may_change(task, username=username_of(principal), role=principal.role)
    now = state.clock()
    if reopen:
        tasks.reopen(session, task_id, actor=principal.actor, now=now)
    else:
        tasks.complete_task(session, task_id, actor=principal.actor, now=now)
    session.commit()
    flash(request, "ok", "tasks.reopened" if reopen else "tasks.marked_done", id=task_id)
    return RedirectResponse(back, status_code=303)


@router.post("/tasks/{task_id}/done")
def mark_done(
    request: Request,
    task_id: TaskId,
    principal: CanEdit,
    _csrf: CsrfChecked,
    session: DbSession,
    state: State,
    back_state: Annotated[str, Form(max_length=16)] = "open",
    back_assignee: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Mark the task done (already done: nothing changes); back to the list the form was on."""
    back = list_address(back_state, back_assignee)
    return _change(request, principal, session, state, task_id, reopen=False, back=back)


@router.post("/tasks/{task_id}/reopen")
def reopen(
    request: Request,
    task_id: TaskId,
    principal: CanEdit,
    _csrf: CsrfChecked,
    session: DbSession,
    state: State,
    back_state: Annotated[str, Form(max_length=16)] = "done",
    back_assignee: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Open a done or cancelled task again; back to the list the form was on."""
    back = list_address(back_state, back_assignee)
    return _change(request, principal, session, state, task_id, reopen=True, back=back)
