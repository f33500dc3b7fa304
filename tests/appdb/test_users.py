"""Creating, authenticating and administering users; every change audited."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.appdb import users
from guanxi.appdb.accounts import User
from guanxi.appdb.audit import AuditEntry, recent
from guanxi.appdb.roles import Role
from guanxi.errors import AuthError, GuanxiError, NotFoundError


def make_user(session: Session, now: datetime, name: str = "li.na", role: Role = Role.ANALYST) -> User:
    return users.create_user(
        session, username=name, password="s3cret-pass", role=role, actor="cli", now=now, display_name="李娜"
    )


def test_create_user_normalises_the_name_and_stores_only_a_hash(app_session: Session, now: datetime) -> None:
    user = users.create_user(
        app_session, username="  Li.Na ", password="s3cret-pass", role=Role.ANALYST, actor="cli", now=now
    )
    assert user.username == "li.na"
    assert user.display_name == "li.na"
    assert user.password_hash.startswith("$argon2id$")
    assert user.active
    assert user.locale == "zh-CN"
    assert user.created_at == now


def test_create_user_is_audited_without_the_password(app_session: Session, now: datetime) -> None:
    make_user(app_session, now)
    entry = app_session.scalars(select(AuditEntry)).one()
    assert (entry.actor, entry.action, entry.target) == ("cli", "user.create", "user:li.na")
    assert entry.detail == {"role": "analyst", "display_name": "李娜", "locale": "zh-CN"}
    assert "s3cret-pass" not in str(entry.detail)


def test_duplicate_username_in_any_case_is_refused(app_session: Session, now: datetime) -> None:
    make_user(app_session, now)
    with pytest.raises(GuanxiError) as info:
        make_user(app_session, now, name="LI.NA")
    assert info.value.code == "already_exists"


@pytest.mark.parametrize("name", ["a", "-lead", "wang wei", "王伟", "x" * 65])
def test_invalid_usernames_are_refused(name: str) -> None:
    with pytest.raises(GuanxiError) as info:
        users.normalise_username(name)
    assert info.value.code == "validation_failed"


def test_authenticate_returns_the_user_and_records_the_sign_in(app_session: Session, now: datetime) -> None:
    make_user(app_session, now)
    later = now + timedelta(hours=1)
    user = users.authenticate(app_session, "LI.NA", "s3cret-pass", now=later)
    assert user.username == "li.na"
    assert user.last_login_at == later
    assert recent(app_session, limit=1)[0].action == "user.sign_in"


@pytest.mark.parametrize(("name", "password"), [("li.na", "wrong-pass"), ("nobody", "s3cret-pass")])
def test_wrong_credentials_give_one_error_and_an_audit_entry(
    app_session: Session, now: datetime, name: str, password: str
) -> None:
    make_user(app_session, now)
    with pytest.raises(AuthError, match="wrong username or password"):
        users.authenticate(app_session, name, password, now=now)
    assert recent(app_session, limit=1)[0].action == "user.sign_in_failed"


def test_deactivated_user_cannot_sign_in_and_loses_sessions(app_session: Session, now: datetime) -> None:
    make_user(app_session, now, name="boss", role=Role.ADMIN)
    user = make_user(app_session, now)
    stamp = user.security_stamp
    users.deactivate(app_session, user, actor="user:boss", now=now)
    assert not user.active
    assert user.security_stamp != stamp
    with pytest.raises(AuthError):
        users.authenticate(app_session, "li.na", "s3cret-pass", now=now)
    users.reactivate(app_session, user, actor="user:boss", now=now)
    assert users.authenticate(app_session, "li.na", "s3cret-pass", now=now) is user


def test_set_role_records_old_and_new_role(app_session: Session, now: datetime) -> None:
    user = make_user(app_session, now)
    users.set_role(app_session, user, Role.VIEWER, actor="user:boss", now=now)
    entry = recent(app_session, limit=1)[0]
    assert (entry.action, entry.target, entry.detail) == (
        "user.set_role",
        "user:li.na",
        {"from": "analyst", "to": "viewer"},
    )
    assert user.role is Role.VIEWER


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(
    app_session: Session, now: datetime
) -> None:
    boss = make_user(app_session, now, name="boss", role=Role.ADMIN)
    for change in (
        lambda: users.set_role(app_session, boss, Role.VIEWER, actor="user:boss", now=now),
        lambda: users.deactivate(app_session, boss, actor="user:boss", now=now),
    ):
        with pytest.raises(GuanxiError) as info:
            change()
        assert info.value.code == "last_admin"
    second = make_user(app_session, now, name="deputy", role=Role.ADMIN)
    users.set_role(app_session, boss, Role.VIEWER, actor="user:deputy", now=now)
    assert users.count_active_admins(app_session) == 1
    assert second.role is Role.ADMIN


def test_set_password_replaces_the_hash_and_rotates_the_stamp(app_session: Session, now: datetime) -> None:
    user = make_user(app_session, now)
    stamp = user.security_stamp
    users.set_password(app_session, user, "another-pass", actor="user:li.na", now=now)
    assert user.security_stamp != stamp
    assert users.authenticate(app_session, "li.na", "another-pass", now=now) is user


def test_set_locale_accepts_known_locales_only(app_session: Session, now: datetime) -> None:
    user = make_user(app_session, now)
    users.set_locale(app_session, user, "en")
    assert user.locale == "en"
    with pytest.raises(GuanxiError):
        users.set_locale(app_session, user, "fr")


def test_list_users_puts_active_first_then_by_name(app_session: Session, now: datetime) -> None:
    make_user(app_session, now, name="boss", role=Role.ADMIN)
    zed = make_user(app_session, now, name="zed")
    make_user(app_session, now, name="amy")
    users.deactivate(app_session, zed, actor="user:boss", now=now)
    assert [u.username for u in users.list_users(app_session)] == ["amy", "boss", "zed"]


def test_unknown_user_lookups_raise_not_found(app_session: Session) -> None:
    with pytest.raises(NotFoundError):
        users.get_user(app_session, 404)
    with pytest.raises(NotFoundError):
        users.user_named(app_session, "ghost")
