"""Jobs fixtures: the app database (SQLite, or PostgreSQL with GUANXI_TEST_POSTGRES), the plugin kinds."""

from __future__ import annotations

from tests.appdb_fixtures import app_engine, app_session, app_settings, now

__all__ = ["app_engine", "app_session", "app_settings", "now"]
