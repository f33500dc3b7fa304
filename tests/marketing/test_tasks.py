"""Sales-rep tasks: idempotent creation, owner first, fair round-robin over active reps; the ``task`` channel."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.appdb import passwords
from guanxi.appdb.audit import AuditEntry
from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.roles import Role
from guanxi.appdb.users import create_user, deactivate, user_named
from guanxi.config import Settings
from guanxi.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailedError
from guanxi.marketing import tasks
from guanxi.marketing.channels import Envelope
from guanxi.marketing.channels.task import TaskChannel, TaskSettings
from guanxi.marketing.errors import PermanentDeliveryError, TransientDeliveryError, is_permanent
from guanxi.marketing.tasks import Task, TaskNoAssigneeError

REPS = ("alice", "bob", "carol")


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small Argon2 parameters: these tests create many users and never test passwords."""
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def add_rep(session: Session, name: str, now: datetime, *, role: Role = Role.SALES) -> None:
    create_user(session, username=name, password="pass-word-123", role=role, actor="cli", now=now)


@pytest.fixture
def reps(app_session: Session, now: datetime) -> tuple[str, ...]:
    for name in REPS:
        add_rep(app_session, name, now)
    app_session.commit()
    return REPS


def new_task(session: Session, key: str, now: datetime, **overrides: object) -> Task:
    values: dict[str, object] = {
        "idempotency_key": key,
        "customer_id": "1001",
        "title": "回访客户",
        "body": "询问对新品的意见",
        "due_at": now + timedelta(hours=24),
        "now": now,
        "pool": REPS,
        "source": "campaign",
        **overrides,
    }
    return tasks.create_task(session, **values)  # type: ignore[arg-type]


def test_creating_twice_with_one_key_makes_one_task(
    app_session: Session, reps: tuple[str, ...], now: datetime
) -> None:
    first = new_task(app_session, "k1", now)
    again = new_task(app_session, "k1", now, title="something else", pool=["bob"])
    assert again.id == first.id
    assert again.title == "回访客户"
    assert app_session.scalar(select(func.count()).select_from(Task)) == 1
    creations = app_session.scalars(select(AuditEntry).where(AuditEntry.action == "task.create")).all()
    assert [entry.target for entry in creations] == [f"task:{first.id}"]


def test_six_tasks_over_three_reps_give_each_two_in_pool_order(
    app_session: Session, reps: tuple[str, ...], now: datetime
) -> None:
    assignees = [new_task(app_session, f"k{i}", now, customer_id=str(2000 + i)).assignee for i in range(6)]
    assert assignees == ["alice", "bob", "carol", "alice", "bob", "carol"]
    assert Counter(assignees) == {"alice": 2, "bob": 2, "carol": 2}


def test_the_rep_with_fewest_open_tasks_is_chosen_so_done_work_frees_a_rep(
    app_session: Session, reps: tuple[str, ...], now: datetime
) -> None:
    first = new_task(app_session, "k0", now, customer_id="1")
    new_task(app_session, "k1", now, customer_id="2")
    new_task(app_session, "k2", now, customer_id="3")
    tasks.complete_task(app_session, first.id, actor="user:alice", now=now)
    assert new_task(app_session, "k3", now, customer_id="4").assignee == "alice"


def test_the_customers_owner_takes_the_task_even_outside_the_pool(
    app_session: Session, reps: tuple[str, ...], now: datetime
) -> None:
    add_rep(app_session, "dave", now)
    tasks.set_owner(app_session, "1001", "dave", actor="cli", now=now)
    assert new_task(app_session, "k1", now).assignee == "dave"
    owner = tasks.owner_of(app_session, "1001")
    assert owner is not None
    assert (owner.username, owner.assigned_by) == ("dave", "cli")


def test_an_inactive_owner_or_pool_member_is_skipped(
    app_session: Session, reps: tuple[str, ...], now: datetime
) -> None:
    tasks.set_owner(app_session, "1001", "alice", actor="cli", now=now)
    deactivate(app_session, user_named(app_session, "alice"), actor="cli", now=now)
    assignees = [new_task(app_session, f"k{i}", now).assignee for i in range(4)]
    assert assignees == ["bob", "carol", "bob", "carol"]


def test_nobody_to_assign_is_a_permanent_error(
    app_session: Session, reps: tuple[str, ...], now: datetime
) -> None:
    with pytest.raises(TaskNoAssigneeError, match="has no owner") as raised:
        new_task(app_session, "k1", now, pool=["nobody", "ghost"])
    assert raised.value.code == "task_no_assignee"
    assert is_permanent(raised.value)
    assert app_session.scalar(select(func.count()).select_from(Task)) == 0


def test_a_naive_due_time_or_empty_title_is_refused(
    app_session: Session, reps: tuple[str, ...], now: datetime
) -> None:
    with pytest.raises(ValidationFailedError, match="timezone-aware"):
        new_task(app_session, "k1", now, due_at=datetime(2026, 3, 2, 9, 0))  # noqa: DTZ001 - the point
    with pytest.raises(ValidationFailedError, match="title"):
        new_task(app_session, "k2", now, title="  ")


def test_completing_reopening_and_listing_by_state(
    app_session: Session, reps: tuple[str, ...], now: datetime
) -> None:
    late = new_task(app_session, "late", now, due_at=now + timedelta(hours=48))
    soon = new_task(app_session, "soon", now, due_at=now + timedelta(hours=1), pool=["alice"])
    assert [t.idempotency_key for t in tasks.list_tasks(app_session, assignee="alice")] == ["soon", "late"]
    done = tasks.complete_task(app_session, soon.id, actor="user:alice", now=now + timedelta(minutes=5))
    assert (done.state, done.done_by, done.done_at) == ("done", "user:alice", now + timedelta(minutes=5))
    assert tasks.complete_task(app_session, soon.id, actor="user:bob", now=now).done_by == "user:alice"
    assert [t.id for t in tasks.list_tasks(app_session, assignee="alice", state="done")] == [soon.id]
    assert tasks.count_tasks(app_session, assignee="alice") == {"open": 1, "done": 1, "cancelled": 0}
    reopened = tasks.reopen(app_session, soon.id, actor="user:alice", now=now)
    assert (reopened.state, reopened.done_at, reopened.done_by) == ("open", None, None)
    tasks.cancel_task(app_session, late.id, actor="cli", now=now)
    with pytest.raises(ConflictError, match="cancelled"):
        tasks.complete_task(app_session, late.id, actor="cli", now=now)
    actions = app_session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert [a for a in actions if a.startswith("task.")] == [
        "task.create",
        "task.create",
        "task.done",
        "task.reopen",
        "task.cancel",
    ]
    with pytest.raises(NotFoundError):
        tasks.complete_task(app_session, 999, actor="cli", now=now)


def test_an_overdue_task_is_open_and_past_due(
    app_session: Session, reps: tuple[str, ...], now: datetime
) -> None:
    task = new_task(app_session, "k1", now, due_at=now - timedelta(minutes=1))
    assert task.is_overdue(now)
    assert not task.is_overdue(now - timedelta(hours=1))
    tasks.complete_task(app_session, task.id, actor="cli", now=now)
    assert not task.is_overdue(now)


def test_owner_must_be_an_active_user(app_session: Session, reps: tuple[str, ...], now: datetime) -> None:
    with pytest.raises(NotFoundError):
        tasks.set_owner(app_session, "1001", "nobody", actor="cli", now=now)
    deactivate(app_session, user_named(app_session, "bob"), actor="cli", now=now)
    with pytest.raises(ValidationFailedError, match="inactive"):
        tasks.set_owner(app_session, "1001", "bob", actor="cli", now=now)


@pytest.mark.parametrize(
    ("username", "role", "requested", "shown"),
    [
        ("alice", Role.SALES, None, "alice"),
        ("alice", Role.SALES, "alice", "alice"),
        ("root", Role.ADMIN, None, "root"),
        ("root", Role.ADMIN, "all", None),
        ("root", Role.ADMIN, "bob", "bob"),
        (None, Role.ADMIN, None, None),
    ],
)
def test_who_sees_whose_tasks(
    username: str | None, role: Role, requested: str | None, shown: str | None
) -> None:
    assert tasks.visible_assignee(username=username, role=role, requested=requested) == shown


@pytest.mark.parametrize(("username", "requested"), [("alice", "bob"), ("alice", "all"), (None, None)])
def test_only_admins_see_other_reps_tasks(username: str | None, requested: str | None) -> None:
    with pytest.raises(PermissionDeniedError):
        tasks.visible_assignee(username=username, role=Role.MARKETER, requested=requested)


# --- the task channel -------------------------------------------------------------------------------


@pytest.fixture
def channel_with(
    app_engine: object, app_settings: Settings, now: datetime
) -> Iterator[Callable[..., TaskChannel]]:
    """``channel_with(pool=…)``: a task channel on the test's migrated app database, its clock at ``now``."""
    made: list[TaskChannel] = []

    def build(**kwargs: object) -> TaskChannel:
        channel = TaskChannel(app_settings.app_db_url, clock=lambda: now, **kwargs)  # type: ignore[arg-type]
        made.append(channel)
        return channel

    yield build
    for channel in made:
        channel.close()


def envelope(key: str = "outbox:1", **payload: object) -> Envelope:
    return Envelope(
        channel="task",
        recipient="1001",
        subject="邀请参加新品试用",
        body="电话邀请客户本周六到店",
        idempotency_key=key,
        payload=dict(payload),
    )


def stored(settings: Settings) -> list[Task]:
    engine = make_engine(settings)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(Task).order_by(Task.id)))
    finally:
        engine.dispose()


def test_a_message_becomes_a_task_and_a_resend_makes_no_second_one(
    app_session: Session,
    reps: tuple[str, ...],
    channel_with: Callable[..., TaskChannel],
    app_settings: Settings,
    now: datetime,
) -> None:
    channel = channel_with(pool=REPS)
    message = envelope(campaign="spring-2026", task={"customer_name": "张伟", "due_hours": 4})
    first = channel.send(message)
    assert channel.send(message) == first
    [task] = stored(app_settings)
    assert first == f"task:{task.id}"
    assert (task.assignee, task.title, task.body) == ("alice", "邀请参加新品试用", "电话邀请客户本周六到店")
    assert (task.customer_id, task.customer_name, task.campaign_key, task.source) == (
        "1001",
        "张伟",
        "spring-2026",
        "campaign",
    )
    assert task.due_at == now + timedelta(hours=4)
    assert task.idempotency_key == "outbox:1"


def test_the_payload_may_set_title_due_time_and_pool(
    app_session: Session,
    reps: tuple[str, ...],
    channel_with: Callable[..., TaskChannel],
    app_settings: Settings,
) -> None:
    channel = channel_with(pool=REPS, due=timedelta(hours=24))
    channel.send(
        envelope(
            journey="welcome",
            task={"title": "欢迎电话", "due_at": "2026-03-02T10:00:00+08:00", "pool": ["carol"]},
        )
    )
    [task] = stored(app_settings)
    assert (task.title, task.assignee, task.source, task.campaign_key) == (
        "欢迎电话",
        "carol",
        "journey",
        "welcome",
    )
    assert task.due_at == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def test_the_channel_default_due_time_applies(
    app_session: Session,
    reps: tuple[str, ...],
    channel_with: Callable[..., TaskChannel],
    app_settings: Settings,
    now: datetime,
) -> None:
    channel_with(pool=REPS, due=timedelta(hours=24)).send(envelope())
    assert stored(app_settings)[0].due_at == now + timedelta(hours=24)


def test_no_assignee_is_a_permanent_delivery_error(
    app_session: Session,
    reps: tuple[str, ...],
    channel_with: Callable[..., TaskChannel],
    app_settings: Settings,
) -> None:
    with pytest.raises(PermanentDeliveryError) as raised:
        channel_with(pool=["ghost"]).send(envelope())
    assert raised.value.code == "task_no_assignee"
    assert stored(app_settings) == []


@pytest.mark.parametrize(
    "spec",
    [
        {"due_at": "tomorrow"},
        {"due_at": "2026-03-02T10:00:00"},
        {"due_hours": -1},
        {"pool": "alice"},
        {"title": 3},
    ],
)
def test_a_malformed_task_payload_is_permanent(
    app_session: Session,
    reps: tuple[str, ...],
    channel_with: Callable[..., TaskChannel],
    spec: dict[str, object],
) -> None:
    with pytest.raises(PermanentDeliveryError) as raised:
        channel_with(pool=REPS).send(envelope(task=spec))
    assert raised.value.code == "task_payload_invalid"


def test_an_unreachable_database_is_transient(now: datetime) -> None:
    channel = TaskChannel(
        "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1", pool=REPS, clock=lambda: now
    )
    try:
        with pytest.raises(TransientDeliveryError) as raised:
            channel.send(envelope())
        assert raised.value.code == "task_db_unavailable"
        assert "nobody" not in str(raised.value)
    finally:
        channel.close()


def test_settings_read_the_pool_and_the_shared_app_database_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUANXI_TASKS_POOL", " alice, bob ,,carol")
    monkeypatch.setenv("GUANXI_TASKS_DUE_HOURS", "8")
    monkeypatch.setenv("GUANXI_APP_DB_URL", "sqlite:////tmp/elsewhere.sqlite")
    settings = TaskSettings()
    assert settings.pool_members == REPS
    assert settings.due_hours == 8
    assert settings.app_db_url == "sqlite:////tmp/elsewhere.sqlite"
    channel = TaskChannel.from_settings(settings)
    assert (channel.pool, channel.due) == (REPS, timedelta(hours=8))
    channel.close()
