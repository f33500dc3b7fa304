"""The FastAPI app factory: ``create_app(settings) -> FastAPI``.

Nothing is opened at import time. The lifespan opens the warehouse once
(:func:`guanxi.warehouse.connect`) and the app-database engine, checks the app
database is migrated, and closes both on shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import guanxi
from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.migrate import current_revision, head_revision
from guanxi.config import Settings
from guanxi.errors import ConfigError
from guanxi.jobs.launch import process_id
from guanxi.jobs.runtime import Runtime
from guanxi.jobs.writer import WriterLock, holder
from guanxi.warehouse import connect
from guanxi.web.api import api_router
from guanxi.web.errors import install_error_handlers
from guanxi.web.health import router as health_router
from guanxi.web.state import AppState, Clock, system_clock
from guanxi.web.throttle import SignInThrottle
from guanxi.web.ui import ui_router

HERE = Path(__file__).parent
log = logging.getLogger(__name__)
SESSION_COOKIE = "guanxi_session"
SESSION_MAX_AGE = 12 * 60 * 60
"""A session lasts 12 hours from its last change (sign-in, language choice …)."""

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'self'",
    ),
]


class SecurityHeaders:
    """Adds the headers above to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings, *, clock: Clock | None = None, background: bool | None = None) -> FastAPI:
    """A new guanxi web app for ``settings``.

    ``clock`` (returning an aware datetime) defaults to the system clock; tests
    pass their own. Startup raises :class:`ConfigError` when the app database
    is not migrated to this version (run ``guanxi init`` or ``guanxi serve``).

    On an embedded DuckDB warehouse the app is its one writer: startup takes the
    writer lock (waiting while a CLI command holds the file) and, unless
    ``background`` is false (default ``Settings.jobs_in_app``), runs the jobs,
    schedules and services of :mod:`guanxi.jobs.runtime` in background threads,
    so CLI commands started meanwhile are queued here (ADR 0008).
    """
    run_background = settings.jobs_in_app if background is None else background
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        try:
            revision, head = current_revision(engine), head_revision()
            if revision != head:
                raise ConfigError(
                    f"the app database is at revision {revision or 'none'}, this guanxi needs {head}; "
                    "run `guanxi init` (or start with `guanxi serve`, which migrates first)"
                )
            lock = WriterLock(settings, role="serve", takes_jobs=run_background)
            if not lock.acquire():
                current = holder(settings)
                log.warning(
                    "waiting for %s to finish with the warehouse",
                    current.describe() if current else "another process",
                )
                lock.acquire(wait=True)
            try:
                warehouse = connect(settings)
            except BaseException:
                lock.release()
                raise
        except BaseException:
            engine.dispose()
            raise
        sessions = session_factory(engine)
        runtime = (
            Runtime(
                settings,
                sessions,
                warehouse,
                worker_id=f"serve:{process_id()}",
                writer=True,
                clock=clock or system_clock,
            )
            if run_background
            else None
        )
        app.state.guanxi = AppState(
            settings=settings,
            engine=engine,
            sessions=sessions,
            warehouse=warehouse,
            templates=templates,
            clock=clock or system_clock,
            throttle=SignInThrottle(),
            runtime=runtime,
        )
        try:
            if runtime is not None:
                runtime.start()
            yield
        finally:
            if runtime is not None:
                runtime.stop()
            warehouse.disconnect()
            lock.release()
            engine.dispose()

    app = FastAPI(
        title="guanxi",
        version=guanxi.__version__,
        description="Customer data platform and marketing CRM. Authenticate with an `X-API-Key` header.",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(ui_router())
    app.include_router(api_router())
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.env == "prod",
    )
    return app
