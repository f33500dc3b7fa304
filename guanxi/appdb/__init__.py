"""The app database: users, roles, API keys and the audit log (SQLAlchemy 2 + Alembic).

Build an engine with :func:`make_engine(settings) <guanxi.appdb.database.make_engine>`,
migrate with :func:`upgrade(settings) <guanxi.appdb.migrate.upgrade>`, and pass
sessions from :func:`session_factory` to the services in :mod:`~guanxi.appdb.users`
and :mod:`~guanxi.appdb.api_keys`. Nothing connects at import time.
"""

from __future__ import annotations

from guanxi.appdb.accounts import LOCALES, ApiKey, User
from guanxi.appdb.audit import AuditEntry
from guanxi.appdb.base import Base
from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.migrate import current_revision, head_revision, upgrade
from guanxi.appdb.roles import PERMISSIONS, Permission, Role, allows

__all__ = [
    "LOCALES",
    "PERMISSIONS",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Permission",
    "Role",
    "User",
    "allows",
    "current_revision",
    "head_revision",
    "make_engine",
    "session_factory",
    "upgrade",
]
