"""Every ORM table of the app database, imported in one place.

Importing this module registers all tables on :data:`guanxi.appdb.base.Base.metadata`,
which is what the migrations are checked against.
"""

from __future__ import annotations

from guanxi.appdb.accounts import ApiKey, User
from guanxi.appdb.audit import AuditEntry

__all__ = ["ApiKey", "AuditEntry", "User"]
