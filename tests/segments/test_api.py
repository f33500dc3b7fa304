"""``/v1/segments`` through the app: API keys per role, validation errors, live previews."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from ibis.backends import BaseBackend

from guanxi.appdb.api_keys import issue_api_key
from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.roles import Role
from guanxi.config import Settings
from tests.web.conftest import add_user, app, as_role, client, quick_hashes, warehouse_con

from .scenario import build

__all__ = ["add_user", "app", "as_role", "client", "quick_hashes", "warehouse_con"]


@pytest.fixture
def key_for(app_settings: Settings, now: datetime) -> Callable[[Role], dict[str, str]]:
    """``key_for(role)``: headers carrying a fresh API key with that role."""

    def issue(role: Role) -> dict[str, str]:
        engine = make_engine(app_settings)
        with session_factory(engine)() as session, session.begin():
            issued = issue_api_key(session, name=f"{role.value} key", role=role, actor="cli", now=now)
        engine.dispose()
        return {"X-API-Key": issued.secret}

    return issue


@pytest.fixture
def shop(warehouse_con: BaseBackend) -> BaseBackend:
    build(warehouse_con)
    return warehouse_con


BIG = {"key": "big", "name": "高价值", "spec": {"where": "clv >= 500"}}


@pytest.mark.parametrize("role", [Role.ADMIN, Role.ANALYST, Role.MARKETER])
def test_writing_roles_create_and_everyone_reads(
    client: TestClient, key_for: Callable[[Role], dict[str, str]], role: Role
) -> None:
    created = client.post("/v1/segments", json=BIG, headers=key_for(role))
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["key"], body["name"], body["created_by"].split(":")[0]) == ("big", "高价值", "api_key")
    assert body["spec"] == {"where": {"score": "clv", "op": ">=", "value": 500}}
    viewer = key_for(Role.VIEWER)
    assert [s["key"] for s in client.get("/v1/segments", headers=viewer).json()] == ["big"]
    assert client.get("/v1/segments/big", headers=viewer).json()["name"] == "高价值"


def test_viewers_may_not_write(client: TestClient, key_for: Callable[[Role], dict[str, str]]) -> None:
    viewer = key_for(Role.VIEWER)
    for method, path, body in [
        ("POST", "/v1/segments", BIG),
        ("PATCH", "/v1/segments/big", {"name": "x"}),
        ("POST", "/v1/segments/big/archive", None),
    ]:
        response = client.request(method, path, json=body, headers=viewer)
        assert response.status_code == 403, f"{method} {path}"
        assert response.json()["error"]["code"] == "permission_denied"


def test_an_invalid_spec_answers_every_problem(
    client: TestClient, key_for: Callable[[Role], dict[str, str]]
) -> None:
    body = {"key": "bad", "spec": {"where": {"all": ["nope = 1", "clv >= abc", {"segment": "ghost"}]}}}
    response = client.post("/v1/segments", json=body, headers=key_for(Role.ANALYST))
    error = response.json()["error"]
    assert error["code"] == "segment_invalid"
    assert "3 problem(s)" in error["message"]
    assert "where.all[0].score" in error["message"]
    assert "where.all[2].segment: no segment 'ghost' [unknown_segment]" in error["message"]


def test_update_archive_and_conflicts(client: TestClient, key_for: Callable[[Role], dict[str, str]]) -> None:
    marketer = key_for(Role.MARKETER)
    assert client.post("/v1/segments", json=BIG, headers=marketer).status_code == 201
    again = client.post("/v1/segments", json=BIG, headers=marketer)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_exists")
    changed = client.patch("/v1/segments/big", json={"spec": {"where": "clv >= 700"}}, headers=marketer)
    assert changed.json()["spec"]["where"]["value"] == 700
    archived = client.post("/v1/segments/big/archive", headers=marketer)
    assert archived.json()["archived"] is True
    assert client.get("/v1/segments", headers=marketer).json() == []
    assert [s["key"] for s in client.get("/v1/segments?archived=true", headers=marketer).json()] == ["big"]
    missing = client.get("/v1/segments/ghost", headers=marketer)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")


def test_previews_count_live_as_of_a_date(
    client: TestClient, shop: BaseBackend, key_for: Callable[[Role], dict[str, str]]
) -> None:
    analyst = key_for(Role.ANALYST)
    client.post("/v1/segments", json=BIG, headers=analyst)
    saved = client.get("/v1/segments/big/preview?as_of=2024-12-31&sample=1", headers=analyst).json()
    assert saved == {
        "as_of": "2024-12-31",
        "count": 3,
        "sample": [{"customer_id": 1, "name": "一", "gender": "F", "province": "广东", "city": "深圳"}],
    }
    unsaved = client.post(
        "/v1/segments/preview",
        json={"spec": {"where": {"all": [{"segment": "big"}, "province = 广东"]}}, "as_of": "2024-12-31"},
        headers=key_for(Role.VIEWER),
    ).json()
    assert (unsaved["count"], [r["customer_id"] for r in unsaved["sample"]]) == (1, [1])


def test_signed_in_viewers_read_through_their_session(
    as_role: Callable[[Role], TestClient], key_for: Callable[[Role], dict[str, str]]
) -> None:
    session_client = as_role(Role.VIEWER)
    session_client.post("/v1/segments", json=BIG, headers=key_for(Role.ADMIN))
    assert [s["key"] for s in session_client.get("/v1/segments").json()] == ["big"]


def test_a_segment_carries_its_rule_in_words_in_every_language(
    client: TestClient, key_for: Callable[[Role], dict[str, str]]
) -> None:
    body = {
        "key": "lapsed",
        "spec": {"where": {"all": ["clv >= 500", {"behaviour": "not_bought", "within_days": 90}]}},
    }
    created = client.post("/v1/segments", json=body, headers=key_for(Role.ANALYST)).json()
    assert created["rule"] == {
        "zh-CN": "全部满足：\n- CLV ≥ 500\n- 90 天内未购买",
        "en": "all of:\n- clv ≥ 500\n- not bought within 90 days",
    }
    assert created["description"] == ""  # the user's own words stay apart
    listed = client.get("/v1/segments", headers=key_for(Role.VIEWER)).json()
    assert listed[0]["rule"] == created["rule"]
