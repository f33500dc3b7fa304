"""Leased work queues in the app database: claim, lease, finish, retry with back-off, dead.

The outbox and the journey-step queue are both tables of :class:`LeasedWork`
rows driven by one :class:`LeaseQueue`; only the names of their states differ.

Life of a row::

    pending ──claim──► <claimed> ──finish──► <done>
       ▲                 │   │
       │ release         │   └──fail (permanent, or attempts used up)──► dead
       └─────────────────┤
                         └──fail (transient)──► failed ──(next_attempt_at reached)──claim──► …

Guarantees:

* **One live holder.** :meth:`LeaseQueue.claim` selects due rows with
  ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent workers never
  take the same row, and then sets a lease (owner and expiry) in the same
  transaction. SQLite has one writer at a time and no row locks: the claiming
  ``UPDATE`` repeats the due condition, so a second process that selected the
  same rows updates none of them; run one worker per SQLite file (workers on one
  SQLite file serialise on its write lock and gain nothing).
* **Crash recovery.** A claimed row whose lease has expired (its worker died) is
  due again and is claimed by the next worker; it is then attempted again, so
  the work is done *at least once*. A lease must outlast the longest attempt
  (channel timeout plus commit) or a slow live worker may lose its row.
* **Guarded outcome.** :meth:`finish`, :meth:`fail` and :meth:`release` change a
  row only while the caller still holds its lease; they return whether it did.
* **Counting.** ``attempts`` counts claims; a released (never started) claim is
  taken back. Back-off after the n-th failed attempt is
  ``min(max_delay, base_delay · factor^(n-1))`` reduced by up to ``jitter`` at
  random (never longer than the cap); after ``max_attempts`` attempts the row is
  dead — also when the worker of the last attempt disappeared.
* **No stale starts.** A worker starts a claimed row only while half of its lease
  is left (:meth:`LeaseQueue.starts_in_time`) and releases the rest of its batch
  otherwise. Leases compare the clocks of different workers: keep them in sync
  (NTP) to well within the lease.

Every method works inside the caller's transaction and does not commit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Integer, String, Text, and_, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from guanxi.appdb.base import UTCDateTime
from guanxi.config import Settings


class LeasedWork:
    """Columns shared by every leased-work table (mixed into an ORM class on ``Base``)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Claims so far (the running one included)."""
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """Not claimed before this time (UTC)."""
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


W = TypeVar("W", bound=LeasedWork)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how late a failed attempt is tried again."""

    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    factor: float = 2.0
    jitter: float = 0.2
    """Fraction (0–1) by which a delay may be shortened at random, so retries spread out."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must lie between 0 and 1")

    def delay(self, attempt: int, rng: random.Random) -> timedelta:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        full = min(
            self.max_delay.total_seconds(), self.base_delay.total_seconds() * self.factor ** (attempt - 1)
        )
        return timedelta(seconds=full * (1.0 - self.jitter * rng.random()))


@dataclass(frozen=True)
class QueueStates:
    """The state names one queue uses."""

    claimed: str
    done: str
    pending: str = "pending"
    failed: str = "failed"
    dead: str = "dead"

    @property
    def all(self) -> tuple[str, ...]:
        return (self.pending, self.claimed, self.done, self.failed, self.dead)


@dataclass(frozen=True)
class LeaseQueue(Generic[W]):
    """Claim/lease/retry mechanics for one table of :class:`LeasedWork` rows."""

    model: type[W]
    states: QueueStates
    lease: timedelta
    retry: RetryPolicy

    @classmethod
    def from_settings(cls, model: type[W], states: QueueStates, settings: Settings) -> LeaseQueue[W]:
        """A queue with the lease and retry policy of the ``outbox_*`` settings (both queues share them)."""
        return cls(
            model=model,
            states=states,
            lease=timedelta(seconds=settings.outbox_lease_seconds),
            retry=RetryPolicy(
                max_attempts=settings.outbox_max_attempts,
                base_delay=timedelta(seconds=settings.outbox_retry_base_seconds),
                max_delay=timedelta(seconds=settings.outbox_retry_max_seconds),
                jitter=settings.outbox_retry_jitter,
            ),
        )

    def due(self, now: datetime) -> ColumnElement[bool]:
        """Rows a worker may claim at ``now``: waiting and due, or claimed with an expired lease."""
        model, states = self.model, self.states
        return or_(
            and_(model.state.in_([states.pending, states.failed]), model.next_attempt_at <= now),
            and_(model.state == states.claimed, model.lease_expires_at <= now),
        )

    def claim(
        self,
        session: Session,
        worker_id: str,
        limit: int,
        now: datetime,
        *,
        where: ColumnElement[bool] | None = None,
    ) -> list[W]:
        """Lease up to ``limit`` due rows to ``worker_id``, oldest due first.

        ``where`` narrows the rows this worker takes (the jobs queue: only jobs
        this process may run). The caller commits right away, so the lease is
        visible to other workers before any slow work starts.
        """
        model = self.model
        self._bury_abandoned(session, now)
        due = self.due(now) if where is None else and_(self.due(now), where)
        candidates = list(
            session.scalars(
                select(model.id)
                .where(due)
                .order_by(model.next_attempt_at, model.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not candidates:
            return []
        claimed = list(
            session.scalars(
                update(model)
                .where(model.id.in_(candidates), due)
                .values(
                    state=self.states.claimed,
                    attempts=model.attempts + 1,
                    lease_owner=worker_id,
                    lease_expires_at=now + self.lease,
                )
                .returning(model.id)
                .execution_options(synchronize_session=False)
            )
        )
        if not claimed:
            return []
        return list(
            session.scalars(
                select(model)
                .where(model.id.in_(claimed))
                .order_by(model.next_attempt_at, model.id)
                .execution_options(populate_existing=True)
            )
        )

    def _bury_abandoned(self, session: Session, now: datetime) -> None:
        """Rows whose last allowed attempt lost its worker (lease expired) are dead, not claimed again.

        Without this a message that kills its worker every time would be claimed for ever.
        """
        model = self.model
        session.execute(
            update(model)
            .where(
                model.state == self.states.claimed,
                model.lease_expires_at <= now,
                model.attempts >= self.retry.max_attempts,
            )
            .values(
                state=self.states.dead,
                lease_owner=None,
                lease_expires_at=None,
                last_error=func.coalesce(model.last_error, "the worker holding the last attempt disappeared"),
            )
            .execution_options(synchronize_session=False)
        )

    def starts_in_time(self, item: W, now: datetime) -> bool:
        """Whether at least half of ``item``'s lease is left at ``now``.

        Workers start an item only then, so an item claimed in a batch is never
        started after another worker may have taken it over (items wait behind
        slow ones in the same batch); the rest of the batch is released instead.
        """
        expires = item.lease_expires_at
        return expires is not None and now < expires - self.lease / 2

    def _held(self, item: W, worker_id: str) -> ColumnElement[bool]:
        model = self.model
        return and_(model.id == item.id, model.state == self.states.claimed, model.lease_owner == worker_id)

    def _apply(self, session: Session, item: W, worker_id: str, values: dict[str, Any]) -> bool:
        result = session.execute(
            update(self.model)
            .where(self._held(item, worker_id))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        held = bool(result.rowcount)  # type: ignore[attr-defined]
        if held:  # the row now holds exactly ``values``: no need to read it back
            for name, value in values.items():
                set_committed_value(item, name, value)
        else:
            session.refresh(item)
        return held

    def finish(self, session: Session, item: W, worker_id: str, **values: Any) -> bool:
        """Mark ``item`` done (plus extra column ``values``) if ``worker_id`` still holds it."""
        return self._apply(
            session,
            item,
            worker_id,
            {"state": self.states.done, "lease_owner": None, "lease_expires_at": None, **values},
        )

    def finish_many(
        self,
        session: Session,
        items: list[W],
        worker_id: str,
        values: dict[str, Any],
        per_item: dict[str, list[Any]] | None = None,
    ) -> list[bool]:
        """Mark every item of ``items`` done in one statement, each only if ``worker_id`` still holds it.

        ``values`` go to every row; ``per_item`` maps a column to one value per item (in the order of
        ``items``), bound as a ``CASE`` on the id. Returns, in the order of ``items``, whether each was
        still held — as :meth:`finish` would have for each, one statement instead of one per item.
        """
        if not items:
            return []
        model = self.model
        columns = dict(values)
        for name, column_values in (per_item or {}).items():
            mapping = {item.id: value for item, value in zip(items, column_values, strict=True)}
            columns[name] = case(mapping, value=model.id)
        done = {"state": self.states.done, "lease_owner": None, "lease_expires_at": None}
        held_ids = set(
            session.scalars(
                update(model)
                .where(
                    model.id.in_([item.id for item in items]),
                    model.state == self.states.claimed,
                    model.lease_owner == worker_id,
                )
                .values(**done, **columns)
                .returning(model.id)
                .execution_options(synchronize_session=False)
            )
        )
        held = [item.id in held_ids for item in items]
        for position, (item, is_held) in enumerate(zip(items, held, strict=True)):
            if not is_held:
                session.refresh(item)
                continue
            for name, value in {**done, **values}.items():
                set_committed_value(item, name, value)
            for name, column_values in (per_item or {}).items():
                set_committed_value(item, name, column_values[position])
        return held

    def settle(self, session: Session, item: W, worker_id: str, state: str, **values: Any) -> bool:
        """Put ``item`` in ``state`` (plus column ``values``), lease cleared, if ``worker_id`` still holds it.

        For outcomes that are neither done nor failed: deferred (``pending`` at a
        later time, the claim not counted as an attempt), held, withdrawn.
        """
        return self._apply(
            session,
            item,
            worker_id,
            {"state": state, "lease_owner": None, "lease_expires_at": None, **values},
        )

    def fail(
        self,
        session: Session,
        item: W,
        worker_id: str,
        *,
        now: datetime,
        error: str,
        permanent: bool,
        rng: random.Random,
    ) -> str | None:
        """Record a failed attempt; returns the new state, ``None`` when the lease was lost.

        A permanent failure, or one after ``max_attempts`` attempts, is dead;
        any other is tried again after :meth:`RetryPolicy.delay`.
        """
        values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None, "last_error": error[:2000]}
        if permanent or item.attempts >= self.retry.max_attempts:
            values["state"] = self.states.dead
        else:
            values["state"] = self.states.failed
            values["next_attempt_at"] = now + self.retry.delay(item.attempts, rng)
        if not self._apply(session, item, worker_id, values):
            return None
        return str(values["state"])

    def release(self, session: Session, items: list[W], worker_id: str) -> int:
        """Give back claimed rows that were never started; their claim is not counted."""
        if not items:
            return 0
        model = self.model
        result = session.execute(
            update(model)
            .where(
                model.id.in_([item.id for item in items]),
                model.state == self.states.claimed,
                model.lease_owner == worker_id,
            )
            .values(
                state=case((model.attempts > 1, self.states.failed), else_=self.states.pending),
                attempts=model.attempts - 1,
                lease_owner=None,
                lease_expires_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        for item in items:
            session.refresh(item)
        return int(result.rowcount)  # type: ignore[attr-defined]

    def revive_dead(self, session: Session, now: datetime) -> int:
        """Make every dead row pending again with a fresh attempt budget; returns how many."""
        model = self.model
        result = session.execute(
            update(model)
            .where(model.state == self.states.dead)
            .values(state=self.states.pending, attempts=0, next_attempt_at=now, last_error=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def counts(self, session: Session) -> dict[str, int]:
        """Rows per state (every state listed, zeros included)."""
        model = self.model
        found = dict(session.execute(select(model.state, func.count()).group_by(model.state)).all())
        return {state: int(found.get(state, 0)) for state in self.states.all}


def insert_once(
    session: Session, model: type[W], key: InstrumentedAttribute[str], values: dict[str, Any]
) -> W:
    """Insert a row unless one with the same unique ``key`` exists; return the stored row.

    ``INSERT … ON CONFLICT (key) DO NOTHING`` on PostgreSQL and SQLite, so two
    concurrent calls never make two rows and neither fails; the first wins.
    """
    statement = (
        postgresql.insert(model) if session.get_bind().dialect.name == "postgresql" else sqlite.insert(model)
    )
    inserted = session.scalars(
        statement.values(**values).on_conflict_do_nothing(index_elements=[key.key]).returning(model)
    ).first()
    if inserted is not None:
        return inserted
    return session.scalars(
        select(model).where(key == values[key.key]).execution_options(populate_existing=True)
    ).one()
