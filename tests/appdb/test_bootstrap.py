"""First start: migrate and make sure an admin exists, exactly once."""

from __future__ import annotations

from datetime import datetime

import pytest

from guanxi.appdb import users
from guanxi.appdb.bootstrap import initialise
from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.migrate import head_revision, upgrade
from guanxi.appdb.roles import Role
from guanxi.config import Settings
from guanxi.errors import GuanxiError


def test_first_init_creates_an_admin_with_the_given_password(app_settings: Settings, now: datetime) -> None:
    result = initialise(app_settings, now=now, admin_password="from-the-env-1")
    assert (result.revision, result.admin_created, result.generated_password) == (head_revision(), True, None)
    engine = make_engine(app_settings)
    with session_factory(engine)() as session:
        admin = users.authenticate(session, "admin", "from-the-env-1", now=now)
        assert admin.role is Role.ADMIN
        assert admin.display_name == "管理员"
    engine.dispose()


def test_generated_password_is_returned_once_and_works(app_settings: Settings, now: datetime) -> None:
    first = initialise(app_settings, now=now)
    second = initialise(app_settings, now=now)
    assert first.generated_password is not None
    assert len(first.generated_password) == 16
    assert (second.admin_created, second.generated_password) == (False, None)
    engine = make_engine(app_settings)
    with session_factory(engine)() as session:
        assert users.authenticate(session, "admin", first.generated_password, now=now).username == "admin"
    engine.dispose()


def test_init_refuses_when_admin_name_is_taken_by_a_non_admin(app_settings: Settings, now: datetime) -> None:
    engine = make_engine(app_settings)
    upgrade(app_settings, engine=engine)
    with session_factory(engine)() as session, session.begin():
        users.create_user(
            session, username="admin", password="viewer-pass", role=Role.VIEWER, actor="cli", now=now
        )
    engine.dispose()
    with pytest.raises(GuanxiError, match="promote someone") as info:
        initialise(app_settings, now=now)
    assert info.value.code == "already_exists"
