"""Event-intake fixtures: the web app on a migrated app database (SQLite, or a private PostgreSQL
schema with GUANXI_TEST_POSTGRES) with its clock stopped, write keys, and the loader run by hand."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ibis.backends import BaseBackend

from guanxi.appdb.api_keys import issue_api_key
from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.migrate import upgrade
from guanxi.appdb.roles import Role
from guanxi.config import Settings
from guanxi.events.loader import LoadReport, load_pass
from guanxi.jobs.kinds import JobContext
from guanxi.web import create_app
from tests.appdb_fixtures import app_engine, app_session, app_settings, now

__all__ = ["app_engine", "app_session", "app_settings", "now"]

IssueKey = Callable[..., str]


@pytest.fixture
def events_settings(app_settings: Settings) -> Settings:
    """The test's settings: the test runs the loader itself (no background service in the app);
    identity resolution after a load is left to the identity tests."""
    return app_settings.model_copy(update={"events_resolve": False, "jobs_in_app": False})


@pytest.fixture
def app(events_settings: Settings, now: datetime) -> FastAPI:
    upgrade(events_settings)
    return create_app(events_settings, clock=lambda: now)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def issue_key(events_settings: Settings, now: datetime) -> IssueKey:
    """``issue_key(scopes=("ingest",), source=None)`` issues an API key and returns its secret."""

    def issue(
        *, scopes: tuple[str, ...] = ("ingest",), source: str | None = None, name: str = "website"
    ) -> str:
        engine = make_engine(events_settings)
        try:
            with session_factory(engine)() as session, session.begin():
                issued = issue_api_key(
                    session, name=name, role=Role.VIEWER, actor="cli", now=now, scopes=scopes, source=source
                )
                return issued.secret
        finally:
            engine.dispose()

    return issue


@pytest.fixture
def write_key(issue_key: IssueKey) -> str:
    return issue_key()


def basic(key: str) -> dict[str, str]:
    """The Authorization header a Segment library sends: the key as user name, no password."""
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@pytest.fixture
def post(client: TestClient, write_key: str) -> Callable[..., Any]:
    """``post(path, json)`` with the write key as HTTP Basic user, as Segment's libraries do."""

    def send(path: str, body: Any, **kwargs: Any) -> Any:
        return client.post(f"/v1/{path}", json=body, headers=basic(write_key), **kwargs)

    return send


@pytest.fixture
def warehouse(client: TestClient) -> BaseBackend:
    """The running app's own warehouse connection."""
    con: BaseBackend = client.app.state.guanxi.warehouse  # type: ignore[attr-defined]
    return con


@pytest.fixture
def load(client: TestClient, events_settings: Settings, now: datetime) -> Callable[..., LoadReport]:
    """``load()`` runs one loader pass on the app's warehouse and app database, as the service does."""

    def run(*, limit: int | None = None) -> LoadReport:
        state = client.app.state.guanxi  # type: ignore[attr-defined]
        context = JobContext(
            settings=events_settings, warehouse=state.warehouse, sessions=state.sessions, now=now
        )
        return load_pass(context, limit=limit)

    return run


def rows(con: BaseBackend, sql: str) -> list[dict[str, Any]]:
    """The rows of a query on the warehouse, as dicts."""
    raw: Any = con.con  # type: ignore[attr-defined]
    cursor = raw.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
