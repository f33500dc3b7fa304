"""Channels enter through the ``register_channels`` hook, each with its own settings model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from guanxi.errors import ConfigError
from guanxi.marketing.channels import ChannelDefinition, ChannelSet, registered_channels
from guanxi.marketing.channels.memory import MemoryChannel, MemorySettings
from guanxi.marketing.channels.smtp import SmtpChannel, SmtpSettings
from guanxi.marketing.channels.webhook import WebhookChannel, WebhookSettings
from guanxi.marketing.errors import ChannelUnknownError, is_permanent
from guanxi.plugins import hookimpl, using_plugins

CHANNEL_VARIABLES = ("GUANXI_SMTP_", "GUANXI_MAIL_", "GUANXI_WEBHOOK_", "GUANXI_MEMORY_")


@pytest.fixture(autouse=True)
def _no_channel_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No channel variable from the developer's shell, and no ``.env`` in the working directory."""
    for name in os.environ:
        if name.upper().startswith(CHANNEL_VARIABLES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_the_built_in_channels_are_registered_through_the_hook() -> None:
    channels = registered_channels()
    assert list(channels)[:6] == ["email", "sms", "aliyun_sms", "wechat", "webhook", "task"]
    email, webhook = channels["email"], channels["webhook"]
    assert (email.settings, email.factory) == (SmtpSettings, SmtpChannel.from_settings)
    assert (webhook.settings, webhook.factory) == (WebhookSettings, WebhookChannel.from_settings)
    assert email.description
    assert webhook.description


def test_a_channel_is_built_once_from_the_settings_given() -> None:
    channels = ChannelSet(
        channel_settings={
            "email": SmtpSettings(host="mail.example", port=587),
            "webhook": WebhookSettings(url="http://127.0.0.1:9/h", secret=SecretStr("s")),
        }
    )
    email = channels.get("email")
    assert isinstance(email, SmtpChannel)
    assert (email.host, email.port, email.security) == ("mail.example", 587, "starttls")
    assert channels.get("email") is email
    assert isinstance(channels.get("webhook"), WebhookChannel)
    channels.close()


def test_channel_settings_come_from_the_variables_users_set_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUANXI_SMTP_HOST", "smtp.exmail.qq.com")
    monkeypatch.setenv("GUANXI_SMTP_SECURITY", "ssl")
    monkeypatch.setenv("GUANXI_SMTP_PORT", "465")
    monkeypatch.setenv("GUANXI_SMTP_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("GUANXI_MAIL_FROM", "好店 <shop@haodian.example>")
    monkeypatch.setenv("GUANXI_MAIL_REPLY_TO", "service@haodian.example")
    monkeypatch.setenv("GUANXI_WEBHOOK_URL", "https://hooks.example/guanxi")
    monkeypatch.setenv("GUANXI_WEBHOOK_SECRET", "top-secret")
    channels = ChannelSet()

    email = channels.get("email")
    webhook = channels.get("webhook")

    assert isinstance(email, SmtpChannel)
    assert (email.host, email.port, email.security, email.password) == (
        "smtp.exmail.qq.com",
        465,
        "ssl",
        "hunter2-secret",
    )
    assert (email.mail_from, email.reply_to) == ("好店 <shop@haodian.example>", "service@haodian.example")
    assert isinstance(webhook, WebhookChannel)
    assert webhook.url == "https://hooks.example/guanxi"
    assert "top-secret" not in repr(webhook)
    assert "top-secret" not in repr(WebhookSettings())
    assert WebhookSettings().secret == SecretStr("top-secret")
    channels.close()


def test_channel_settings_are_read_from_the_env_file_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "GUANXI_SMTP_HOST=relay.internal\nGUANXI_MAIL_FROM=shop@haodian.example\nGUANXI_WEBHOOK_TIMEOUT_SECONDS=3\n",
        encoding="utf-8",
    )
    assert (SmtpSettings().host, SmtpSettings().mail_from) == ("relay.internal", "shop@haodian.example")
    assert WebhookSettings().timeout_seconds == 3


def test_settings_given_explicitly_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUANXI_SMTP_HOST", "from-the-environment")
    channels = ChannelSet(channel_settings={"email": SmtpSettings(host="given")})
    email = channels.get("email")
    assert isinstance(email, SmtpChannel)
    assert email.host == "given"


def test_an_invalid_variable_is_a_config_error_naming_it_but_not_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GUANXI_SMTP_PORT", "99999")
    monkeypatch.setenv("GUANXI_SMTP_SECURITY", "tls-please")
    with pytest.raises(ConfigError) as caught:
        ChannelSet().get("email")
    message = caught.value.message
    assert message.startswith("invalid settings for the email channel")
    assert "GUANXI_SMTP_PORT" in message
    assert "GUANXI_SMTP_SECURITY" in message
    assert "99999" not in message
    assert "tls-please" not in message


def test_a_channel_that_cannot_be_built_is_tried_again_on_the_next_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    channels = ChannelSet()
    with pytest.raises(ConfigError, match="GUANXI_WEBHOOK_URL"):
        channels.get("webhook")
    monkeypatch.setenv("GUANXI_WEBHOOK_URL", "http://127.0.0.1:9/h")
    monkeypatch.setenv("GUANXI_WEBHOOK_SECRET", "s")
    assert isinstance(channels.get("webhook"), WebhookChannel)
    channels.close()


def test_an_unknown_channel_is_a_permanent_error_listing_the_known_ones() -> None:
    with pytest.raises(ChannelUnknownError, match="'fax'") as caught:
        ChannelSet().get("fax")
    assert is_permanent(caught.value)
    assert caught.value.code == "channel_unknown"
    assert "known: aliyun_sms, email, sms, task, webhook, wechat" in caught.value.message


def test_explicit_definitions_replace_the_registered_channels() -> None:
    memory = MemoryChannel()
    channels = ChannelSet([memory.definition("sms")])
    assert channels.names == ("sms",)
    assert channels.get("sms") is memory
    with pytest.raises(ChannelUnknownError, match=r"\(known: sms\)"):
        channels.get("email")


def test_settings_for_a_channel_not_offered_or_of_the_wrong_model_are_refused() -> None:
    with pytest.raises(ConfigError, match="'mail'"):
        ChannelSet(channel_settings={"mail": SmtpSettings()})
    with pytest.raises(ConfigError, match="must be a SmtpSettings, not a WebhookSettings"):
        ChannelSet(channel_settings={"email": WebhookSettings()})


def test_a_channel_from_a_plugin_is_offered_next_to_the_built_ins() -> None:
    memory = MemoryChannel()
    with using_plugins(memory.plugin("line")):
        channels = ChannelSet()
    assert channels.names[:6] == ("email", "sms", "aliyun_sms", "wechat", "webhook", "task")
    assert "line" in channels.names
    assert channels.get("line") is memory
    assert "line" not in ChannelSet().names


def test_a_channel_name_defined_twice_is_refused_naming_both_plugins() -> None:
    class RivalEmail:
        @hookimpl
        def register_channels(self) -> list[ChannelDefinition]:
            return [MemoryChannel().definition("email")]

    with using_plugins(RivalEmail()), pytest.raises(ConfigError, match="guanxi.marketing.plugin and"):
        registered_channels()
    with pytest.raises(ConfigError, match="two channels are named 'sms'"):
        ChannelSet([MemoryChannel().definition("sms"), MemoryChannel().definition("sms")])


@pytest.mark.parametrize("name", ["", "SMS", "we-chat", "x" * 33, "9sms"])
def test_a_channel_needs_a_lower_case_name_of_at_most_32_characters(name: str) -> None:
    with pytest.raises(ConfigError, match="is not a channel name"):
        MemoryChannel().definition(name)


def test_a_channel_needs_a_pydantic_settings_model() -> None:
    with pytest.raises(ConfigError, match="pydantic-settings class"):
        ChannelDefinition("sms", lambda _: MemoryChannel(), dict)  # type: ignore[type-var]


def test_a_definition_names_the_variables_of_its_settings() -> None:
    email = registered_channels()["email"]
    assert email.variables() == {
        "host": "GUANXI_SMTP_HOST",
        "port": "GUANXI_SMTP_PORT",
        "security": "GUANXI_SMTP_SECURITY",
        "username": "GUANXI_SMTP_USERNAME",
        "password": "GUANXI_SMTP_PASSWORD",
        "timeout_seconds": "GUANXI_SMTP_TIMEOUT_SECONDS",
        "ca_file": "GUANXI_SMTP_CA_FILE",
        "messages_per_session": "GUANXI_SMTP_MESSAGES_PER_SESSION",
        "idle_seconds": "GUANXI_SMTP_IDLE_SECONDS",
        "mail_from": "GUANXI_MAIL_FROM",
        "mail_reply_to": "GUANXI_MAIL_REPLY_TO",
        "bounce_address": "GUANXI_MAIL_BOUNCE_ADDRESS",
    }
    assert MemoryChannel().definition().variables() == {}
    assert isinstance(MemoryChannel().definition().read_settings(), MemorySettings)


def test_closing_the_set_closes_every_channel_even_when_one_fails() -> None:
    class Broken(MemoryChannel):
        def close(self) -> None:
            super().close()
            raise OSError("socket already gone")

    broken, fine = Broken(), MemoryChannel()
    channels = ChannelSet([broken.definition("a"), fine.definition("b")])
    channels.get("a")
    channels.get("b")
    with pytest.raises(OSError, match="socket already gone"):
        channels.close()
    assert broken.closed
    assert fine.closed
