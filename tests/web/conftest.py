"""Web fixtures: a migrated app database (SQLite, or a private PostgreSQL schema with
GUANXI_TEST_POSTGRES), an app with a fixed clock, and signed-in clients for each role."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ibis.backends import BaseBackend

from guanxi.appdb import passwords
from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.migrate import upgrade
from guanxi.appdb.roles import Role
from guanxi.appdb.users import create_user
from guanxi.config import Settings
from guanxi.tables import RAW_TABLES, TableSpec
from guanxi.web import create_app
from tests.appdb_fixtures import app_engine, app_session, app_settings, now

__all__ = ["app_engine", "app_session", "app_settings", "now"]

PASSWORD = "pass-word-123"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with small parameters, so tests that sign in often stay fast (tests/appdb uses the real ones)."""
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def app(app_settings: Settings, now: datetime) -> FastAPI:
    """The app on a migrated app database, its clock stopped at ``now``."""
    upgrade(app_settings)
    return create_app(app_settings, clock=lambda: now)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client of the running app (lifespan entered), not signed in."""
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def add_user(app_settings: Settings, now: datetime) -> Callable[..., None]:
    """``add_user(username, role)`` creates an active user with password ``PASSWORD``."""

    def add(username: str, role: Role, *, locale: str = "zh-CN", display_name: str | None = None) -> None:
        engine = make_engine(app_settings)
        with session_factory(engine)() as session, session.begin():
            create_user(
                session,
                username=username,
                password=PASSWORD,
                role=role,
                actor="cli",
                now=now,
                locale=locale,
                display_name=display_name,
            )
        engine.dispose()

    return add


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )


@pytest.fixture
def as_role(client: TestClient, add_user: Callable[..., None]) -> Callable[[Role], TestClient]:
    """``as_role(Role.VIEWER)`` signs the client in as a new user with that role (named after it)."""

    def signed(role: Role) -> TestClient:
        add_user(role.value, role)
        response = sign_in(client, role.value)
        assert response.status_code == 303, response.text
        return client

    return signed


@pytest.fixture
def idle_client(
    app_settings: Settings, now: datetime, add_user: Callable[..., None]
) -> Iterator[Callable[[Role], TestClient]]:
    """``idle_client(Role.ANALYST)`` signs in on an app whose job thread is off (``background=False``).

    Jobs submitted there stay ``queued``: what a request does before the job runs can be checked.
    """
    upgrade(app_settings)
    with TestClient(create_app(app_settings, clock=lambda: now, background=False)) as client:

        def signed(role: Role) -> TestClient:
            add_user(role.value, role)
            response = sign_in(client, role.value)
            assert response.status_code == 303, response.text
            return client

        yield signed


@pytest.fixture
def warehouse_con(client: TestClient) -> BaseBackend:
    """The running app's own warehouse connection (to put rows in)."""
    con: BaseBackend = client.app.state.guanxi.warehouse  # type: ignore[attr-defined]
    return con


def insert_rows(con: BaseBackend, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (missing columns null) into the canonical table ``spec``."""
    con.insert(spec.name, pa.Table.from_pylist(rows, schema=spec.schema.to_pyarrow()))


def wait_for_job(
    client: TestClient, job_id: int, *, headers: Mapping[str, str] | None = None, seconds: float = 60
) -> dict[str, Any]:
    """Poll ``/v1/jobs/{job_id}`` until the job has ended (the app's job thread runs it); return it.

    The job runs in a real background thread, so this waits for it, polling
    every 20 ms up to ``seconds``.
    """
    deadline = time.monotonic() + seconds
    while True:
        response = client.get(f"/v1/jobs/{job_id}", headers=dict(headers or {}))
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["finished"]:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']} after {seconds}s"
        time.sleep(0.02)


def job_id_of(location: str) -> int:
    """The job number of a ``/jobs/N`` or ``/v1/jobs/N`` address."""
    found = re.fullmatch(r"(?:/v1)?/jobs/(\d+)", location)
    assert found, f"not a job address: {location}"
    return int(found.group(1))


RAW = RAW_TABLES
