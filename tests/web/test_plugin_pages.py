"""A plugin's page, menu entry and words reach the web app through the hooks; the built-ins do too."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from guanxi.appdb.migrate import upgrade
from guanxi.appdb.roles import Role
from guanxi.config import Settings
from guanxi.plugins import DEFAULT_PLUGINS, build_plugin_manager, using_plugins
from guanxi.web import create_app
from guanxi.web.i18n import translate

from .conftest import sign_in

PLUGIN_SOURCE = Path(__file__).parents[1] / "plugins" / "guanxi_dingtalk"


@pytest.fixture
def dingtalk(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The example plugin's hook module, registered for the test."""
    monkeypatch.syspath_prepend(str(PLUGIN_SOURCE))
    module = importlib.import_module("guanxi_dingtalk.plugin")
    with using_plugins(module):
        yield module


def test_the_plugin_page_is_served_and_its_menu_entry_shows_in_both_languages(
    dingtalk: ModuleType, app_settings: Settings, now: datetime, add_user: Callable[..., None]
) -> None:
    upgrade(app_settings)
    add_user("viewer", Role.VIEWER)
    with TestClient(create_app(app_settings, clock=lambda: now)) as client:
        assert sign_in(client, "viewer").status_code == 303
        dashboard = client.get("/").text
        assert 'href="/dingtalk"' in dashboard
        assert "钉钉机器人" in dashboard
        assert (
            dashboard.index('href="/segments"')
            < dashboard.index('href="/dingtalk"')
            < dashboard.index('href="/v1/docs"')
        )
        assert "DingTalk robot" in client.get("/?lang=en").text
        page = client.get("/dingtalk")
        assert page.status_code == 200
        assert "未配置" in page.text
        client.cookies.clear()
        assert client.get("/dingtalk", follow_redirects=False).status_code == 303  # sign-in first
    assert translate("en", "nav.dingtalk") == "DingTalk robot"


def test_without_the_web_plugin_no_page_or_route_is_served() -> None:
    own = ("guanxi.web.plugin", "guanxi.marketing.journeys.plugin")  # journeys bring their pages themselves
    pm = build_plugin_manager(
        defaults=[name for name in DEFAULT_PLUGINS if name not in own], entry_points=False
    )
    assert pm.hook.register_pages() == []
    assert pm.hook.menu_items() == []
    from guanxi.events.api import router as intake  # noqa: PLC0415

    assert pm.hook.register_api_routes() == [[intake]]  # only the event intake, which is its own plugin's


def test_the_builtin_pages_come_from_the_web_plugin(app_settings: Settings, now: datetime) -> None:
    app = create_app(app_settings, clock=lambda: now)
    paths = {r.path for r in iter_route_contexts(app.routes) if isinstance(r.original_route, APIRoute)}
    assert {"/", "/customers", "/segments", "/v1/overview", "/v1/reports"} <= paths
