"""The channel registry builds channels from Settings by name."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from guanxi.config import Settings, get_settings
from guanxi.marketing.channels import CHANNEL_FACTORIES, ChannelSet
from guanxi.marketing.channels.smtp import SmtpChannel
from guanxi.marketing.channels.webhook import WebhookChannel
from guanxi.marketing.errors import ChannelUnknownError, is_permanent


def test_built_in_channels_are_email_and_webhook() -> None:
    assert sorted(CHANNEL_FACTORIES) == ["email", "webhook"]


def test_a_channel_is_built_once_from_settings(settings: Settings) -> None:
    local = settings.model_copy(
        update={
            "smtp_host": "mail.example",
            "smtp_port": 587,
            "webhook_url": "http://127.0.0.1:9/h",
            "webhook_secret": SecretStr("s"),
        }
    )
    channels = ChannelSet(local)
    email = channels.get("email")
    assert isinstance(email, SmtpChannel)
    assert (email.host, email.port, email.security) == ("mail.example", 587, "starttls")
    assert channels.get("email") is email
    assert isinstance(channels.get("webhook"), WebhookChannel)
    channels.close()


def test_an_unknown_channel_is_a_permanent_error(settings: Settings) -> None:
    with pytest.raises(ChannelUnknownError, match="'sms'") as caught:
        ChannelSet(settings).get("sms")
    assert is_permanent(caught.value)
    assert caught.value.code == "channel_unknown"


def test_channel_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUANXI_SMTP_SECURITY", "ssl")
    monkeypatch.setenv("GUANXI_SMTP_PORT", "465")
    monkeypatch.setenv("GUANXI_WEBHOOK_SECRET", "top-secret")
    monkeypatch.setenv("GUANXI_OUTBOX_LEASE_SECONDS", "2.5")
    loaded = get_settings()
    assert (loaded.smtp_security, loaded.smtp_port, loaded.outbox_lease_seconds) == ("ssl", 465, 2.5)
    assert loaded.webhook_secret is not None
    assert "top-secret" not in repr(loaded)
    assert loaded.webhook_secret.get_secret_value() == "top-secret"
