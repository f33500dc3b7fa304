"""Campaign rows in the app database.

* :class:`Campaign` — one per campaign key, with its status and current definition;
* :class:`CampaignVersion` — every saved definition (``version`` 1, 2, …), never changed afterwards;
* :class:`CampaignWave` — one per wave: when it is due, the version it was built from, its state and the
  counts after each rule of the send path;
* :class:`CampaignRecipient` — one per person per wave: the outcome (``queued`` or the rule that left
  them out), the channel and the outbox message. Unique per (campaign, wave, customer), so a rebuilt
  wave never adds a person twice.

Statuses: ``draft`` → ``scheduled`` (launched, first wave not yet due) → ``running`` → ``completed``;
``paused`` and ``cancelled`` by hand. Wave states: ``waiting``, ``building``, ``queued`` (its messages are
in the outbox), ``cancelled``, ``failed``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from guanxi.appdb.base import Base, UTCDateTime

DRAFT, SCHEDULED, RUNNING, PAUSED, COMPLETED, CANCELLED = (
    "draft",
    "scheduled",
    "running",
    "paused",
    "completed",
    "cancelled",
)
STATUSES = (DRAFT, SCHEDULED, RUNNING, PAUSED, COMPLETED, CANCELLED)
WAVE_WAITING, WAVE_BUILDING, WAVE_QUEUED, WAVE_CANCELLED, WAVE_FAILED = (
    "waiting",
    "building",
    "queued",
    "cancelled",
    "failed",
)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(32))
    transactional: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    version: Mapped[int] = mapped_column(Integer, default=1)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    launched_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CampaignVersion(Base):
    __tablename__ = "campaign_versions"
    __table_args__ = (UniqueConstraint("campaign_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))


class CampaignWave(Base):
    __tablename__ = "campaign_waves"
    __table_args__ = (
        UniqueConstraint("campaign_id", "wave_index"),
        Index("ix_campaign_waves_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    wave_index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16), default=WAVE_WAITING)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class CampaignRecipient(Base):
    __tablename__ = "campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "wave_index", "customer_id"),
        Index("ix_campaign_recipients_customer", "campaign_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    wave_index: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    address: Mapped[str | None] = mapped_column(String(320), nullable=True)
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
