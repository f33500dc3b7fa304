"""App-database fixtures (SQLite by default, a private PostgreSQL schema with GUANXI_TEST_POSTGRES)."""

from __future__ import annotations

from tests.appdb_fixtures import app_engine, app_session, app_settings, now

__all__ = ["app_engine", "app_session", "app_settings", "now"]
