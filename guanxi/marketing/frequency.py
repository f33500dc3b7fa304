"""Frequency caps: how many marketing messages one person got (or will get) in a window.

Every customer-facing message put in the outbox for a known customer leaves a
:class:`Contact` row at the time it is due to go out, across every channel and
campaign, journeys included. A cap "at most N marketing messages per person
per D days" counts the contacts of the person whose time falls in
``(t − D days, t]`` and whose message was not withdrawn (cancelled or
suppressed before it went out). Transactional messages are logged but never
counted. Functions never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from guanxi.appdb.base import Base, UTCDateTime
from guanxi.config import Settings
from guanxi.marketing.outbox import OutboxMessage

WITHDRAWN_STATES = ("cancelled", "suppressed")
"""Outbox states of messages that will never reach the person: they do not count."""


class Contact(Base):
    """One message to one person at one time (for caps)."""

    __tablename__ = "marketing_contacts"
    __table_args__ = (Index("ix_marketing_contacts_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(32))
    transactional: Mapped[bool] = mapped_column(Boolean, default=False)
    campaign_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)


@dataclass(frozen=True)
class CapRule:
    """At most ``messages`` marketing messages per person per ``days`` days (0 messages: none at all)."""

    messages: int
    days: float

    @classmethod
    def from_settings(cls, settings: Settings) -> CapRule:
        return cls(settings.marketing_cap_messages, settings.marketing_cap_days)


def log_contacts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add contacts in one statement; each row has customer_id, at, channel, transactional, campaign_id, message_id."""
    if rows:
        session.execute(insert(Contact), list(rows))


def counts_in_window(session: Session, *, until: datetime, days: float) -> list[tuple[str, int]]:
    """``(customer_id, marketing contacts)`` for everyone contacted in ``(until − days, until]``.

    Contacts whose outbox message was withdrawn do not count. One grouped
    query for every customer (the send path joins it to the audience).
    """
    since = until - timedelta(days=days)
    query = (
        select(Contact.customer_id, func.count())
        .outerjoin(OutboxMessage, OutboxMessage.id == Contact.message_id)
        .where(
            Contact.at > since,
            Contact.at <= until,
            Contact.transactional.is_(False),
            (OutboxMessage.state.is_(None)) | (OutboxMessage.state.not_in(WITHDRAWN_STATES)),
        )
        .group_by(Contact.customer_id)
    )
    return [(str(customer), int(count)) for customer, count in session.execute(query)]


def count_for(session: Session, customer_id: str, *, until: datetime, days: float) -> int:
    """The marketing contacts of one person in ``(until − days, until]`` (journeys check one at a time)."""
    since = until - timedelta(days=days)
    query = (
        select(func.count())
        .select_from(Contact)
        .outerjoin(OutboxMessage, OutboxMessage.id == Contact.message_id)
        .where(
            Contact.customer_id == customer_id,
            Contact.at > since,
            Contact.at <= until,
            Contact.transactional.is_(False),
            (OutboxMessage.state.is_(None)) | (OutboxMessage.state.not_in(WITHDRAWN_STATES)),
        )
    )
    return int(session.scalar(query) or 0)
