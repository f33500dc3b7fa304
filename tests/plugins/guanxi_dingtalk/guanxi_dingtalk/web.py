"""A page of the plugin: whether the DingTalk robot is set up (the secret is never shown)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from markupsafe import escape

from guanxi.web.auth import CanView
from guanxi_dingtalk.channel import DingTalkSettings

router = APIRouter()


@router.get("/dingtalk", response_class=HTMLResponse)
def dingtalk_page(principal: CanView) -> HTMLResponse:
    settings = DingTalkSettings()
    host = urlsplit(settings.webhook).hostname if settings.webhook else None
    state = f"已配置：{escape(host)}" if host and settings.secret else "未配置"
    return HTMLResponse(
        f"<!doctype html><html lang='zh-CN'><title>钉钉机器人</title><h1>钉钉机器人</h1><p>{state}</p>"
    )
