"""Marketing fixtures: the app database (SQLite, or PostgreSQL with GUANXI_TEST_POSTGRES),
a real webhook receiver, and webhook settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from guanxi.config import Settings
from guanxi.marketing.channels.webhook import WebhookSettings
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
def webhook_settings(receiver: WebhookReceiver) -> WebhookSettings:
    """The webhook channel's settings: post to ``receiver``, signed with WEBHOOK_SECRET."""
    return WebhookSettings(url=receiver.url, secret=SecretStr(WEBHOOK_SECRET), timeout_seconds=10)


@pytest.fixture
def channel_settings(webhook_settings: WebhookSettings) -> dict[str, BaseSettings]:
    """Per-channel settings for ``run_worker``: the webhook channel posts to ``receiver``."""
    return {"webhook": webhook_settings}


@pytest.fixture
def delivery_settings(app_settings: Settings) -> Settings:
    """App-database settings with no jitter, 30 s base back-off, 3 attempts, 60 s leases."""
    return app_settings.model_copy(
        update={
            "outbox_retry_jitter": 0.0,
            "outbox_retry_base_seconds": 30.0,
            "outbox_max_attempts": 3,
            "outbox_lease_seconds": 60.0,
        }
    )
