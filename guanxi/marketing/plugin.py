"""The marketing domain as a plugin: its app-DB tables and migrations, channels, job kinds, services and
journey step kinds.

The built-in channels (``email``, ``sms``, ``aliyun_sms``, ``wechat``,
``webhook``, ``task``), the ``campaigns.wave`` job kind, the
``campaign-waves`` service and the step kinds (``send``, ``wait``, ``exit``)
enter through the same hooks a third-party plugin uses; without this module
registered they do not exist.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from guanxi.jobs.kinds import JobKind, Service
from guanxi.marketing.channels import ChannelDefinition
from guanxi.marketing.channels.aliyun_sms import AliyunSmsChannel, AliyunSmsSettings
from guanxi.marketing.channels.sms_http import SmsHttpChannel, SmsHttpSettings
from guanxi.marketing.channels.smtp import SmtpChannel, SmtpSettings
from guanxi.marketing.channels.task import TaskChannel, TaskSettings
from guanxi.marketing.channels.webhook import WebhookChannel, WebhookSettings
from guanxi.marketing.channels.wechat import WechatChannel, WechatSettings
from guanxi.marketing.journey_steps import (
    JourneyStepRun,
    StepContext,
    StepHandler,
    StepKind,
    StepResult,
    exit_step,
    send_step,
    wait_step,
)
from guanxi.plugins import hookimpl


@hookimpl
def register_appdb_tables() -> list[str]:
    return ["guanxi.marketing.tables", "guanxi.marketing.tasks"]


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
            address="email",
        ),
        ChannelDefinition(
            "sms",
            SmsHttpChannel.from_settings,
            SmsHttpSettings,
            "SMS through any HTTP provider: URL, body template and success rule in settings (GUANXI_SMS_HTTP_*)",
            address="phone",
            medium="sms",
            concurrent=True,
        ),
        ChannelDefinition(
            "aliyun_sms",
            AliyunSmsChannel.from_settings,
            AliyunSmsSettings,
            "SMS through Alibaba Cloud SendSms, signed requests (GUANXI_ALIYUN_SMS_*)",
            address="phone",
            medium="sms",
            concurrent=True,
        ),
        ChannelDefinition(
            "wechat",
            WechatChannel.from_settings,
            WechatSettings,
            "WeChat Official Account template messages and subscription notices (GUANXI_WECHAT_*)",
            address="wechat_openid",
            needs_consent=False,
            concurrent=True,
        ),
        ChannelDefinition(
            "webhook",
            WebhookChannel.from_settings,
            WebhookSettings,
            "Signed JSON POSTs to one endpoint (GUANXI_WEBHOOK_*)",
            needs_consent=False,
            concurrent=True,
        ),
        ChannelDefinition(
            "task",
            TaskChannel.from_settings,
            TaskSettings,
            "A task for the customer's sales rep, or round-robin over a pool (GUANXI_TASKS_*)",
            needs_consent=False,
            customer_facing=False,
        ),
    ]


@hookimpl
def register_job_kinds() -> list[JobKind]:
    from guanxi.marketing.campaigns.jobs import WAVE_KIND

    return [WAVE_KIND]


@hookimpl
def register_services() -> list[Service]:
    from guanxi.marketing.bounce_service import BOUNCES_SERVICE
    from guanxi.marketing.campaigns.jobs import WAVES_SERVICE

    return [WAVES_SERVICE, BOUNCES_SERVICE]


def _either(bare: StepHandler, journey: StepKind) -> StepKind:
    """One kind for both uses: ``journey``'s inside a journey enrollment, ``bare`` for a bare queue step."""

    def handler(context: StepContext, run: JourneyStepRun) -> StepResult:
        return journey.handler(context, run) if context.journey is not None else bare(context, run)

    return replace(journey, handler=handler)


@hookimpl
def register_journey_steps() -> list[StepKind]:
    from guanxi.marketing.journeys.plugin import journey_step_kinds

    bare = {"send": send_step, "wait": wait_step, "exit": exit_step}
    kinds = {k.kind: k for k in journey_step_kinds()}
    both = [_either(handler, kinds.pop(name)) for name, handler in bare.items()]
    return [*both, *kinds.values()]
