"""The marketing domain as a plugin: its app-DB tables and migrations, channels and journey step kinds.

The built-in channels (``email``, ``webhook``) and step kinds (``send``,
``wait``, ``exit``) enter through the same hooks a third-party plugin uses;
without this module registered they do not exist.
"""

from __future__ import annotations

from pathlib import Path

from guanxi.marketing.channels import ChannelDefinition
from guanxi.marketing.channels.smtp import SmtpChannel, SmtpSettings
from guanxi.marketing.channels.webhook import WebhookChannel, WebhookSettings
from guanxi.marketing.journey_steps import StepKind, exit_step, send_step, wait_step
from guanxi.plugins import hookimpl


@hookimpl
def register_appdb_tables() -> list[str]:
    return ["guanxi.marketing.tables"]


@hookimpl
def register_migrations() -> list[Path]:
    return [Path(__file__).parent / "migrations"]


@hookimpl
def register_channels() -> list[ChannelDefinition]:
    return [
        ChannelDefinition(
            "email",
            SmtpChannel.from_settings,
            SmtpSettings,
            "E-mail through an SMTP server (GUANXI_SMTP_*, GUANXI_MAIL_*)",
        ),
        ChannelDefinition(
            "webhook",
            WebhookChannel.from_settings,
            WebhookSettings,
            "Signed JSON POSTs to one endpoint (GUANXI_WEBHOOK_*)",
        ),
    ]


@hookimpl
def register_journey_steps() -> list[StepKind]:
    return [
        StepKind("send", send_step, "Render a message for the customer and put it in the outbox"),
        StepKind("wait", wait_step, "Schedule the next step delay_seconds after this one was due"),
        StepKind("exit", exit_step, "End the journey for the customer"),
    ]
