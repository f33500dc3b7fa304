"""Journey rows in the app database.

* :class:`Journey` — one per journey key: its status, newest version and the
  trigger cursor (the end of the last trigger window evaluated);
* :class:`JourneyVersion` — every saved definition (``version`` 1, 2, …), never
  changed afterwards; a customer stays on the version they entered;
* :class:`JourneyEnrollment` — one per (journey, customer, occurrence): the
  customer entered on that occasion (an order, a birthday year …). Unique, so
  an occasion found twice enters once.

Statuses: ``draft`` → ``active`` ⇄ ``paused`` → ``archived``. Enrollment states:
``active`` (taking steps), ``completed`` (ran out of steps), ``exited`` (an
``exit`` step), ``goal`` (reached the exit goal), ``control`` (held out: recorded,
never messaged), ``stopped`` (the journey was archived while they were in it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from guanxi.appdb.base import Base, UTCDateTime

DRAFT, ACTIVE, PAUSED, ARCHIVED = "draft", "active", "paused", "archived"
STATUSES = (DRAFT, ACTIVE, PAUSED, ARCHIVED)

IN_JOURNEY, COMPLETED, EXITED, GOAL, CONTROL, STOPPED = (
    "active",
    "completed",
    "exited",
    "goal",
    "control",
    "stopped",
)
ENROLLMENT_STATES = (IN_JOURNEY, COMPLETED, EXITED, GOAL, CONTROL, STOPPED)
ENDED_STATES = (COMPLETED, EXITED, GOAL, STOPPED)


class Journey(Base):
    __tablename__ = "journeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    version: Mapped[int] = mapped_column(Integer, default=1)
    recipe: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The recipe the journey was installed from, if any."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cursor: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    """Triggers have been evaluated for every occasion before this instant."""
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Why the last trigger pass failed (cleared by the next good one)."""

    def __repr__(self) -> str:
        return f"Journey(key={self.key!r}, status={self.status!r}, version={self.version})"


class JourneyVersion(Base):
    __tablename__ = "journey_versions"
    __table_args__ = (UniqueConstraint("journey_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text, default="")
    """The YAML the user wrote (comments and order kept), or empty when saved as JSON."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))


class JourneyEnrollment(Base):
    __tablename__ = "journey_enrollments"
    __table_args__ = (
        UniqueConstraint("journey_key", "customer_id", "occurrence_key"),
        Index("ix_journey_enrollments_customer", "customer_id", "entered_at"),
        Index("ix_journey_enrollments_state", "journey_key", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    journey_key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[str] = mapped_column(String(128))
    occurrence_key: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    """When the occasion happened (the order's reminder time, the birthday …), when the trigger says."""
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    control: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default=IN_JOURNEY)
    step: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The step the customer is at (the last one scheduled)."""
    variant: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The A/B variant an ``split`` step put the customer in."""
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def __repr__(self) -> str:
        return (
            f"JourneyEnrollment(journey={self.journey_key!r}, customer={self.customer_id!r}, "
            f"occurrence={self.occurrence_key!r}, state={self.state!r})"
        )
