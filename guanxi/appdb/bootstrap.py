"""First start: create the app database and make sure someone can administer it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.migrate import upgrade
from guanxi.appdb.roles import Role
from guanxi.appdb.users import count_active_admins, create_user, find_user
from guanxi.config import Settings
from guanxi.errors import AlreadyExistsError

ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class InitResult:
    """What :func:`initialise` did. ``generated_password`` is set only when guanxi chose it."""

    revision: str
    admin_created: bool
    admin_username: str | None
    generated_password: str | None


def initialise(
    settings: Settings,
    *,
    now: datetime,
    admin_password: str | None = None,
    engine: Engine | None = None,
) -> InitResult:
    """Migrate the app database to the newest revision and create an ``admin`` user if no active admin exists.

    Idempotent: a second call only confirms the revision. The admin's password
    is ``admin_password`` when given, else a random 16-character one returned
    in ``generated_password`` (to show once; it is not stored in clear).
    Raises ``already_exists`` when a non-admin user is already called ``admin``.
    """
    own = engine is None
    active = make_engine(settings) if engine is None else engine
    try:
        revision = upgrade(settings, engine=active)
        with session_factory(active)() as session, session.begin():
            if count_active_admins(session) > 0:
                return InitResult(revision, admin_created=False, admin_username=None, generated_password=None)
            if find_user(session, ADMIN_USERNAME) is not None:
                raise AlreadyExistsError(
                    "there is no active admin and the name 'admin' is taken; "
                    "promote someone with `guanxi users set-role USERNAME admin`"
                )
            generated = None if admin_password else secrets.token_urlsafe(12)
            create_user(
                session,
                username=ADMIN_USERNAME,
                password=admin_password or generated or "",
                role=Role.ADMIN,
                actor="cli",
                now=now,
                display_name="管理员" if settings.locale == "zh-CN" else "Administrator",
                locale=settings.locale,
            )
        return InitResult(
            revision, admin_created=True, admin_username=ADMIN_USERNAME, generated_password=generated
        )
    finally:
        if own:
            active.dispose()
