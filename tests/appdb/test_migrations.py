"""Migrations: packaged, idempotent, and in step with the ORM tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from guanxi.appdb.audit import AuditEntry
from guanxi.appdb.database import database_url, make_engine
from guanxi.appdb.migrate import current_revision, downgrade, head_revision, upgrade
from guanxi.appdb.models import load_tables
from guanxi.config import Settings
from guanxi.errors import ConfigError


def test_upgrade_is_idempotent_and_reaches_head(app_settings: Settings) -> None:
    assert upgrade(app_settings) == head_revision()
    assert upgrade(app_settings) == head_revision()


def test_migrated_schema_matches_the_orm_tables(app_engine: Engine) -> None:
    with app_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, load_tables()) == []


def test_downgrade_to_base_removes_every_table(app_settings: Settings, app_engine: Engine) -> None:
    downgrade(app_settings, "base", engine=app_engine)
    assert set(inspect(app_engine).get_table_names()) <= {"alembic_version"}
    assert current_revision(app_engine) is None


def test_sqlite_file_and_its_folder_are_created(settings: Settings, tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "app.sqlite"
    local = settings.model_copy(update={"app_db_url": f"sqlite:///{target}"})
    upgrade(local)
    assert target.is_file()


def test_plain_postgresql_urls_get_the_psycopg_driver(settings: Settings) -> None:
    local = settings.model_copy(update={"app_db_url": "postgresql://u@db.example/crm"})
    assert database_url(local).drivername == "postgresql+psycopg"


def test_unsupported_backend_is_a_config_error(settings: Settings) -> None:
    local = settings.model_copy(update={"app_db_url": "mysql://u@h/db"})
    with pytest.raises(ConfigError, match="sqlite or postgresql"):
        make_engine(local)


def test_times_round_trip_as_aware_utc_and_naive_times_are_refused(app_engine: Engine) -> None:
    shanghai = timezone(timedelta(hours=8))
    with Session(app_engine) as session:
        session.add(
            AuditEntry(at=datetime(2026, 3, 1, 17, 30, tzinfo=shanghai), actor="cli", action="a", target="t")
        )
        session.commit()
        session.expire_all()
        stored = session.query(AuditEntry).one()
        assert stored.at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
        assert stored.at.tzinfo is UTC
        session.add(AuditEntry(at=datetime(2026, 3, 1), actor="cli", action="a", target="t"))
        with pytest.raises(StatementError, match="timezone-aware"):
            session.commit()
