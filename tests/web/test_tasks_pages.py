"""我的任务: a rep sees their own tasks (overdue marked) in Chinese and marks them done; others may not;
``/v1/tasks`` and ``/v1/customers/{id}/owner`` follow the same rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import select

from guanxi.appdb.api_keys import issue_api_key
from guanxi.appdb.audit import AuditEntry
from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.roles import Permission, Role
from guanxi.config import Settings
from guanxi.marketing import tasks
from guanxi.plugins import hookimpl, plugin_manager, using_plugins
from guanxi.web.pages import MenuItem

from .conftest import csrf_of, sign_in


class TasksWebPlugin:
    """The tasks page, API, menu entry, words and tables, as guanxi's plugins will register them."""

    @hookimpl
    def register_appdb_tables(self) -> list[str]:
        return ["guanxi.marketing.tasks"]

    @hookimpl
    def register_pages(self) -> list[APIRouter]:
        from guanxi.web.ui import tasks as ui  # noqa: PLC0415

        return [ui.router]

    @hookimpl
    def register_api_routes(self) -> list[APIRouter]:
        from guanxi.web.api import tasks as api  # noqa: PLC0415

        return [api.router]

    @hookimpl
    def menu_items(self) -> list[MenuItem]:
        return [MenuItem("nav.tasks", "/tasks", Permission.EDIT, "tasks", order=250)]

    @hookimpl
    def register_translations(self) -> dict[str, dict[str, str]]:
        from guanxi.web.i18n import tasks as words  # noqa: PLC0415

        return dict(words.MESSAGES)


def tasks_page_registered() -> bool:
    from guanxi.web.ui import tasks as ui  # noqa: PLC0415

    return any(ui.router in routers for routers in plugin_manager().hook.register_pages())


@pytest.fixture(autouse=True)
def tasks_web() -> Iterator[None]:
    """Register the tasks page for these tests unless guanxi's own plugins already do."""
    if tasks_page_registered():
        yield
        return
    with using_plugins(TasksWebPlugin()):
        yield


@pytest.fixture
def seed(app_settings: Settings, now: datetime) -> Callable[..., int]:
    """``seed(assignee, title, due_in=timedelta(...), customer_id=...)`` stores an open task; returns its id."""

    def add(assignee: str, title: str, *, due_in: timedelta = timedelta(hours=4), **extra: Any) -> int:
        engine = make_engine(app_settings)
        try:
            with session_factory(engine)() as session, session.begin():
                task = tasks.create_task(
                    session,
                    idempotency_key=f"seed:{assignee}:{title}",
                    customer_id=extra.pop("customer_id", "1001"),
                    title=title,
                    body=extra.pop("body", ""),
                    due_at=now + due_in,
                    now=now,
                    pool=[assignee],
                    source=extra.pop("source", "campaign"),
                    **extra,
                )
                return task.id
        finally:
            engine.dispose()

    return add


def stored(app_settings: Settings, task_id: int) -> tasks.Task:
    engine = make_engine(app_settings)
    try:
        with session_factory(engine)() as session:
            return tasks.get_task(session, task_id)
    finally:
        engine.dispose()


@pytest.fixture
def reps(add_user: Callable[..., None]) -> None:
    add_user("alice", Role.SALES, display_name="王丽")
    add_user("bob", Role.SALES)


def rows(page: str) -> list[str]:
    return [part.split('"', 1)[0] for part in page.split('data-task="')[1:]]


def test_a_rep_sees_their_open_tasks_in_chinese_soonest_due_first_with_overdue_marked(
    client: TestClient, reps: None, seed: Callable[..., int]
) -> None:
    later = seed(
        "alice", "寄送样品", due_in=timedelta(days=2), customer_id="1002", campaign_key="spring-2026"
    )
    overdue = seed("alice", "回访张伟", due_in=timedelta(hours=-3), customer_name="张伟", body="询问试用感受")
    seed("bob", "鲍勃的任务")
    assert sign_in(client, "alice").status_code == 303
    page = client.get("/tasks")
    assert page.status_code == 200
    html = page.text
    assert "<h1>我的任务</h1>" in html
    assert 'href="/tasks"' in html  # the menu entry
    assert rows(html) == [str(overdue), str(later)]
    assert html.count('data-overdue="true"') == 1
    assert "已逾期" in html
    assert '<a href="/customers/1001">张伟</a>' in html
    assert "询问试用感受" in html
    assert "spring-2026" in html
    assert "营销活动" in html
    assert "鲍勃的任务" not in html


def test_marking_done_moves_the_task_to_the_done_tab_and_reopen_brings_it_back(
    client: TestClient, reps: None, seed: Callable[..., int], app_settings: Settings, now: datetime
) -> None:
    task_id = seed("alice", "回访")
    sign_in(client, "alice")
    token = csrf_of(client.get("/tasks").text)
    done = client.post(f"/tasks/{task_id}/done", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/tasks"
    after = client.get("/tasks").text
    assert f"任务 #{task_id} 已完成。" in after
    assert rows(after) == []
    assert "没有待办任务。" in after
    assert rows(client.get("/tasks?state=done").text) == [str(task_id)]
    task = stored(app_settings, task_id)
    assert (task.state, task.done_by, task.done_at) == ("done", "user:alice", now)
    back = client.post(
        f"/tasks/{task_id}/reopen", data={"csrf_token": token, "back_state": "done"}, follow_redirects=False
    )
    assert back.headers["location"] == "/tasks?state=done"
    assert stored(app_settings, task_id).state == "open"


def test_another_rep_cannot_mark_my_task_done(
    client: TestClient, reps: None, seed: Callable[..., int], app_settings: Settings
) -> None:
    task_id = seed("alice", "回访")
    sign_in(client, "bob")
    token = csrf_of(client.get("/tasks").text)
    response = client.post(
        f"/tasks/{task_id}/done", data={"csrf_token": token}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert stored(app_settings, task_id).state == "open"
    assert client.get("/tasks?assignee=alice", headers={"Accept": "application/json"}).status_code == 403


def test_a_post_without_the_csrf_token_changes_nothing(
    client: TestClient, reps: None, seed: Callable[..., int], app_settings: Settings
) -> None:
    task_id = seed("alice", "回访")
    sign_in(client, "alice")
    response = client.post(f"/tasks/{task_id}/done", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert stored(app_settings, task_id).state == "open"


def test_a_viewer_has_no_tasks_page_and_cannot_mark_done(
    as_role: Callable[[Role], TestClient], reps: None, seed: Callable[..., int], app_settings: Settings
) -> None:
    task_id = seed("alice", "回访")
    client = as_role(Role.VIEWER)
    token = csrf_of(client.get("/").text)
    assert 'href="/tasks"' not in client.get("/").text
    assert client.get("/tasks", headers={"Accept": "application/json"}).status_code == 403
    response = client.post(
        f"/tasks/{task_id}/done", data={"csrf_token": token}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 403
    assert stored(app_settings, task_id).state == "open"


def test_an_admin_sees_everyones_tasks_and_may_complete_any(
    as_role: Callable[[Role], TestClient], reps: None, seed: Callable[..., int], app_settings: Settings
) -> None:
    mine, theirs = seed("alice", "甲"), seed("bob", "乙")
    admin = as_role(Role.ADMIN)
    everyone = admin.get("/tasks?assignee=all").text
    assert "全部销售任务" in everyone
    assert sorted(rows(everyone)) == sorted([str(mine), str(theirs)])
    assert rows(admin.get("/tasks?assignee=bob").text) == [str(theirs)]
    assert rows(admin.get("/tasks").text) == []  # the admin's own list
    token = csrf_of(everyone)
    response = admin.post(
        f"/tasks/{theirs}/done", data={"csrf_token": token, "back_assignee": "all"}, follow_redirects=False
    )
    assert response.headers["location"] == "/tasks?assignee=all"
    assert stored(app_settings, theirs).done_by == "user:admin"


def test_the_page_speaks_english_when_asked(client: TestClient, reps: None, seed: Callable[..., int]) -> None:
    seed("alice", "Call back", due_in=timedelta(hours=-1))
    sign_in(client, "alice")
    page = client.get("/tasks?lang=en").text
    assert "<h1>My tasks</h1>" in page
    assert "Overdue" in page
    assert "Mark done" in page


# --- /v1 -----------------------------------------------------------------------------------------------


def api_key(app_settings: Settings, now: datetime, role: Role) -> dict[str, str]:
    engine = make_engine(app_settings)
    try:
        with session_factory(engine)() as session, session.begin():
            issued = issue_api_key(session, name=f"{role.value} key", role=role, actor="cli", now=now)
        return {"X-API-Key": issued.secret}
    finally:
        engine.dispose()


def test_the_api_lists_a_users_own_tasks_to_their_session(
    client: TestClient, reps: None, seed: Callable[..., int], now: datetime
) -> None:
    overdue = seed("alice", "回访", due_in=timedelta(hours=-1), customer_name="张伟")
    seed("bob", "乙")
    sign_in(client, "alice")
    listed = client.get("/v1/tasks")
    assert listed.status_code == 200
    [task] = listed.json()
    assert (task["id"], task["assignee"], task["customer_name"], task["overdue"]) == (
        overdue,
        "alice",
        "张伟",
        True,
    )
    assert client.get("/v1/tasks?assignee=bob").status_code == 403
    assert client.post(f"/v1/tasks/{overdue}/done").status_code == 401  # cookie sessions only read /v1


def test_an_admin_key_lists_everyones_tasks_and_marks_one_done(
    client: TestClient, reps: None, seed: Callable[..., int], app_settings: Settings, now: datetime
) -> None:
    first, second = seed("alice", "甲"), seed("bob", "乙")
    headers = api_key(app_settings, now, Role.ADMIN)
    assert {t["id"] for t in client.get("/v1/tasks", headers=headers).json()} == {first, second}
    assert [t["id"] for t in client.get("/v1/tasks?assignee=bob", headers=headers).json()] == [second]
    done = client.post(f"/v1/tasks/{first}/done", headers=headers)
    assert done.status_code == 200
    assert done.json()["state"] == "done"
    assert done.json()["done_by"].startswith("api_key:")
    assert [t["id"] for t in client.get("/v1/tasks?state=done", headers=headers).json()] == [first]
    assert client.post("/v1/tasks/999/done", headers=headers).status_code == 404


def test_a_sales_key_may_not_complete_a_reps_task(
    client: TestClient, reps: None, seed: Callable[..., int], app_settings: Settings, now: datetime
) -> None:
    task_id = seed("alice", "甲")
    headers = api_key(app_settings, now, Role.SALES)
    assert client.post(f"/v1/tasks/{task_id}/done", headers=headers).status_code == 403
    assert client.get("/v1/tasks", headers=headers).status_code == 403
    assert client.get("/v1/tasks", headers=api_key(app_settings, now, Role.VIEWER)).status_code == 403


def test_setting_a_customers_owner_routes_their_next_task_to_that_rep(
    client: TestClient, reps: None, app_settings: Settings, now: datetime
) -> None:
    headers = api_key(app_settings, now, Role.MARKETER)
    response = client.put("/v1/customers/1001/owner", json={"username": "bob"}, headers=headers)
    assert response.status_code == 200
    assert response.json()["username"] == "bob"
    unknown = client.put("/v1/customers/1001/owner", json={"username": "nobody"}, headers=headers)
    assert unknown.status_code == 404
    viewer = api_key(app_settings, now, Role.VIEWER)
    assert (
        client.put("/v1/customers/1001/owner", json={"username": "alice"}, headers=viewer).status_code == 403
    )
    engine = make_engine(app_settings)
    try:
        with session_factory(engine)() as session:
            task = tasks.create_task(
                session,
                idempotency_key="k",
                customer_id="1001",
                title="回访",
                body="",
                due_at=now,
                now=now,
                pool=["alice"],
                source="manual",
            )
            assert task.assignee == "bob"
            owner_entries = session.scalars(
                select(AuditEntry).where(AuditEntry.action == "customer.owner")
            ).all()
            assert [e.detail["owner"] for e in owner_entries] == ["bob"]
    finally:
        engine.dispose()
