"""``/v1/campaigns``: a marketer's key creates, changes, previews, dry-runs and drives a campaign; a viewer's
key reads only; every refusal has the one error shape. The shop is the one of test_campaigns_pages."""

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
from guanxi.jobs.kinds import JobContext
from guanxi.jobs.registry import job_kinds
from guanxi.jobs.runner import run_pending
from guanxi.marketing.campaigns.jobs import queue_due_waves
from guanxi.web import create_app

from .test_campaigns_pages import SMS_THEN_EMAIL, seed_shop


class Api:
    def __init__(self, client: TestClient, now: datetime) -> None:
        self.client = client
        self.now = now
        self.state = client.app.state.guanxi  # type: ignore[attr-defined]

    def key(self, role: Role) -> dict[str, str]:
        with self.state.sessions() as session, session.begin():
            issued = issue_api_key(session, name=f"{role.value} key", role=role, actor="cli", now=self.now)
        return {"X-API-Key": issued.secret}

    def build_due_waves(self) -> None:
        """What the campaign-waves service and the job runner do, once, on the app's clock."""
        context = JobContext(
            settings=self.state.settings,
            warehouse=self.state.warehouse,
            sessions=self.state.sessions,
            now=self.now,
        )
        queue_due_waves(context)
        run_pending(
            settings=self.state.settings,
            sessions=self.state.sessions,
            warehouse=self.state.warehouse,
            worker_id="test",
            kinds=job_kinds(),
            writer=True,
            clock=lambda: self.now,
        )


@pytest.fixture
def api(app_settings: Settings, now: datetime) -> Iterator[Api]:
    upgrade(app_settings)
    with TestClient(create_app(app_settings, clock=lambda: now, background=False)) as client:
        state = client.app.state.guanxi  # type: ignore[attr-defined]
        seed_shop(state.warehouse, state.sessions, now)
        yield Api(client, now)


def create(api: Api, headers: dict[str, str], key: str = "spring", **changes: Any) -> Any:
    return api.client.post(
        "/v1/campaigns", json={"key": key, "definition": {**SMS_THEN_EMAIL, **changes}}, headers=headers
    )


def test_a_marketer_creates_reads_and_changes_a_campaign(api: Api) -> None:
    marketer = api.key(Role.MARKETER)
    made = create(api, marketer)
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "draft"
    assert made.json()["version"] == 1
    assert [c["key"] for c in api.client.get("/v1/campaigns", headers=marketer).json()] == ["spring"]
    one = api.client.get("/v1/campaigns/spring", headers=marketer).json()
    assert one["definition"]["channels"] == ["sms", "email"]
    assert one["waves"] == []
    changed = api.client.put(
        "/v1/campaigns/spring", json={"definition": {**SMS_THEN_EMAIL, "name": "第二版"}}, headers=marketer
    )
    assert changed.json()["version"] == 2
    assert changed.json()["name"] == "第二版"


def test_an_invalid_definition_lists_every_problem_in_the_one_error_shape(api: Api) -> None:
    marketer = api.key(Role.MARKETER)
    bad = create(api, marketer, channels=["sms", "pigeon"], content={"sms": {"body": "{{ oops "}})
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "validation_failed"
    assert "pigeon" in error["message"]
    assert create(api, marketer).status_code == 201
    assert create(api, marketer).json()["error"]["code"] == "already_exists"


def test_preview_and_dry_run_count_the_same_people_and_mask_addresses(api: Api) -> None:
    marketer = api.key(Role.MARKETER)
    create(api, marketer)
    preview = api.client.get("/v1/campaigns/spring/preview", headers=marketer).json()
    counts = preview["counts"]
    assert (counts["audience"], counts["consented"], counts["under_cap"]) == (9, 8, 7)
    outcomes = sum(v for k, v in counts.items() if k.startswith("outcome_"))
    assert outcomes == counts["audience"]
    assert preview["by_channel"] == {"sms": 4, "email": 3}
    assert len(preview["samples"]) == 3
    assert all("****" in s["recipient"] or "***@" in s["recipient"] for s in preview["samples"])
    dry = api.client.post("/v1/campaigns/spring/dry-run", headers=marketer).json()
    assert dry["rendered"] == 7
    assert dry["render_failed"] == 0
    assert "sms" in dry["channel_problems"]  # no SMS provider URL in tests
    assert api.client.get("/v1/campaigns/spring/preview?wave=3", headers=marketer).status_code == 422


def test_the_controls_move_the_campaign_and_a_wrong_state_is_409(api: Api) -> None:
    marketer = api.key(Role.MARKETER)
    create(api, marketer)
    launched = api.client.post("/v1/campaigns/spring/launch", headers=marketer)
    assert launched.json()["campaign"]["status"] == "scheduled"
    again = api.client.post("/v1/campaigns/spring/launch", headers=marketer)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "campaign_state"

    api.build_due_waves()
    detail = api.client.get("/v1/campaigns/spring", headers=marketer).json()
    assert detail["status"] == "running"
    assert detail["waves"][0]["state"] == "queued"
    assert detail["waves"][0]["counts"]["queued"] == 7
    assert detail["messages"] == {"pending": 7}

    paused = api.client.post("/v1/campaigns/spring/pause", headers=marketer).json()
    assert paused["campaign"]["status"] == "paused"
    assert paused["messages"] == 7
    resumed = api.client.post("/v1/campaigns/spring/resume", headers=marketer).json()
    assert resumed["campaign"]["status"] == "running"
    assert resumed["messages"] == 7
    cancelled = api.client.post("/v1/campaigns/spring/cancel", headers=marketer).json()
    assert cancelled["campaign"]["status"] == "cancelled"
    assert cancelled["messages"] == 7

    people = api.client.get("/v1/campaigns/spring/recipients?wave=0", headers=marketer).json()
    assert len(people) == 9
    left_out = api.client.get("/v1/campaigns/spring/recipients?outcome=no_consent", headers=marketer).json()
    assert [p["customer_id"] for p in left_out] == ["9"]
    queued = {p["customer_id"]: p["address"] for p in people if p["outcome"] == "queued"}
    assert queued["1"] == "c***@shop.cn"
    assert queued["2"] == "138****0002"
    assert len(api.client.get("/v1/campaigns/spring/recipients?limit=2", headers=marketer).json()) == 2


def test_a_viewer_key_reads_but_may_not_change_and_a_cookie_may_not_post(api: Api) -> None:
    create(api, api.key(Role.MARKETER))
    viewer = api.key(Role.VIEWER)
    assert api.client.get("/v1/campaigns/spring", headers=viewer).status_code == 200
    for path in ("/v1/campaigns/spring/launch", "/v1/campaigns/spring/dry-run"):
        refused = api.client.post(path, headers=viewer)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "permission_denied"
    assert create(api, viewer).status_code == 403
    assert api.client.get("/v1/campaigns/nope", headers=viewer).json()["error"]["code"] == "not_found"
