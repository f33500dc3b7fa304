"""Marketing fixtures: the app database (SQLite, or PostgreSQL with GUANXI_TEST_POSTGRES),
a real webhook receiver, and settings pointing the channels at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from guanxi.config import Settings
from tests.appdb_fixtures import app_engine, app_session, app_settings, now
from tests.marketing.receiver import WebhookReceiver

__all__ = ["app_engine", "app_session", "app_settings", "now"]

WEBHOOK_SECRET = "whsec-test-0123456789"  # noqa: S105 - a test secret


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(WEBHOOK_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def delivery_settings(app_settings: Settings, receiver: WebhookReceiver) -> Settings:
    """App-database settings whose webhook channel posts to ``receiver``; no jitter, 30 s base back-off."""
    return app_settings.model_copy(
        update={
            "webhook_url": receiver.url,
            "webhook_secret": SecretStr(WEBHOOK_SECRET),
            "outbox_retry_jitter": 0.0,
            "outbox_retry_base_seconds": 30.0,
            "outbox_max_attempts": 3,
            "outbox_lease_seconds": 60.0,
        }
    )
