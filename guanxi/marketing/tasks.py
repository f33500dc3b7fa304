"""Sales-rep tasks: follow-ups a campaign, a journey or a person hands to one rep.

A :class:`Task` asks one user (its ``assignee``) to act on one customer by
``due_at``; a :class:`CustomerOwner` names the rep who owns a customer (the
sales CRM will fill it later; :func:`set_owner` sets it now).

Life of a task::

    open ──complete──► done ──reopen──► open
      └────cancel────► cancelled ──reopen──► open

Guarantees:

* **Idempotent creation.** :func:`create_task` makes at most one task per
  ``idempotency_key`` (``INSERT … ON CONFLICT DO NOTHING`` through
  :func:`~guanxi.appdb.leasing.insert_once`); a repeat returns the stored task
  unchanged, without choosing an assignee again.
* **Assignment.** The customer's owner takes the task when one is set and is an
  active user (whether or not they are in the pool). Otherwise the active member
  of ``pool`` with the fewest *open* tasks takes it, ties going to the earlier
  pool member. This balances load without a stored cursor: a rep who joins,
  leaves or clears their list is accounted for at once, and there is no shared
  counter row to lock. Two concurrent creators may pick the same rep (both see
  the same counts); the next tasks even that out. Nobody able to take the task
  raises :class:`TaskNoAssigneeError` (permanent).
* **Audit.** Every creation and change writes one audit entry in the caller's
  transaction (actions ``task.create``, ``task.done``, ``task.reopen``,
  ``task.cancel``, ``customer.owner``). Two concurrent creators of one key make
  one task; each may record a ``task.create`` entry for it.
* Every function works in the caller's session, flushes at most, and never
  commits. Times are aware datetimes, stored as UTC.

Errors::

    GuanxiError
    └── MarketingError
        └── TaskNoAssigneeError    task_no_assignee   409   no owner and no active pool member (permanent)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, Index, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from guanxi.appdb import audit
from guanxi.appdb.accounts import User
from guanxi.appdb.base import Base, UTCDateTime
from guanxi.appdb.leasing import insert_once
from guanxi.appdb.roles import Role
from guanxi.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailedError
from guanxi.marketing.errors import MarketingError

TaskState = Literal["open", "done", "cancelled"]
TaskSource = Literal["campaign", "journey", "manual"]
STATES: tuple[TaskState, ...] = ("open", "done", "cancelled")
SOURCES: tuple[TaskSource, ...] = ("campaign", "journey", "manual")
TITLE_LENGTH = 255


class TaskNoAssigneeError(MarketingError):
    """Neither the customer's owner nor any pool member is an active user."""

    code = "task_no_assignee"
    http_status = 409
    permanent = True


class Task(Base):
    """One follow-up for one rep about one customer."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_assignee_state_due", "assignee", "state", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    customer_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    assignee: Mapped[str] = mapped_column(String(64))
    """The username of the rep who should act."""
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    body: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    """The actor (``user:<name>``, ``cli`` …) who completed or cancelled it."""
    campaign_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The campaign (or journey, when ``source`` is ``journey``) that made it."""
    source: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def is_overdue(self, now: datetime) -> bool:
        """Open and past its due time at ``now``."""
        return self.state == "open" and self.due_at < now

    def __repr__(self) -> str:
        return f"Task(id={self.id!r}, assignee={self.assignee!r}, state={self.state!r})"


class CustomerOwner(Base):
    """The rep who owns a customer: they take every task about that customer."""

    __tablename__ = "customer_owners"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    assigned_by: Mapped[str] = mapped_column(String(128))


def create_task(
    session: Session,
    *,
    idempotency_key: str,
    customer_id: str,
    title: str,
    body: str,
    due_at: datetime,
    now: datetime,
    pool: Sequence[str],
    source: TaskSource,
    campaign_key: str | None = None,
    customer_name: str | None = None,
    payload: dict[str, Any] | None = None,
    actor: str = "system",
) -> Task:
    """The task for ``idempotency_key``: the stored one, or a new open task assigned as the module says.

    Raises :class:`TaskNoAssigneeError` (permanent) when nobody can take a new
    task, :class:`~guanxi.errors.ValidationFailedError` for an empty title or
    customer id, an unknown ``source`` or a naive time.
    """
    existing = session.scalar(select(Task).where(Task.idempotency_key == idempotency_key))
    if existing is not None:
        return existing
    title = title.strip()
    if not title:
        raise ValidationFailedError("a task needs a title")
    if not customer_id.strip():
        raise ValidationFailedError("a task needs a customer id")
    if source not in SOURCES:
        raise ValidationFailedError(f"unknown task source {source!r}; use one of: {', '.join(SOURCES)}")
    if due_at.tzinfo is None or now.tzinfo is None:
        raise ValidationFailedError("task times must be timezone-aware")
    assignee = choose_assignee(session, customer_id, pool)
    # insert_once only needs a unique key column; its TypeVar is bound to LeasedWork for no deeper reason.
    task = insert_once(  # type: ignore[type-var]
        session,
        Task,
        Task.idempotency_key,
        {
            "idempotency_key": idempotency_key,
            "customer_id": customer_id,
            "customer_name": customer_name,
            "assignee": assignee,
            "title": title[:TITLE_LENGTH],
            "body": body,
            "due_at": due_at,
            "state": "open",
            "created_at": now,
            "campaign_key": campaign_key[:64] if campaign_key else None,
            "source": source,
            "payload": dict(payload or {}),
        },
    )
    audit.record(
        session,
        actor=actor,
        action="task.create",
        target=f"task:{task.id}",
        now=now,
        detail={"customer_id": customer_id, "assignee": task.assignee, "source": source},
    )
    return task


def choose_assignee(session: Session, customer_id: str, pool: Sequence[str]) -> str:
    """Who would take a new task about ``customer_id`` now (see the module docstring); no change made.

    Raises :class:`TaskNoAssigneeError` when nobody can.
    """
    owner = owner_of(session, customer_id)
    if owner is not None and _active_usernames(session, [owner.username]):
        return owner.username
    members = list(dict.fromkeys(name.strip().lower() for name in pool if name.strip()))
    active = _active_usernames(session, members)
    candidates = [name for name in members if name in active]
    if not candidates:
        owner_note = f"its owner {owner.username!r} is inactive" if owner else "it has no owner"
        raise TaskNoAssigneeError(
            f"nobody can take a task about customer {customer_id!r}: {owner_note} and the pool "
            f"({', '.join(members) or 'empty'}) has no active user; set GUANXI_TASKS_POOL or the "
            "customer's owner (`guanxi tasks owner`)"
        )
    open_counts: dict[str, int] = dict(
        session.execute(
            select(Task.assignee, func.count())
            .where(Task.state == "open", Task.assignee.in_(candidates))
            .group_by(Task.assignee)
        ).all()
    )
    return min(candidates, key=lambda name: (open_counts.get(name, 0), candidates.index(name)))


def list_tasks(
    session: Session,
    *,
    assignee: str | None = None,
    state: TaskState | None = "open",
    limit: int = 200,
) -> list[Task]:
    """Tasks of ``assignee`` (None: everyone's) in ``state`` (None: any).

    Open tasks come soonest due first; done and cancelled ones most recently
    finished first; ties by id.
    """
    query = select(Task)
    if assignee is not None:
        query = query.where(Task.assignee == assignee.strip().lower())
    if state is not None:
        query = query.where(Task.state == state)
    if state == "open":
        query = query.order_by(Task.due_at, Task.id)
    else:
        query = query.order_by(Task.done_at.desc(), Task.due_at, Task.id)
    return list(session.scalars(query.limit(limit)))


def count_tasks(session: Session, *, assignee: str | None = None) -> dict[str, int]:
    """State → number of tasks of ``assignee`` (None: everyone's); every state present, zeros included."""
    query = select(Task.state, func.count()).group_by(Task.state)
    if assignee is not None:
        query = query.where(Task.assignee == assignee.strip().lower())
    found: dict[str, int] = dict(session.execute(query).all())
    return {state: found.get(state, 0) for state in STATES}


def get_task(session: Session, task_id: int) -> Task:
    """The task with this id; raises :class:`~guanxi.errors.NotFoundError`."""
    task = session.get(Task, task_id)
    if task is None:
        raise NotFoundError(f"no task with id {task_id}; list them with `guanxi tasks list`")
    return task


ALL = "all"
"""The ``assignee`` filter value meaning everyone's tasks (admins only)."""


def may_change(task: Task, *, username: str | None, role: Role) -> bool:
    """Whether a caller may complete or reopen ``task``: its assignee, or any admin. Pure.

    ``username`` is None for a caller that is not a user (an API key): only an
    admin key may then.
    """
    return role is Role.ADMIN or (username is not None and task.assignee == username)


def check_may_change(task: Task, *, username: str | None, role: Role) -> None:
    """Raise :class:`~guanxi.errors.PermissionDeniedError` unless :func:`may_change` allows it."""
    if not may_change(task, username=username, role=role):
        raise PermissionDeniedError(
            f"task {task.id} belongs to {task.assignee}; only they or an admin may change it"
        )


def visible_assignee(*, username: str | None, role: Role, requested: str | None) -> str | None:
    """Whose tasks a caller may list when asking for ``requested``; None means everyone's. Pure.

    A user sees their own tasks (``requested`` None or their own name). An admin
    may ask for :data:`ALL` or any username; an admin API key (``username``
    None) sees everyone's unless it names one. Raises
    :class:`~guanxi.errors.PermissionDeniedError` for anything else.
    """
    wanted = requested.strip().lower() if requested and requested.strip() else None
    if role is Role.ADMIN:
        if wanted == ALL or (wanted is None and username is None):
            return None
        return wanted or username
    if username is None:
        raise PermissionDeniedError("only an admin API key may list tasks: a key has no tasks of its own")
    if wanted is None or wanted == username:
        return username
    raise PermissionDeniedError("only an admin may see another rep's tasks")


def complete_task(session: Session, task_id: int, *, actor: str, now: datetime) -> Task:
    """Mark the task done by ``actor`` at ``now``; a done task stays as it is (idempotent, no entry).

    Raises NotFoundError, or ConflictError for a cancelled task.
    """
    task = get_task(session, task_id)
    if task.state == "done":
        return task
    if task.state == "cancelled":
        raise ConflictError(f"task {task_id} was cancelled; reopen it first")
    return _finish(session, task, "done", actor=actor, now=now)


def cancel_task(session: Session, task_id: int, *, actor: str, now: datetime) -> Task:
    """Cancel an open task; a cancelled one stays as it is. Raises NotFoundError, or ConflictError when done."""
    task = get_task(session, task_id)
    if task.state == "cancelled":
        return task
    if task.state == "done":
        raise ConflictError(f"task {task_id} is done; reopen it first")
    return _finish(session, task, "cancelled", actor=actor, now=now)


def reopen(session: Session, task_id: int, *, actor: str, now: datetime) -> Task:
    """Open a done or cancelled task again (its finish time and actor are cleared); an open one stays.

    Raises NotFoundError.
    """
    task = get_task(session, task_id)
    if task.state == "open":
        return task
    previous = task.state
    task.state, task.done_at, task.done_by = "open", None, None
    audit.record(
        session,
        actor=actor,
        action="task.reopen",
        target=f"task:{task.id}",
        now=now,
        detail={"from": previous},
    )
    session.flush()
    return task


def set_owner(
    session: Session, customer_id: str, username: str, *, actor: str, now: datetime
) -> CustomerOwner:
    """Make ``username`` the owner of ``customer_id`` (replacing any owner); open tasks keep their assignee.

    Raises NotFoundError for an unknown user, ValidationFailedError for an
    inactive one or an empty customer id.
    """
    if not customer_id.strip():
        raise ValidationFailedError("a customer id is required")
    name = username.strip().lower()
    user = session.scalar(select(User).where(User.username == name))
    if user is None:
        raise NotFoundError(f"no user named {username!r}; list them with `guanxi users list`")
    if not user.active:
        raise ValidationFailedError(f"user {name!r} is inactive and cannot own customers")
    owner = session.get(CustomerOwner, customer_id)
    previous = owner.username if owner else None
    if owner is None:
        owner = CustomerOwner(customer_id=customer_id, username=name, assigned_at=now, assigned_by=actor)
        session.add(owner)
    else:
        owner.username, owner.assigned_at, owner.assigned_by = name, now, actor
    audit.record(
        session,
        actor=actor,
        action="customer.owner",
        target=f"customer:{customer_id}",
        now=now,
        detail={"owner": name, "previous": previous},
    )
    session.flush()
    return owner


def owner_of(session: Session, customer_id: str) -> CustomerOwner | None:
    """The customer's owner record, or None when nobody owns them."""
    return session.get(CustomerOwner, customer_id)


def _finish(session: Session, task: Task, state: TaskState, *, actor: str, now: datetime) -> Task:
    task.state, task.done_at, task.done_by = state, now, actor
    audit.record(
        session,
        actor=actor,
        action="task.done" if state == "done" else "task.cancel",
        target=f"task:{task.id}",
        now=now,
    )
    session.flush()
    return task


def _active_usernames(session: Session, names: Sequence[str]) -> set[str]:
    if not names:
        return set()
    return set(session.scalars(select(User.username).where(User.username.in_(names), User.active.is_(True))))
