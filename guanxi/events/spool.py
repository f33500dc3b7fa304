"""The event spool: accepted messages, durable in the app database until the loader moves them.

Guarantees
----------
* **Durable before the answer.** :func:`enqueue` inserts in the caller's
  transaction; the intake commits it before it answers 200, so an acknowledged
  message survives a crash of the process (SQLite commits to the file,
  PostgreSQL to its log).
* **Stored once.** ``(source, message_id)`` is unique: ``INSERT … ON CONFLICT DO
  NOTHING`` on SQLite and PostgreSQL, so a retried or repeated message adds no
  row, also from two requests at the same moment; the first one's content wins.
* **Claimed, then released.** The loader :func:`claim` s up to N rows under a
  load-batch name (committed), writes them to the warehouse, then
  :func:`release` s (deletes) them. Rows of a claim whose loader died are
  claimed again, whole and first, by the next pass — the warehouse merge is
  keyed by ``(source, event_id)``, so loading them again adds nothing twice.

Once a row is released, a message with the same id is spooled again if it
arrives; the loader then finds its event already in the warehouse and skips it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from guanxi.appdb.base import Base, UTCDateTime
from guanxi.events.messages import Accepted


class SpooledEvent(Base):
    """One accepted message, waiting for the loader."""

    __tablename__ = "event_spool"
    __table_args__ = (
        UniqueConstraint("source", "message_id"),
        Index("ix_event_spool_claim", "load_batch", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """``timestamp`` corrected by the client's clock skew (see :mod:`guanxi.events.messages`)."""
    payload: Mapped[str] = mapped_column(Text)
    """The message as compact JSON (as sent, completed; never the write key)."""
    load_batch: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The loader pass that claimed the row; NULL while waiting."""


@dataclass(frozen=True)
class Claimed:
    """A spooled row as the loader reads it."""

    id: int
    source: str
    message_id: str
    type: str
    received_at: datetime
    occurred_at: datetime
    payload: str


def enqueue(session: Session, source: str, messages: Sequence[Accepted]) -> None:
    """Add ``messages`` of ``source`` to the spool; a message id already spooled is left alone.

    Works in the caller's transaction and does not commit.
    """
    if not messages:
        return
    table: Any = SpooledEvent.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    rows = [
        {
            "source": source,
            "message_id": m.message_id,
            "type": m.type,
            "received_at": m.received_at,
            "occurred_at": m.occurred_at,
            "payload": m.payload,
            "load_batch": None,
        }
        for m in messages
    ]
    session.execute(insert.on_conflict_do_nothing(index_elements=["source", "message_id"]), rows)


def claim(session: Session, limit: int, *, now: datetime) -> tuple[str | None, list[Claimed]]:
    """The rows of the oldest unfinished claim, or a new claim of up to ``limit`` waiting rows.

    Returns ``(load batch, rows in spool order)``; ``(None, [])`` when nothing
    waits. Works in the caller's transaction; commit before loading, so a crash
    leaves the claim for the next pass.
    """
    table = SpooledEvent
    leftover = session.scalar(
        select(table.load_batch).where(table.load_batch.is_not(None)).order_by(table.id).limit(1)
    )
    batch = leftover
    if batch is None:
        batch = f"{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:12]}"
        waiting = select(table.id).where(table.load_batch.is_(None)).order_by(table.id).limit(limit)
        claimed = session.execute(
            update(table)
            .where(table.id.in_(waiting.scalar_subquery()), table.load_batch.is_(None))
            .values(load_batch=batch)
            .execution_options(synchronize_session=False)
        )
        if not getattr(claimed, "rowcount", 0):
            return None, []
    rows = (
        session.connection()
        .execute(
            select(
                table.id,
                table.source,
                table.message_id,
                table.type,
                table.received_at,
                table.occurred_at,
                table.payload,
            )
            .where(table.load_batch == batch)
            .order_by(table.id)
        )
        .all()
    )
    return batch, [Claimed(*row) for row in rows]


def release(session: Session, batch: str) -> int:
    """Delete the rows of claim ``batch`` (after the warehouse committed them); returns how many."""
    result = session.execute(
        delete(SpooledEvent)
        .where(SpooledEvent.load_batch == batch)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def waiting(session: Session) -> int:
    """Rows in the spool (claimed or not)."""
    return int(session.scalar(select(func.count()).select_from(SpooledEvent)) or 0)
