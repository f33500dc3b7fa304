"""Segment definitions in the app database: the ``segments`` table.

A definition is a key (stable, used by the warehouse membership tables and by
journeys), a display name, a description and the user-written spec as JSON.
Definitions are archived, never deleted, so history in the warehouse always
refers to a known key. Times are UTC (:class:`~guanxi.appdb.base.UTCDateTime`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from guanxi.appdb.base import Base, UTCDateTime


class Segment(Base):
    """One audience definition, with the outcome of its latest refresh."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    """Lower-case identifier (``[a-z0-9_-]``), never reused once archived."""
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The user-written spec (:class:`guanxi.segments.spec.SegmentSpec`) as plain JSON."""
    created_by: Mapped[str] = mapped_column(String(128))
    updated_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_as_of: Mapped[date | None] = mapped_column(Date, nullable=True)
    member_count: Mapped[int | None] = mapped_column(Integer, nullable=True)

    def __repr__(self) -> str:
        return f"Segment(key={self.key!r}, archived={self.archived!r})"
