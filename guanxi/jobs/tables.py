"""The app-database table of jobs (one row per job, its progress, log and outcome)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from guanxi.appdb.base import Base, UTCDateTime
from guanxi.appdb.leasing import LeasedWork, QueueStates

STATES = QueueStates(pending="queued", claimed="running", done="done", failed="retrying", dead="failed")
"""A job is ``queued``, ``running`` (leased to a process), ``done``, ``retrying`` (waiting after a
failed attempt), ``failed`` (for good) or ``cancelled``."""
CANCELLED = "cancelled"
FINISHED = frozenset({STATES.done, STATES.dead, CANCELLED})
ALL_STATES = (*STATES.all, CANCELLED)


class Job(LeasedWork, Base):
    """One job. ``params`` and ``result`` are JSON; ``log`` holds its lines (newest last, capped)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_due", "state", "next_attempt_at"),
        Index("ix_jobs_created_at", "created_at"),
    )

    kind: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    owner: Mapped[str] = mapped_column(String(128))
    """Who started it: a user name, ``cli:LOGIN``, ``schedule:NAME``."""
    origin: Mapped[str] = mapped_column(String(16))
    """``web``, ``api``, ``cli`` or ``schedule``."""
    writes_warehouse: Mapped[bool] = mapped_column(Boolean)
    slot_key: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    """``schedule:NAME:SLOT`` for a scheduled job: at most one job per schedule slot."""
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    progress_message: Mapped[str] = mapped_column(String(255), default="")
    log: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def error(self) -> str | None:
        """Why it failed (the last attempt's error), for a failed or retrying job."""
        return self.last_error if self.state != STATES.done else None

    def to_dict(self) -> dict[str, Any]:
        """The job as the API and ``guanxi jobs show --json`` give it."""
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "params": self.params,
            "owner": self.owner,
            "origin": self.origin,
            "attempts": self.attempts,
            "progress": {
                "done": self.progress_done,
                "total": self.progress_total,
                "message": self.progress_message,
            },
            "result": self.result,
            "error": None if self.state == STATES.done else self.last_error,
            "error_code": self.error_code,
            "cancel_requested": self.cancel_requested,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "log": self.log.splitlines(),
        }


class JobSchedule(Base):
    """A schedule as the schedulers have seen it: slots before ``first_seen_at`` are never run."""

    __tablename__ = "job_schedules"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
