"""What a running app holds: settings, the app-database engine, the warehouse.

Built once per app in the lifespan (see :func:`guanxi.web.app.create_app`),
stored on ``app.state.guanxi`` and handed to routes through :data:`State`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from ibis.backends import BaseBackend
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from guanxi.config import Settings
from guanxi.jobs.runtime import Runtime
from guanxi.web.throttle import SignInThrottle

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppState:
    """Resources shared by every request of one app."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    warehouse: BaseBackend
    templates: Jinja2Templates
    clock: Clock
    throttle: SignInThrottle
    warehouse_lock: threading.Lock = field(default_factory=threading.Lock)
    runtime: Runtime | None = None
    """The background jobs, schedules and services of this process (``None`` when switched off)."""

    @contextmanager
    def warehouse_connection(self) -> Iterator[BaseBackend]:
        """The warehouse, used by one request at a time.

        An embedded DuckDB connection must not be used from two threads at
        once; holding this lock keeps every backend safe.
        """
        with self.warehouse_lock:
            yield self.warehouse


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.guanxi
    return state


State = Annotated[AppState, Depends(app_state)]


def db_session(state: State) -> Iterator[Session]:
    """A session per request; the route commits what it changes, the rest is rolled back."""
    with state.sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(db_session)]
