"""Managing users: create, authenticate, change role, deactivate.

Every function takes the caller's :class:`~sqlalchemy.orm.Session` and ``now``
(an aware datetime) and flushes but does not commit: the caller commits the
change together with its audit entry, or rolls both back. Every change is
recorded in the audit log; a password never appears in an entry.

Guarantees: at least one active admin always remains (demoting or deactivating
the last one raises ``last_admin``); a user's sessions die when their password,
role or active flag changes (the ``security_stamp`` rotates).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from guanxi.appdb import audit
from guanxi.appdb.accounts import LOCALES, User
from guanxi.appdb.errors import LastAdminError
from guanxi.appdb.passwords import (
    DUMMY_HASH,
    check_password_rules,
    hash_password,
    needs_rehash,
    verify_password,
)
from guanxi.appdb.roles import Role
from guanxi.errors import AlreadyExistsError, AuthError, NotFoundError, ValidationFailedError

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def normalise_username(username: str) -> str:
    """The canonical (lower-case, trimmed) form of a username.

    Raises :class:`~guanxi.errors.ValidationFailedError` unless it is 2–64 of
    ``a-z 0-9 . _ -`` starting with a letter or digit.
    """
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise ValidationFailedError(
            f"invalid username {username!r}: use 2-64 characters a-z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit",
        )
    return name


def check_locale(locale: str) -> str:
    """``locale`` if the interface speaks it, else :class:`~guanxi.errors.ValidationFailedError`."""
    if locale not in LOCALES:
        raise ValidationFailedError(f"unknown locale {locale!r}; use one of: {', '.join(LOCALES)}")
    return locale


def new_stamp() -> str:
    return secrets.token_hex(16)


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    actor: str,
    now: datetime,
    display_name: str | None = None,
    locale: str = "zh-CN",
) -> User:
    """Create an active user. Raises ``validation_failed`` or ``already_exists``."""
    name = normalise_username(username)
    check_password_rules(password)
    check_locale(locale)
    shown = (display_name or "").strip() or name
    if len(shown) > 128:
        raise ValidationFailedError("the display name must have at most 128 characters")
    if find_user(session, name) is not None:
        raise AlreadyExistsError(f"a user named {name!r} already exists")
    user = User(
        username=name,
        display_name=shown,
        password_hash=hash_password(password),
        role=role,
        locale=locale,
        active=True,
        security_stamp=new_stamp(),
        created_at=now,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as err:
        raise AlreadyExistsError(f"a user named {name!r} already exists") from err
    audit.record(
        session,
        actor=actor,
        action="user.create",
        target=f"user:{name}",
        now=now,
        detail={"role": role.value, "display_name": shown, "locale": locale},
    )
    return user


def find_user(session: Session, username: str) -> User | None:
    """The user with this username (any case), or ``None``."""
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def get_user(session: Session, user_id: int) -> User:
    """The user with this id; raises :class:`NotFoundError`."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    return user


def user_named(session: Session, username: str) -> User:
    """The user with this username; raises :class:`NotFoundError`."""
    user = find_user(session, username)
    if user is None:
        raise NotFoundError(f"no user named {username!r}; list them with `guanxi users list`")
    return user


def list_users(session: Session) -> list[User]:
    """All users, active first, then by username."""
    return list(session.scalars(select(User).order_by(User.active.desc(), User.username)))


def count_active_admins(session: Session) -> int:
    query = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active.is_(True))
    return int(session.scalar(query) or 0)


def authenticate(session: Session, username: str, password: str, *, now: datetime) -> User:
    """The active user with these credentials; raises :class:`AuthError` otherwise.

    Unknown user, wrong password and deactivated user give the same error and
    take about the same time (an argon2 check runs in every case). A hash made
    with older parameters is upgraded. Sign-ins and failures are audited.
    """
    user = find_user(session, username)
    ok = verify_password(user.password_hash if user is not None else DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        audit.record(
            session,
            actor="anonymous",
            action="user.sign_in_failed",
            target=f"user:{username.strip().lower()[:64]}",
            now=now,
        )
        raise AuthError("wrong username or password")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    audit.record(
        session, actor=f"user:{user.username}", action="user.sign_in", target=f"user:{user.username}", now=now
    )
    session.flush()
    return user


def set_role(session: Session, user: User, role: Role, *, actor: str, now: datetime) -> User:
    """Give ``user`` a new role. Raises ``last_admin`` when it would leave no active admin."""
    if user.role == role:
        return user
    if user.role == Role.ADMIN and user.active and count_active_admins(session) <= 1:
        raise LastAdminError(f"{user.username!r} is the last active admin; make another user admin first")
    previous = user.role
    user.role = role
    user.security_stamp = new_stamp()
    audit.record(
        session,
        actor=actor,
        action="user.set_role",
        target=f"user:{user.username}",
        now=now,
        detail={"from": previous.value, "to": role.value},
    )
    session.flush()
    return user


def deactivate(session: Session, user: User, *, actor: str, now: datetime) -> User:
    """Stop ``user`` from signing in; ends their sessions. Idempotent.

    Raises ``last_admin`` when it would leave no active admin.
    """
    if not user.active:
        return user
    if user.role == Role.ADMIN and count_active_admins(session) <= 1:
        raise LastAdminError(f"{user.username!r} is the last active admin; make another user admin first")
    user.active = False
    user.security_stamp = new_stamp()
    audit.record(session, actor=actor, action="user.deactivate", target=f"user:{user.username}", now=now)
    session.flush()
    return user


def reactivate(session: Session, user: User, *, actor: str, now: datetime) -> User:
    """Let a deactivated user sign in again. Idempotent."""
    if user.active:
        return user
    user.active = True
    user.security_stamp = new_stamp()
    audit.record(session, actor=actor, action="user.reactivate", target=f"user:{user.username}", now=now)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str, *, actor: str, now: datetime) -> User:
    """Replace the password; ends the user's other sessions."""
    check_password_rules(password)
    user.password_hash = hash_password(password)
    user.security_stamp = new_stamp()
    audit.record(session, actor=actor, action="user.set_password", target=f"user:{user.username}", now=now)
    session.flush()
    return user


def set_locale(session: Session, user: User, locale: str) -> User:
    """Remember the interface language the user chose (a preference: not audited)."""
    user.locale = check_locale(locale)
    session.flush()
    return user
