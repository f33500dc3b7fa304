"""``/v1/journeys``: a marketer's key installs recipes, writes, validates, saves and drives journeys; a
viewer's key reads only; a cookie session may read but not change; every refusal and every invalid
definition has the one error shape."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guanxi.appdb.api_keys import issue_api_key
from guanxi.appdb.migrate import upgrade
from guanxi.appdb.roles import Role
from guanxi.config import Settings
from guanxi.marketing.journeys import tables as jt
from guanxi.marketing.journeys.recipes import registered_recipes
from guanxi.web import create_app

from .test_journeys_pages import BROKEN, enroll


class Api:
    def __init__(self, client: TestClient, now: datetime) -> None:
        self.client = client
        self.now = now
        self.state = client.app.state.guanxi  # type: ignore[attr-defined]

    def key(self, role: Role) -> dict[str, str]:
        with self.state.sessions() as session, session.begin():
            issued = issue_api_key(session, name=f"{role.value} key", role=role, actor="cli", now=self.now)
        return {"X-API-Key": issued.secret}


@pytest.fixture
def api(app_settings: Settings, now: datetime) -> Iterator[Api]:
    upgrade(app_settings)
    with TestClient(create_app(app_settings, clock=lambda: now, background=False)) as client:
        yield Api(client, now)


def error_of(response: Any) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    error: dict[str, str] = body["error"]
    return error


def test_a_marketer_installs_a_recipe_and_reads_its_status_with_its_steps(api: Api) -> None:
    marketer = api.key(Role.MARKETER)
    made = api.client.post("/v1/journeys", json={"recipe": "唤醒"}, headers=marketer)
    assert made.status_code == 201, made.text
    assert made.json()["key"] == "win-back"
    assert made.json()["status"] == "draft"
    assert made.json()["recipe"] == "win_back"
    assert made.json()["counts"]["entered"] == 0
    enroll(
        api.state.sessions,
        "win-back",
        "1",
        api.now,
        step="high_value",
        runs=((0, "coupon", "send", "done", "sent:sms"),),
    )
    enroll(api.state.sessions, "win-back", "2", api.now, state=jt.GOAL)
    listed = api.client.get("/v1/journeys", headers=marketer).json()
    assert [(j["key"], j["counts"]["entered"], j["counts"]["goal"]) for j in listed] == [("win-back", 2, 1)]
    assert listed[0]["counts"]["goal_rate"] == 0.5
    one = api.client.get("/v1/journeys/win-back", headers=marketer).json()
    assert [s["name"] for s in one["steps"]] == [
        "coupon",
        "high_value",
        "call_task",
        "wait_14_days",
        "tag_not_back",
    ]
    coupon, branch = one["steps"][0], one["steps"][1]
    assert (coupon["done"], coupon["outcomes"]) == (1, {"sent:sms": 1})
    assert branch["here"] == 1
    assert branch["exits"] == [
        {"label": "then", "target": "call_task"},
        {"label": "else", "target": "wait_14_days"},
    ]
    assert one["steps"][-1]["exits"] == [{"label": "next", "target": None}]
    assert one["source"] == registered_recipes()["win_back"].text
    assert one["definition"]["trigger"]["kind"] == "lifecycle_changed"
    assert [v["version"] for v in one["versions"]] == [1]
    again = api.client.post("/v1/journeys", json={"recipe": "win_back"}, headers=marketer)
    assert again.status_code == 409
    assert error_of(again)["code"] == "already_exists"


def test_the_recipes_are_listed_with_their_text(api: Api) -> None:
    recipes = api.client.get("/v1/journeys/recipes", headers=api.key(Role.VIEWER)).json()
    assert [r["key"] for r in recipes] == list(registered_recipes())
    reminder = next(r for r in recipes if r["key"] == "payment_reminder")
    assert (reminder["name_zh"], reminder["name_en"]) == ("催付", "Payment reminder")
    assert "order_unpaid" in reminder["text"]


def test_a_journey_is_written_as_text_or_as_json_and_saved_as_new_versions(api: Api) -> None:
    marketer = api.key(Role.MARKETER)
    text = registered_recipes()["holiday_care"].text
    made = api.client.post("/v1/journeys", json={"key": "mid-autumn", "text": text}, headers=marketer)
    assert made.status_code == 201, made.text
    assert made.json()["version"] == 1
    changed = api.client.put(
        "/v1/journeys/mid-autumn", json={"text": text.replace("节日问候", "中秋问候")}, headers=marketer
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    definition = api.client.get("/v1/journeys/mid-autumn", headers=marketer).json()["definition"]
    same = api.client.put("/v1/journeys/mid-autumn", json={"definition": definition}, headers=marketer)
    assert same.json()["version"] == 2  # an unchanged definition keeps the version
    as_json = api.client.post(
        "/v1/journeys", json={"key": "as-json", "definition": definition}, headers=marketer
    )
    assert as_json.status_code == 201
    assert api.client.put("/v1/journeys/nothing", json={"text": text}, headers=marketer).status_code == 404


def test_an_invalid_definition_is_one_error_listing_every_problem(api: Api) -> None:
    marketer = api.key(Role.MARKETER)
    response = api.client.post("/v1/journeys", json={"key": "broken", "text": BROKEN}, headers=marketer)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_failed"
    for path in ("trigger.params.minutes", "steps.0.content.sms.body", "steps.1.hourz", "steps.2.then"):
        assert path in error["message"]
    checked = api.client.post("/v1/journeys/validate", json={"text": BROKEN}, headers=marketer).json()
    assert checked["valid"] is False
    assert {"path": "steps.2.then", "message": "no step named 'nowhere'"} in checked["problems"]
    fine = api.client.post(
        "/v1/journeys/validate", json={"text": registered_recipes()["care"].text}, headers=marketer
    ).json()
    assert fine == {"valid": True, "problems": []}
    assert api.client.get("/v1/journeys", headers=marketer).json() == []
    neither = api.client.post("/v1/journeys", json={"key": "x"}, headers=marketer)
    assert neither.status_code == 422
    assert "exactly one of text, definition or recipe" in error_of(neither)["message"]


def test_the_controls_follow_the_status_and_refuse_with_409(api: Api) -> None:
    marketer = api.key(Role.MARKETER)
    api.client.post("/v1/journeys", json={"recipe": "payment_reminder"}, headers=marketer)
    enroll(api.state.sessions, "payment-reminder", "1", api.now, step="sms_15_minutes")
    started = api.client.post("/v1/journeys/payment-reminder/activate", headers=marketer)
    assert started.status_code == 200, started.text
    assert started.json()["journey"]["status"] == "active"
    assert started.json()["journey"]["activated_at"] is not None
    refused = api.client.post("/v1/journeys/payment-reminder/activate", headers=marketer)
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "journey_state"
    paused = api.client.post("/v1/journeys/payment-reminder/pause", headers=marketer)
    assert paused.json()["journey"]["status"] == "paused"
    resumed = api.client.post(
        "/v1/journeys/payment-reminder/activate", json={"catch_up": True}, headers=marketer
    )
    assert resumed.json()["journey"]["status"] == "active"
    archived = api.client.post("/v1/journeys/payment-reminder/archive", headers=marketer)
    assert archived.json() | {"journey": None} == {"journey": None, "stopped": 1}
    assert archived.json()["journey"]["counts"]["stopped"] == 1
    frozen = api.client.put(
        "/v1/journeys/payment-reminder",
        json={"text": registered_recipes()["payment_reminder"].text},
        headers=marketer,
    )
    assert frozen.status_code == 409


def test_a_viewer_key_reads_but_may_not_change_and_a_cookie_session_may_not_change_v1(api: Api) -> None:
    marketer, viewer = api.key(Role.MARKETER), api.key(Role.VIEWER)
    api.client.post("/v1/journeys", json={"recipe": "care"}, headers=marketer)
    assert api.client.get("/v1/journeys/care", headers=viewer).status_code == 200
    for method, path, body in (
        ("POST", "/v1/journeys", {"recipe": "research"}),
        ("POST", "/v1/journeys/validate", {"text": "name: x"}),
        ("PUT", "/v1/journeys/care", {"text": "name: x"}),
        ("POST", "/v1/journeys/care/activate", None),
        ("POST", "/v1/journeys/care/pause", None),
        ("POST", "/v1/journeys/care/archive", None),
    ):
        response = api.client.request(method, path, json=body, headers=viewer)
        assert response.status_code == 403, f"{method} {path}"
        assert error_of(response)["code"] == "permission_denied"
    anonymous = api.client.get("/v1/journeys")
    assert anonymous.status_code == 401
    assert api.client.get("/v1/journeys/nothing-here", headers=viewer).status_code == 404


def test_a_customer_s_journeys_are_listed_newest_first_with_their_steps(api: Api) -> None:
    marketer = api.key(Role.MARKETER)
    api.client.post("/v1/journeys", json={"recipe": "win_back"}, headers=marketer)
    enroll(
        api.state.sessions,
        "win-back",
        "42",
        api.now,
        step="high_value",
        runs=((0, "coupon", "send", "done", "sent:sms"), (1, "high_value", "branch", "pending", None)),
    )
    found = api.client.get("/v1/customers/42/journeys", headers=api.key(Role.VIEWER)).json()
    assert len(found) == 1
    assert (found[0]["journey_key"], found[0]["journey_name"], found[0]["state"]) == (
        "win-back",
        "唤醒 Win-back",
        "active",
    )
    assert [(s["name"], s["state"], s["outcome"]) for s in found[0]["steps"]] == [
        ("coupon", "done", "sent:sms"),
        ("high_value", "pending", None),
    ]
    assert api.client.get("/v1/customers/43/journeys", headers=marketer).json() == []
