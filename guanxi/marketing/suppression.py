"""The suppression list: addresses nothing may be sent to, transactional messages included.

An entry names a medium (or ``*`` for every medium) and an address, with a
reason: ``bounce`` (a hard bounce: the mailbox or number does not exist),
``complaint`` (marked as spam, a complaint to the provider), ``manual`` (by
hand) or ``invalid``. Unlike a revoked consent, which stops marketing only,
a suppressed address gets no message of any kind until the entry is lifted.

Guarantees: one active entry per (medium, address) — suppressing it again
keeps the first reason and time; lifting keeps the row with ``lifted_at`` so
the history stays readable. Every change is audited by the caller's actor in
the same transaction. Functions never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from guanxi.appdb.audit import record
from guanxi.appdb.base import Base, UTCDateTime
from guanxi.errors import NotFoundError, ValidationFailedError

ALL_MEDIA = "*"
REASONS = ("bounce", "complaint", "manual", "invalid")


class Suppression(Base):
    """One suppressed address (active while ``lifted_at`` is None)."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    medium: Mapped[str] = mapped_column(String(32), index=True)
    address: Mapped[str] = mapped_column(String(320), index=True)
    reason: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lifted_by: Mapped[str | None] = mapped_column(String(128), nullable=True)


def active_entry(session: Session, medium: str, address: str) -> Suppression | None:
    """The active entry for ``address`` on ``medium`` or on every medium, if any."""
    return session.scalars(
        select(Suppression)
        .where(
            Suppression.medium.in_([medium, ALL_MEDIA]),
            Suppression.address == address,
            Suppression.lifted_at.is_(None),
        )
        .order_by(Suppression.id)
    ).first()


def suppress(
    session: Session,
    *,
    medium: str,
    address: str,
    reason: str,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> Suppression:
    """Suppress ``address`` on ``medium`` (``*``: everywhere); returns the active entry (existing or new)."""
    if reason not in REASONS:
        raise ValidationFailedError(
            f"unknown suppression reason {reason!r}; use one of: {', '.join(REASONS)}"
        )
    existing = session.scalars(
        select(Suppression).where(
            Suppression.medium == medium, Suppression.address == address, Suppression.lifted_at.is_(None)
        )
    ).first()
    if existing is not None:
        return existing
    entry = Suppression(medium=medium, address=address, reason=reason, at=now, actor=actor, note=note)
    session.add(entry)
    record(
        session,
        actor=actor,
        action="suppression.add",
        target=f"{medium}:{address}",
        now=now,
        detail={"reason": reason},
    )
    return entry


def lift(session: Session, *, medium: str, address: str, actor: str, now: datetime) -> Suppression:
    """Lift the active entry of ``address`` on ``medium``; NotFoundError when there is none."""
    entry = session.scalars(
        select(Suppression).where(
            Suppression.medium == medium, Suppression.address == address, Suppression.lifted_at.is_(None)
        )
    ).first()
    if entry is None:
        raise NotFoundError(f"{address} is not suppressed on {medium}")
    entry.lifted_at, entry.lifted_by = now, actor
    record(session, actor=actor, action="suppression.lift", target=f"{medium}:{address}", now=now)
    return entry


def active(session: Session, media: Iterable[str] | None = None) -> list[tuple[str, str, str]]:
    """``(medium, address, reason)`` of every active entry on ``media`` (and ``*``), or all when None."""
    query = select(Suppression.medium, Suppression.address, Suppression.reason).where(
        Suppression.lifted_at.is_(None)
    )
    if media is not None:
        query = query.where(Suppression.medium.in_([*set(media), ALL_MEDIA]))
    return [(str(m), str(a), str(r)) for m, a, r in session.execute(query.order_by(Suppression.id))]


def list_entries(session: Session, *, include_lifted: bool = False, limit: int = 500) -> list[Suppression]:
    """The newest entries first."""
    query = select(Suppression)
    if not include_lifted:
        query = query.where(Suppression.lifted_at.is_(None))
    return list(session.scalars(query.order_by(Suppression.id.desc()).limit(limit)))
