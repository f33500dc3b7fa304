"""The ``task`` channel: a message becomes a follow-up task for a sales rep in the app database.

The recipient is the customer id; the body becomes the task's body and the
subject its title. ``payload["task"]`` may refine the task::

    {"title": "…", "due_at": "2026-03-02T10:00:00+08:00" | "due_hours": 4,
     "pool": ["alice", "bob"], "customer_name": "张伟"}

``due_at`` (ISO 8601 with an offset) wins over ``due_hours``, which wins over
``GUANXI_TASKS_DUE_HOURS``; ``pool`` replaces ``GUANXI_TASKS_POOL``. Who gets the
task is :func:`guanxi.marketing.tasks.create_task`'s rule: the customer's owner,
else the least-loaded active pool member. A payload with ``journey`` makes a
``journey`` task (its key kept as ``campaign_key``), else a ``campaign`` task
keyed by ``payload["campaign"]``.

Guarantees: the task's idempotency key is the message's, so a resend after a
crash returns the first task and makes no second one. The provider id is
``task:<id>``. Nobody to assign, a malformed ``payload["task"]`` or an empty
title raise :class:`~guanxi.marketing.errors.PermanentDeliveryError`
(``task_no_assignee``, ``task_payload_invalid``); an unreachable database raises
:class:`~guanxi.marketing.errors.TransientDeliveryError` (``task_db_unavailable``).

Settings: :class:`TaskSettings`, read from ``GUANXI_TASKS_*`` and, for the app
database, the same ``GUANXI_APP_DB_URL`` the rest of guanxi uses. The channel
opens its own engine on first send and disposes of it in :meth:`TaskChannel.close`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Engine
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from guanxi.appdb.database import database_url, make_engine, session_factory
from guanxi.config import Settings
from guanxi.errors import ValidationFailedError
from guanxi.marketing.channels import ChannelSettings, Envelope
from guanxi.marketing.errors import PermanentDeliveryError, TransientDeliveryError
from guanxi.marketing.tasks import TaskNoAssigneeError, TaskSource, create_task

Clock = Callable[[], datetime]
ACTOR = "channel:task"
"""The audit-log actor of tasks this channel creates."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class TaskSettings(ChannelSettings):
    """The ``task`` channel's settings: ``GUANXI_TASKS_*`` plus ``GUANXI_APP_DB_URL``."""

    model_config = SettingsConfigDict(env_prefix="GUANXI_TASKS_")

    pool: str = Field(
        "", description="Comma-separated usernames who share tasks of customers without an owner."
    )
    due_hours: float = Field(
        24, ge=0, description="Hours from creation until a task is due, unless a message says."
    )
    app_db_url: str = Field(
        Settings.model_fields["app_db_url"].default,
        validation_alias="GUANXI_APP_DB_URL",
        description="The app database the tasks are written to (the one guanxi uses).",
    )

    @property
    def pool_members(self) -> tuple[str, ...]:
        """The pool as usernames, in order, blanks dropped."""
        return tuple(name.strip() for name in self.pool.split(",") if name.strip())


class TaskChannel:
    """Writes each message as a :class:`~guanxi.marketing.tasks.Task`; one engine, opened on first send.

    Raises ConfigError at construction when ``app_db_url`` is not a usable
    app-database URL. Not thread-safe (one channel per worker, like every channel).
    """

    def __init__(
        self,
        app_db_url: str,
        *,
        pool: Sequence[str] = (),
        due: timedelta = timedelta(hours=24),
        clock: Clock = utc_now,
    ) -> None:
        self._db = Settings.model_construct(app_db_url=app_db_url)  # only its app_db_url is read
        database_url(self._db)  # fail now, not on the first message, for a bad URL
        self.pool = tuple(pool)
        self.due = due
        self._clock = clock
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    @classmethod
    def from_settings(cls, settings: TaskSettings) -> TaskChannel:
        return cls(settings.app_db_url, pool=settings.pool_members, due=timedelta(hours=settings.due_hours))

    def __repr__(self) -> str:  # the URL may carry a password
        return f"TaskChannel(pool={self.pool!r})"

    def send(self, message: Envelope) -> str:
        now = self._clock()
        spec = _task_spec(message.payload)
        title = _text(spec, "title") or message.subject
        due_at = _due_at(spec, now, self.due)
        pool = _pool(spec, self.pool)
        journey = message.payload.get("journey")
        source: TaskSource = "journey" if journey else "campaign"
        key = journey if journey else message.payload.get("campaign")
        try:
            with self._session_factory().begin() as session:
                task = create_task(
                    session,
                    idempotency_key=message.idempotency_key,
                    customer_id=message.recipient,
                    title=title,
                    body=message.body,
                    due_at=due_at,
                    now=now,
                    pool=pool,
                    source=source,
                    campaign_key=str(key) if key else None,
                    customer_name=_text(spec, "customer_name") or None,
                    payload=dict(message.payload),
                    actor=ACTOR,
                )
                task_id = task.id
        except TaskNoAssigneeError as err:
            raise PermanentDeliveryError(err.message, code=err.code) from err
        except ValidationFailedError as err:
            raise PermanentDeliveryError(err.message, code="task_payload_invalid") from err
        except (OperationalError, InterfaceError, DisconnectionError) as err:
            raise TransientDeliveryError(
                f"the app database is unavailable: {type(err).__name__}", code="task_db_unavailable"
            ) from err
        return f"task:{task_id}"

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        self._engine, self._sessions = None, None

    def _session_factory(self) -> sessionmaker[Session]:
        if self._sessions is None:
            self._engine = make_engine(self._db)
            self._sessions = session_factory(self._engine)
        return self._sessions


def _invalid(message: str) -> PermanentDeliveryError:
    return PermanentDeliveryError(message, code="task_payload_invalid")


def _task_spec(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = payload.get("task", {})
    if not isinstance(spec, Mapping):
        raise _invalid("payload['task'] must be an object")
    return spec


def _text(spec: Mapping[str, Any], key: str) -> str:
    value = spec.get(key, "")
    if not isinstance(value, str):
        raise _invalid(f"payload['task'][{key!r}] must be text")
    return value.strip()


def _due_at(spec: Mapping[str, Any], now: datetime, default: timedelta) -> datetime:
    if "due_at" in spec:
        raw = spec["due_at"]
        try:
            due = datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            due = None
        if due is None or due.tzinfo is None:
            raise _invalid("payload['task']['due_at'] must be an ISO 8601 time with an offset")
        return due
    if "due_hours" in spec:
        hours = spec["due_hours"]
        if isinstance(hours, bool) or not isinstance(hours, int | float) or hours < 0:
            raise _invalid("payload['task']['due_hours'] must be a number of hours, 0 or more")
        return now + timedelta(hours=hours)
    return now + default


def _pool(spec: Mapping[str, Any], default: tuple[str, ...]) -> tuple[str, ...]:
    if "pool" not in spec:
        return default
    pool = spec["pool"]
    if not isinstance(pool, list) or not all(isinstance(name, str) for name in pool):
        raise _invalid("payload['task']['pool'] must be a list of usernames")
    return tuple(pool)
