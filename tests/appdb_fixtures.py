"""App-database fixtures shared by tests/appdb and tests/web.

Without ``GUANXI_TEST_POSTGRES`` every test gets a SQLite file in its own
temporary folder. With it (a SQLAlchemy URL such as
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) every test gets a fresh
PostgreSQL schema — created before, reached through ``search_path`` in the
connection options, dropped after — so tests stay isolated and can run in
parallel against one database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session

from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.migrate import upgrade
from guanxi.config import Settings

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def postgres_url() -> str | None:
    return os.environ.get("GUANXI_TEST_POSTGRES") or None


@pytest.fixture
def app_settings(settings: Settings) -> Iterator[Settings]:
    """``settings`` whose app database is empty and private to this test."""
    base = postgres_url()
    if base is None:
        yield settings
        return
    schema = f"guanxi_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(base).set(drivername="postgresql+psycopg"))
    quoted = admin.dialect.identifier_preparer.quote_identifier(schema)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {quoted}"))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield settings.model_copy(update={"app_db_url": url.render_as_string(hide_password=False)})
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {quoted} CASCADE"))
        admin.dispose()


@pytest.fixture
def app_engine(app_settings: Settings) -> Iterator[Engine]:
    """An engine on a migrated, empty app database."""
    engine = make_engine(app_settings)
    upgrade(app_settings, engine=engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app_session(app_engine: Engine) -> Iterator[Session]:
    """A session on the migrated app database; rolled back and closed afterwards."""
    with session_factory(app_engine)() as session:
        yield session
        session.rollback()


@pytest.fixture
def now() -> datetime:
    """The fixed time tests run at: 2026-03-01 09:30 UTC."""
    return NOW
