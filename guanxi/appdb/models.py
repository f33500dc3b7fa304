"""Every ORM table of the app database, imported in one place.

Importing this module registers all tables on :data:`guanxi.appdb.base.Base.metadata`,
which is what the migrations are checked against.
"""

from __future__ import annotations

from guanxi.appdb.accounts import ApiKey, User
from guanxi.appdb.audit import AuditEntry
from guanxi.marketing.tables import Delivery, JourneyStepRun, OutboxMessage  # noqa: F401 - registers the outbox tables
from guanxi.segments.store import Segment  # noqa: F401 - registers the segments table

__all__ = ["ApiKey", "AuditEntry", "User"]
