"""The audit log: who did what to which target, when, with details.

Every change to users, roles and API keys writes one entry in the same
transaction as the change, so a change without its entry never commits.
Entries are never updated or deleted by guanxi.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from guanxi.appdb.base import Base, UTCDateTime


class AuditEntry(Base):
    """One recorded action."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    """``user:<username>``, ``api_key:<prefix>`` or ``cli``."""
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(256))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to ``session`` (committed with the caller's transaction).

    ``detail`` must be JSON-able and must never hold a secret (passwords, keys).
    """
    entry = AuditEntry(at=now, actor=actor, action=action, target=target, detail=dict(detail or {}))
    session.add(entry)
    return entry


def recent(session: Session, *, limit: int = 50, offset: int = 0) -> list[AuditEntry]:
    """The newest entries first."""
    query = (
        select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset)
    )
    return list(session.scalars(query))
