"""The consent ledger: who agreed to hear from us on which medium, when, and on what proof.

Consent is kept per **contact point**: a medium (``email``, ``sms``,
``wechat`` …, the ``medium`` of a channel definition) and an address on it (a
lower-cased e-mail, an E.164 phone, an ``appid/openid``). A person's consent
follows their addresses, so a merge or split of customers never loses it; the
customer id is recorded beside it when known.

Guarantees
----------
* **History kept.** Every change appends a :class:`ConsentRecord` (state,
  source, time, actor, proof: IP, user agent, file, batch …); nothing is
  updated or deleted. :class:`ConsentState` holds the latest state per contact
  point for the send path to read in one query.
* **Idempotent.** Recording the state a contact point already has, or a
  change already in its history (same state, source and time), adds nothing,
  so a re-imported file or a second click on an unsubscribe link leaves the
  ledger as it was.
* **Latest wins by time.** A record older than the current state (an import of
  last year's file) is kept in the history but does not replace a newer state.

States: ``granted`` (may receive marketing), ``pending`` (double opt-in mail
sent, not yet confirmed: not granted), ``revoked`` (unsubscribed). A contact
point with no record has no consent. Functions work in the caller's
transaction and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from guanxi.appdb.base import Base, UTCDateTime
from guanxi.errors import ValidationFailedError
from guanxi.ingest.contacts import normalize_email, normalize_phone

GRANTED = "granted"
PENDING = "pending"
REVOKED = "revoked"
STATES = (GRANTED, PENDING, REVOKED)
ConsentStateName = Literal["granted", "pending", "revoked"]

SOURCES = ("import", "api", "form", "double_opt_in", "unsubscribe", "sms_reply", "manual", "complaint")
"""Where a change came from."""


class ConsentRecord(Base):
    """One change of consent of one contact point (append-only)."""

    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_point", "medium", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    medium: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(320))
    customer_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    state: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    proof: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class ConsentState(Base):
    """The latest consent of one contact point."""

    __tablename__ = "consent_states"

    medium: Mapped[str] = mapped_column(String(32), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    record_id: Mapped[int] = mapped_column(Integer)


def normalize_address(medium: str, address: str, *, region: str = "CN") -> str:
    """The canonical form of ``address`` on ``medium``; raises ValidationFailedError when it is not one.

    E-mails are validated and lower-cased, phones (``sms``) made E.164 with
    ``region`` as the default country; other media keep the text stripped.
    """
    text = address.strip()
    if not text:
        raise ValidationFailedError(f"an empty {medium} address")
    if medium == "email":
        email = normalize_email(text)
        if email is None:
            raise ValidationFailedError(f"{address!r} is not an e-mail address")
        return email
    if medium == "sms":
        phone = normalize_phone(text, region)
        if phone is None:
            raise ValidationFailedError(f"{address!r} is not a phone number")
        return phone
    return text


@dataclass(frozen=True)
class Change:
    """What :func:`record_consent` did: the record added (None when nothing changed) and the state now."""

    record: ConsentRecord | None
    state: str
    changed: bool


def record_consent(
    session: Session,
    *,
    medium: str,
    address: str,
    state: str,
    source: str,
    at: datetime,
    now: datetime,
    actor: str,
    customer_id: str | None = None,
    proof: dict[str, Any] | None = None,
    note: str | None = None,
) -> Change:
    """Record that ``address`` on ``medium`` is now ``state`` (an already normalised address).

    Adds nothing when the contact point already has ``state``. A record dated
    before the current state is kept as history only. Raises
    ValidationFailedError for an unknown state or source.
    """
    if state not in STATES:
        raise ValidationFailedError(f"unknown consent state {state!r}; use one of: {', '.join(STATES)}")
    if source not in SOURCES:
        raise ValidationFailedError(f"unknown consent source {source!r}; use one of: {', '.join(SOURCES)}")
    current = session.get(ConsentState, (medium, address))
    if current is not None and current.state == state:
        return Change(None, state, False)
    if current is not None:
        same = session.scalars(
            select(ConsentRecord.id).where(
                ConsentRecord.medium == medium,
                ConsentRecord.address == address,
                ConsentRecord.state == state,
                ConsentRecord.source == source,
                ConsentRecord.at == at,
            )
        ).first()
        if same is not None:  # this very change was recorded before (a file imported again)
            return Change(None, current.state, False)
    entry = ConsentRecord(
        medium=medium,
        address=address,
        customer_id=customer_id,
        state=state,
        source=source,
        at=at,
        recorded_at=now,
        actor=actor,
        proof=dict(proof or {}),
        note=note,
    )
    session.add(entry)
    session.flush()
    if current is None:
        session.add(
            ConsentState(
                medium=medium,
                address=address,
                state=state,
                at=at,
                source=source,
                customer_id=customer_id,
                record_id=entry.id,
            )
        )
        return Change(entry, state, True)
    if at < current.at:
        return Change(entry, current.state, False)
    current.state, current.at, current.source, current.record_id = state, at, source, entry.id
    if customer_id is not None:
        current.customer_id = customer_id
    return Change(entry, state, True)


def state_of(session: Session, medium: str, address: str) -> str | None:
    """The current state of a contact point, None when it has no record."""
    row = session.get(ConsentState, (medium, address))
    return None if row is None else row.state


def history(session: Session, medium: str, address: str) -> list[ConsentRecord]:
    """Every record of a contact point, oldest first."""
    return list(
        session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.medium == medium, ConsentRecord.address == address)
            .order_by(ConsentRecord.at, ConsentRecord.id)
        )
    )


def records_of_customer(session: Session, customer_id: str) -> list[ConsentRecord]:
    """Every record naming ``customer_id``, newest first (the customer 360 view)."""
    return list(
        session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.customer_id == customer_id)
            .order_by(ConsentRecord.at.desc(), ConsentRecord.id.desc())
        )
    )


def states_for(session: Session, media: Iterable[str]) -> list[tuple[str, str, str]]:
    """``(medium, address, state)`` of every contact point on ``media`` (the send path's one read)."""
    wanted: Sequence[str] = sorted(set(media))
    if not wanted:
        return []
    rows = session.execute(
        select(ConsentState.medium, ConsentState.address, ConsentState.state).where(
            ConsentState.medium.in_(wanted)
        )
    )
    return [(str(m), str(a), str(s)) for m, a, s in rows]
