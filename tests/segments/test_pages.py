"""The read-only segment pages, in both languages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi.testclient import TestClient
from ibis.backends import BaseBackend

from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.roles import Role
from guanxi.config import Settings
from guanxi.segments import create_segment
from tests.web.conftest import add_user, app, as_role, client, quick_hashes, warehouse_con

from .scenario import build

__all__ = ["add_user", "app", "as_role", "client", "quick_hashes", "warehouse_con"]


def define(settings: Settings, now: datetime, key: str, spec: dict[str, object]) -> None:
    engine = make_engine(settings)
    with session_factory(engine)() as session, session.begin():
        create_segment(session, key, spec, actor="cli", now=now)
    engine.dispose()


def test_the_list_and_a_segment_with_its_live_count(
    as_role: Callable[[Role], TestClient], warehouse_con: BaseBackend, app_settings: Settings, now: datetime
) -> None:
    build(warehouse_con)
    # the app's clock is 2026-03-01: the latest scores run on or before it is 2025-01-31's
    define(app_settings, now, "champions", {"name": "冠军客户", "where": "rfm_segment = Champions"})
    viewer = as_role(Role.VIEWER)
    listing = viewer.get("/segments")
    assert listing.status_code == 200
    assert 'href="/segments/champions"' in listing.text
    assert "冠军客户" in listing.text
    assert "尚未刷新" in listing.text
    page = viewer.get("/segments/champions").text
    assert "截至 2026-03-01 共 6 人" in page
    assert 'href="/customers/6"' in page
    assert "score: rfm_segment" in page
    english = viewer.get("/segments/champions?lang=en").text
    assert "6 members as of 2026-03-01" in english


def test_a_warehouse_without_scores_says_why(
    as_role: Callable[[Role], TestClient], app_settings: Settings, now: datetime
) -> None:
    define(app_settings, now, "big", {"where": "clv >= 500"})
    page = as_role(Role.VIEWER).get("/segments/big")
    assert page.status_code == 200
    assert "数据仓库暂时无法计算该分群" in page.text
    assert "guanxi models run" in page.text


def test_an_unknown_segment_is_404_and_the_empty_list_says_so(as_role: Callable[[Role], TestClient]) -> None:
    viewer = as_role(Role.VIEWER)
    assert viewer.get("/segments/ghost").status_code == 404
    assert "还没有分群" in viewer.get("/segments").text


def test_a_segment_page_shows_its_rule_in_the_readers_language(
    as_role: Callable[[Role], TestClient], app_settings: Settings, now: datetime
) -> None:
    define(
        app_settings, now, "lapsed", {"where": {"all": ["clv >= 500", {"not": "tag: credit.restriction"}]}}
    )
    viewer = as_role(Role.VIEWER)
    page = viewer.get("/segments/lapsed").text
    assert "全部满足：<ul><li>CLV ≥ 500</li><li>不满足：有标签 credit.restriction</li></ul>" in page
    english = viewer.get("/segments/lapsed?lang=en").text
    assert "all of:<ul><li>clv ≥ 500</li><li>not: has tag credit.restriction</li></ul>" in english
