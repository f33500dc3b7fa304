"""``guanxi init`` and ``guanxi users …`` against a real app database."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from typer.testing import CliRunner

from guanxi.appdb import users
from guanxi.appdb.audit import recent
from guanxi.appdb.database import make_engine, session_factory
from guanxi.cli import users as users_cli
from guanxi.config import Settings

runner = CliRunner()


@pytest.fixture
def env(app_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("GUANXI_APP_DB_URL", app_settings.app_db_url)
    monkeypatch.setenv("GUANXI_DATA_DIR", str(app_settings.data_dir))
    monkeypatch.setenv("GUANXI_ENV", "test")
    monkeypatch.delenv("GUANXI_ADMIN_PASSWORD", raising=False)
    return app_settings


def check_password(settings: Settings, username: str, password: str, now: datetime) -> bool:
    engine = make_engine(settings)
    try:
        with session_factory(engine)() as session:
            users.authenticate(session, username, password, now=now)
            return True
    except Exception:
        return False
    finally:
        engine.dispose()


def test_init_generates_and_prints_the_admin_password_once(env: Settings, now: datetime) -> None:
    first = runner.invoke(users_cli.init_app, [])
    assert first.exit_code == 0, first.output
    password = re.search(r"with password:\s+(\S+)", first.output)
    assert password
    assert check_password(env, "admin", password.group(1), now)
    second = runner.invoke(users_cli.init_app, [])
    assert "an active admin already exists" in second.output
    assert password.group(1) not in second.output


def test_init_takes_the_password_from_the_environment(
    env: Settings, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUANXI_ADMIN_PASSWORD", "from-env-secret")
    result = runner.invoke(users_cli.init_app, [])
    assert "with the password from GUANXI_ADMIN_PASSWORD" in result.output
    assert "from-env-secret" not in result.output
    assert check_password(env, "admin", "from-env-secret", now)


def test_add_list_set_role_deactivate(env: Settings, now: datetime) -> None:
    added = runner.invoke(
        users_cli.app,
        ["add", "Wang.Wei", "--role", "sales", "--display-name", "王伟", "--password-stdin"],
        input="wang-wei-pass\n",
    )
    assert added.exit_code == 0, added.output
    assert "created user wang.wei (sales)" in added.output
    assert check_password(env, "wang.wei", "wang-wei-pass", now)
    assert runner.invoke(users_cli.app, ["set-role", "wang.wei", "marketer"]).exit_code == 0
    assert runner.invoke(users_cli.app, ["deactivate", "wang.wei"]).exit_code == 0
    listing = runner.invoke(users_cli.app, ["list"]).output
    assert re.search(r"wang\.wei\s+│\s+王伟\s+│\s+marketer\s+│\s+zh-CN\s+│\s+no", listing)
    engine = make_engine(env)
    with session_factory(engine)() as session:
        assert [(e.actor, e.action) for e in recent(session, limit=3)] == [
            ("cli", "user.deactivate"),
            ("cli", "user.set_role"),
            ("cli", "user.create"),
        ]
    engine.dispose()


def test_add_prompts_twice_for_the_password(env: Settings, now: datetime) -> None:
    result = runner.invoke(users_cli.app, ["add", "li.na"], input="li-na-pass-1\nli-na-pass-1\n")
    assert result.exit_code == 0, result.output
    assert check_password(env, "li.na", "li-na-pass-1", now)


def test_errors_print_code_and_message_and_exit_2(env: Settings) -> None:
    missing = runner.invoke(users_cli.app, ["set-role", "ghost", "admin"])
    assert missing.exit_code == 2
    assert "[not_found]" in missing.output
    bad_role = runner.invoke(
        users_cli.app, ["add", "x1", "--role", "owner", "--password-stdin"], input="pass-word-1\n"
    )
    assert bad_role.exit_code == 2
    assert "admin, analyst, marketer, sales, viewer" in " ".join(bad_role.output.split())


def test_api_keys_from_the_command_line(env: Settings) -> None:
    issued = runner.invoke(users_cli.app, ["add-key", "ERP sync", "--role", "analyst"])
    assert issued.exit_code == 0, issued.output
    secret = re.search(r"(gx_[0-9a-f]{8}_\S+)", issued.output)
    assert secret
    prefix = secret.group(1)[:11]
    assert prefix in runner.invoke(users_cli.app, ["keys"]).output
    assert secret.group(1) not in runner.invoke(users_cli.app, ["keys"]).output
    revoked = runner.invoke(users_cli.app, ["revoke-key", prefix])
    assert f"API key {prefix} revoked" in revoked.output


def test_write_keys_from_the_command_line(env: Settings) -> None:
    issued = runner.invoke(
        users_cli.app, ["add-key", "website", "--scope", "ingest", "--scope", "api", "--source", "web"]
    )
    assert issued.exit_code == 0, issued.output
    assert "(viewer; api, ingest)" in issued.output
    assert "write key of a Segment client (source web)" in issued.output
    prefix = re.search(r"API key (gx_[0-9a-f]{8})", issued.output)
    assert prefix
    listing = runner.invoke(users_cli.app, ["keys"])
    row = next(line for line in listing.output.splitlines() if prefix.group(1) in line)
    assert "api, ingest (web)" in row
    bad = runner.invoke(users_cli.app, ["add-key", "x", "--scope", "write"])
    assert bad.exit_code == 2
    assert "unknown API key scope write" in bad.output
