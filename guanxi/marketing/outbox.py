"""The durable outbox: every message to a customer is recorded once, then delivered by workers.

Guarantees
----------
* **Recorded once.** :func:`enqueue` is idempotent on the idempotency key: a
  second call with the same key returns the message already stored and never
  adds a row, also when two processes enqueue at the same moment (``INSERT …
  ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite, the unique key decides).
  The content of the first call wins.
* **Never two sends from two live workers.** Workers :func:`claim` due messages
  under a lease (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL; see
  :mod:`guanxi.appdb.leasing` for SQLite). A message is sent only by the
  worker holding its lease; the lease (``outbox_lease_seconds``) must outlast a
  channel's timeout.
* **At-least-once delivery to the channel.** A worker that dies between the
  send and the commit leaves its lease to expire, and another worker sends the
  message again. Each send carries the idempotency key to the provider — the
  SMTP ``Message-ID`` is derived from it, webhooks get an ``Idempotency-Key``
  header — so the receiver can recognise the retry as a duplicate.
* **Retries.** A transient failure is retried with exponential back-off and
  jitter up to ``outbox_max_attempts`` attempts, then the message is ``dead``; a
  permanent failure (bad address, rejected request) is ``dead`` at once.
  ``guanxi outbox retry-dead`` gives dead messages a fresh budget.
* **Reporting.** Every attempt that reached the channel leaves one
  :class:`Delivery` row (time, worker, outcome, error, provider message id).

States: ``pending`` (waiting for its first attempt), ``sending`` (leased to a
worker), ``sent``, ``failed`` (waiting for a retry), ``dead``; and three no
worker claims: ``held`` (its campaign is paused), ``cancelled`` (its campaign
was cancelled) and ``suppressed`` (the send-time check found the address
suppressed or its consent revoked; never sent).

A message may carry who it is for and why (``customer_id``, ``medium``,
``transactional``, ``campaign_id``, ``wave_index``) so the send-time check and
campaign controls can act on it, and the provider's delivery receipt
(``receipt``: ``delivered`` / ``undelivered``, ``receipt_at``, ``receipt_error``).

Functions work in the caller's transaction and never commit.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from guanxi.appdb.base import Base, UTCDateTime
from guanxi.appdb.leasing import LeasedWork, LeaseQueue, QueueStates, insert_once
from guanxi.config import Settings
from guanxi.marketing.channels import Envelope

STATES = QueueStates(claimed="sending", done="sent")
"""pending, sending, sent, failed, dead."""
HELD = "held"
CANCELLED = "cancelled"
SUPPRESSED = "suppressed"
ALL_STATES = (*STATES.all, HELD, CANCELLED, SUPPRESSED)

OUTCOME_SENT = "sent"
OUTCOME_FAILED = "failed"
OUTCOME_DEAD = "dead"
OUTCOME_SUPPRESSED = "suppressed"
"""The send-time check refused the message (no channel call)."""
OUTCOME_LEASE_LOST = "lease_lost"
"""The send happened but another worker had taken the message over (its lease expired first)."""


class OutboxMessage(LeasedWork, Base):
    """One rendered message for one recipient on one channel."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "state", "next_attempt_at"),)

    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    customer_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    medium: Mapped[str | None] = mapped_column(String(32), nullable=True)
    transactional: Mapped[bool] = mapped_column(Boolean, default=False)
    campaign_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    wave_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    receipt: Mapped[str | None] = mapped_column(String(16), nullable=True)
    receipt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    receipt_error: Mapped[str | None] = mapped_column(String(255), nullable=True)

    def envelope(self) -> Envelope:
        """What a channel needs to send this message (a plain value, no database access)."""
        return Envelope(
            channel=self.channel,
            recipient=self.recipient,
            subject=self.subject,
            body=self.body,
            payload=dict(self.payload),
            idempotency_key=self.idempotency_key,
        )

    def __repr__(self) -> str:
        return f"OutboxMessage(id={self.id!r}, channel={self.channel!r}, state={self.state!r})"


class Delivery(Base):
    """One attempt to hand a message to its channel."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    worker_id: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16))
    """``sent``, ``failed`` (will be retried), ``dead`` or ``lease_lost``."""
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)


def outbox_queue(settings: Settings) -> LeaseQueue[OutboxMessage]:
    """The outbox's lease and retry policy, from ``outbox_*`` settings."""
    return LeaseQueue.from_settings(OutboxMessage, STATES, settings)


def enqueue(
    session: Session,
    *,
    channel: str,
    recipient: str,
    idempotency_key: str,
    now: datetime,
    subject: str = "",
    body: str = "",
    payload: dict[str, Any] | None = None,
    not_before: datetime | None = None,
    customer_id: str | None = None,
    medium: str | None = None,
    transactional: bool = False,
    campaign_id: int | None = None,
    wave_index: int | None = None,
) -> OutboxMessage:
    """Record a message to send at ``not_before`` (default ``now``); idempotent on the key.

    Returns the stored message: the new one, or the one stored earlier under
    the same ``idempotency_key`` (unchanged, whatever this call passed).
    """
    values = {
        "channel": channel,
        "recipient": recipient,
        "subject": subject,
        "body": body,
        "payload": dict(payload or {}),
        "idempotency_key": idempotency_key,
        "state": STATES.pending,
        "attempts": 0,
        "next_attempt_at": not_before or now,
        "created_at": now,
        "customer_id": customer_id,
        "medium": medium,
        "transactional": transactional,
        "campaign_id": campaign_id,
        "wave_index": wave_index,
    }
    return insert_once(session, OutboxMessage, OutboxMessage.idempotency_key, values)


def enqueue_many(session: Session, rows: list[dict[str, Any]], *, now: datetime) -> dict[str, int]:
    """Record many messages at once (the columns of :func:`enqueue`, ``not_before`` as ``next_attempt_at``).

    Idempotent on each row's ``idempotency_key`` like :func:`enqueue`: keys
    already stored keep their first message. Returns key → message id for
    every row. Inserts in chunks of 1,000 rows.
    """
    dialect = session.get_bind().dialect.name
    ids: dict[str, int] = {}
    for start in range(0, len(rows), 1000):
        chunk = [
            {
                "state": STATES.pending,
                "attempts": 0,
                "created_at": now,
                "subject": "",
                "body": "",
                "payload": {},
                "transactional": False,
                **row,
            }
            for row in rows[start : start + 1000]
        ]
        statement = (
            postgresql.insert(OutboxMessage) if dialect == "postgresql" else sqlite.insert(OutboxMessage)
        )
        inserted = session.execute(
            statement.values(chunk)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(OutboxMessage.id, OutboxMessage.idempotency_key)
        )
        found = {str(key): int(mid) for mid, key in inserted}
        missing = [row["idempotency_key"] for row in chunk if row["idempotency_key"] not in found]
        if missing:
            stored = session.execute(
                select(OutboxMessage.id, OutboxMessage.idempotency_key).where(
                    OutboxMessage.idempotency_key.in_(missing)
                )
            )
            found.update({str(key): int(mid) for mid, key in stored})
        ids.update(found)
    return ids


def claim(
    session: Session, queue: LeaseQueue[OutboxMessage], worker_id: str, limit: int, now: datetime
) -> list[OutboxMessage]:
    """Lease up to ``limit`` due messages to ``worker_id`` (commit right after)."""
    return queue.claim(session, worker_id, limit, now)


def complete(
    session: Session,
    queue: LeaseQueue[OutboxMessage],
    message: OutboxMessage,
    worker_id: str,
    *,
    now: datetime,
    provider_message_id: str | None,
    duration_ms: int | None = None,
) -> bool:
    """Record a successful send; False when the lease had been lost (the delivery is still recorded)."""
    held = queue.finish(
        session, message, worker_id, sent_at=now, provider_message_id=provider_message_id, last_error=None
    )
    session.add(
        Delivery(
            message_id=message.id,
            attempt=message.attempts,
            at=now,
            worker_id=worker_id,
            outcome=OUTCOME_SENT if held else OUTCOME_LEASE_LOST,
            provider_message_id=provider_message_id,
            duration_ms=duration_ms,
        )
    )
    return held


def complete_many(
    session: Session,
    queue: LeaseQueue[OutboxMessage],
    sent: list[tuple[OutboxMessage, str | None, int | None]],
    worker_id: str,
    *,
    now: datetime,
) -> list[bool]:
    """Record successful sends — ``(message, provider message id, duration ms)`` — in one update;
    as :func:`complete` for each, in order (False: that message's lease had been lost)."""
    messages = [message for message, _, _ in sent]
    held = queue.finish_many(
        session,
        messages,
        worker_id,
        {"sent_at": now, "last_error": None},
        {"provider_message_id": [provider_id for _, provider_id, _ in sent]},
    )
    session.add_all(
        Delivery(
            message_id=message.id,
            attempt=message.attempts,
            at=now,
            worker_id=worker_id,
            outcome=OUTCOME_SENT if is_held else OUTCOME_LEASE_LOST,
            provider_message_id=provider_id,
            duration_ms=duration_ms,
        )
        for (message, provider_id, duration_ms), is_held in zip(sent, held, strict=True)
    )
    return held


def fail(
    session: Session,
    queue: LeaseQueue[OutboxMessage],
    message: OutboxMessage,
    worker_id: str,
    *,
    now: datetime,
    error: str,
    error_code: str,
    permanent: bool,
    rng: random.Random,
    duration_ms: int | None = None,
) -> str | None:
    """Record a failed send: ``failed`` (retried later) or ``dead``; ``None`` when the lease was lost."""
    state = queue.fail(session, message, worker_id, now=now, error=error, permanent=permanent, rng=rng)
    session.add(
        Delivery(
            message_id=message.id,
            attempt=message.attempts,
            at=now,
            worker_id=worker_id,
            outcome=OUTCOME_LEASE_LOST if state is None else state,
            error=error[:2000],
            error_code=error_code,
            duration_ms=duration_ms,
        )
    )
    return state


def record_withheld(
    session: Session, message: OutboxMessage, worker_id: str, *, now: datetime, reason: str
) -> None:
    """Leave a ``suppressed`` delivery record: the send-time check refused the message (no channel call)."""
    session.add(
        Delivery(
            message_id=message.id,
            attempt=message.attempts,
            at=now,
            worker_id=worker_id,
            outcome=OUTCOME_SUPPRESSED,
            error=reason,
            error_code="send_refused",
        )
    )


def status_counts(session: Session) -> dict[str, dict[str, int]]:
    """Messages per channel and state: ``{channel: {state: count}}``, every state listed."""
    counts: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(OutboxMessage.channel, OutboxMessage.state, func.count()).group_by(
            OutboxMessage.channel, OutboxMessage.state
        )
    )
    for channel, state, count in rows:
        counts.setdefault(channel, dict.fromkeys(ALL_STATES, 0))[state] = int(count)
    return counts


def retry_dead(session: Session, queue: LeaseQueue[OutboxMessage], now: datetime) -> int:
    """Make every dead message pending again with a fresh attempt budget; returns how many."""
    return queue.revive_dead(session, now)


def deliveries_of(session: Session, message: OutboxMessage) -> list[Delivery]:
    """The attempts of ``message``, oldest first."""
    return list(
        session.scalars(select(Delivery).where(Delivery.message_id == message.id).order_by(Delivery.id))
    )
