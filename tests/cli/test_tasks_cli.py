"""``guanxi tasks …`` against a real app database: list, done, reopen, owner, add."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from guanxi.appdb import passwords
from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.migrate import upgrade
from guanxi.appdb.roles import Role
from guanxi.appdb.users import create_user
from guanxi.cli import tasks as tasks_cli
from guanxi.config import Settings
from guanxi.marketing import tasks
from tests.appdb_fixtures import app_settings, now

__all__ = ["app_settings", "now"]

runner = CliRunner()


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def env(app_settings: Settings, monkeypatch: pytest.MonkeyPatch, now: datetime) -> Settings:
    """The CLI's environment points at a migrated app database with reps alice and bob."""
    monkeypatch.setenv("GUANXI_APP_DB_URL", app_settings.app_db_url)
    monkeypatch.setenv("GUANXI_DATA_DIR", str(app_settings.data_dir))
    monkeypatch.setenv("GUANXI_ENV", "test")
    monkeypatch.setenv("GUANXI_TIMEZONE", "Asia/Shanghai")
    upgrade(app_settings)
    engine = make_engine(app_settings)
    with session_factory(engine)() as session, session.begin():
        for name in ("alice", "bob"):
            create_user(
                session, username=name, password="pass-word-123", role=Role.SALES, actor="cli", now=now
            )
    engine.dispose()
    return app_settings


def seed(settings: Settings, now: datetime, key: str, pool: list[str], **extra: object) -> int:
    engine = make_engine(settings)
    try:
        with session_factory(engine)() as session, session.begin():
            return tasks.create_task(
                session,
                idempotency_key=key,
                customer_id=str(extra.get("customer_id", "1001")),
                title=str(extra.get("title", "回访客户")),
                body="",
                due_at=now + timedelta(hours=2),
                now=now,
                pool=pool,
                source="campaign",
                campaign_key="spring-2026",
            ).id
    finally:
        engine.dispose()


def stored(settings: Settings, task_id: int) -> tasks.Task:
    engine = make_engine(settings)
    try:
        with session_factory(engine)() as session:
            return tasks.get_task(session, task_id)
    finally:
        engine.dispose()


def test_list_shows_open_tasks_with_local_due_times_and_filters_by_assignee(
    env: Settings, now: datetime
) -> None:
    seed(env, now, "a", ["alice"], title="回访张伟")
    seed(env, now, "b", ["bob"], title="寄样品")
    everyone = runner.invoke(tasks_cli.app, ["list"])
    assert everyone.exit_code == 0, everyone.output
    assert "回访张伟" in everyone.output
    assert "寄样品" in everyone.output
    assert "2026-03-01 19:30" in everyone.output  # 09:30 UTC + 2 h, in Shanghai
    only_bob = runner.invoke(tasks_cli.app, ["list", "--assignee", "bob"])
    assert "寄样品" in only_bob.output
    assert "回访张伟" not in only_bob.output


def test_done_marks_a_task_done_and_reopen_opens_it(env: Settings, now: datetime) -> None:
    task_id = seed(env, now, "a", ["alice"])
    done = runner.invoke(tasks_cli.app, ["done", str(task_id)])
    assert done.exit_code == 0, done.output
    assert f"task {task_id} is done" in done.output
    assert (stored(env, task_id).state, stored(env, task_id).done_by) == ("done", "cli")
    assert str(task_id) in runner.invoke(tasks_cli.app, ["list", "--state", "done"]).output
    assert runner.invoke(tasks_cli.app, ["reopen", str(task_id)]).exit_code == 0
    assert stored(env, task_id).state == "open"


def test_done_on_an_unknown_task_fails_cleanly(env: Settings) -> None:
    result = runner.invoke(tasks_cli.app, ["done", "999"])
    assert result.exit_code == 2
    assert "[not_found]" in result.output


def test_owner_routes_the_customers_next_task_to_that_rep(env: Settings, now: datetime) -> None:
    result = runner.invoke(tasks_cli.app, ["owner", "1001", "bob"])
    assert result.exit_code == 0, result.output
    assert "owned by bob" in result.output
    task_id = seed(env, now, "a", ["alice"])
    assert stored(env, task_id).assignee == "bob"
    unknown = runner.invoke(tasks_cli.app, ["owner", "1001", "nobody"])
    assert unknown.exit_code == 2
    assert "[not_found]" in unknown.output


def test_add_makes_a_manual_task_and_nobody_to_assign_is_a_clean_error(env: Settings) -> None:
    added = runner.invoke(tasks_cli.app, ["add", "1002", "打电话", "--pool", "ghost,bob"])
    assert added.exit_code == 0, added.output
    assert "for bob" in added.output
    refused = runner.invoke(tasks_cli.app, ["add", "1003", "打电话", "--pool", "ghost"])
    assert refused.exit_code == 2
    assert "[task_no_assignee]" in refused.output
