"""Settings: defaults, validation, and the refusal of the development secret in production."""

from __future__ import annotations

import pytest

from guanxi.config import get_settings
from guanxi.errors import ConfigError


def test_defaults_are_the_embedded_stores_in_shanghai_time(monkeypatch):
    for name in ("GUANXI_WAREHOUSE_URL", "GUANXI_APP_DB_URL", "GUANXI_TIMEZONE", "GUANXI_ENV"):
        monkeypatch.delenv(name, raising=False)

    settings = get_settings(_env_file=None)

    assert settings.warehouse_url == "duckdb://data/warehouse.duckdb"
    assert settings.app_db_url == "sqlite:///data/app.sqlite"
    assert settings.timezone == "Asia/Shanghai"
    assert settings.currency == "CNY"


def test_environment_variables_override(monkeypatch):
    monkeypatch.setenv("GUANXI_TIMEZONE", "Asia/Hong_Kong")
    monkeypatch.setenv("GUANXI_STALE_MONTHS", "6")

    settings = get_settings(_env_file=None)

    assert (settings.timezone, settings.stale_months) == ("Asia/Hong_Kong", 6)


def test_unknown_time_zone_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        get_settings(timezone="Mars/Olympus")


def test_production_refuses_the_development_secret():
    with pytest.raises(ConfigError, match="GUANXI_SECRET_KEY"):
        get_settings(env="prod")

    assert get_settings(env="prod", secret_key="s3cret-from-vault").env == "prod"
