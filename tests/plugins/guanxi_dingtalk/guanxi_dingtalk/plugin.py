"""guanxi-dingtalk's hooks: one of each kind a shop's own extension would add."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from fastapi import APIRouter

from guanxi.appdb.roles import Permission
from guanxi.marketing.channels import ChannelDefinition
from guanxi.models.declared import ModelDefinition
from guanxi.plugins import hookimpl
from guanxi.segments.conditions import ConditionKind
from guanxi.web.pages import MenuItem
from guanxi_dingtalk.channel import DingTalkChannel, DingTalkSettings
from guanxi_dingtalk.conditions import BirthdayMonth
from guanxi_dingtalk.models import WEEKEND


@hookimpl
def register_channels() -> list[ChannelDefinition[Any]]:
    return [
        ChannelDefinition(
            name="dingtalk",
            factory=DingTalkChannel.from_settings,
            settings=DingTalkSettings,
            description="DingTalk group robot (signed webhook)",
        )
    ]


@hookimpl
def register_import_presets() -> list[Path]:
    return [Path(__file__).parent / "presets"]


@hookimpl
def register_models() -> list[ModelDefinition[Any]]:
    return [WEEKEND]


@hookimpl
def register_segment_conditions() -> list[ConditionKind[Any]]:
    return [BirthdayMonth()]


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    @cli.command("dingtalk")
    def dingtalk_command() -> None:
        """Say whether the DingTalk robot is set up (never prints the secret)."""
        settings = DingTalkSettings()
        typer.echo(
            "dingtalk: configured" if settings.webhook and settings.secret else "dingtalk: not configured"
        )


@hookimpl
def register_pages() -> list[APIRouter]:
    from guanxi_dingtalk.web import router

    return [router]


@hookimpl
def menu_items() -> list[MenuItem]:
    return [MenuItem("nav.dingtalk", "/dingtalk", Permission.VIEW, "dingtalk", order=650)]


@hookimpl
def register_translations() -> dict[str, dict[str, str]]:
    return {"zh-CN": {"nav.dingtalk": "钉钉机器人"}, "en": {"nav.dingtalk": "DingTalk robot"}}
