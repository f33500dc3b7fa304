"""``POST /v1/track`` … ``/v1/batch``: Segment's answers, auth by write key, limits, the spool."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from guanxi.events.messages import MAX_BATCH_BYTES, MAX_EVENT_BYTES
from guanxi.events.spool import SpooledEvent
from tests.events.conftest import IssueKey, basic

Post = Callable[..., Any]


def spooled(client: TestClient) -> list[SpooledEvent]:
    with client.app.state.guanxi.sessions() as session:  # type: ignore[attr-defined]
        return list(session.scalars(select(SpooledEvent).order_by(SpooledEvent.id)))


CALLS = {
    "track": {"userId": "u1", "event": "Order Completed", "properties": {"revenue": 99}},
    "identify": {"userId": "u1", "traits": {"email": "a@example.com"}},
    "page": {"anonymousId": "a1", "name": "Home"},
    "screen": {"userId": "u1", "name": "Cart"},
    "alias": {"previousId": "a1", "userId": "u1"},
    "group": {"userId": "u1", "groupId": "acme", "traits": {"name": "Acme"}},
}


@pytest.mark.parametrize("kind", list(CALLS))
def test_each_call_answers_like_segment_and_is_spooled(client: TestClient, post: Post, kind: str) -> None:
    response = post(kind, {**CALLS[kind], "messageId": f"m-{kind}"})
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}
    (row,) = spooled(client)
    assert (row.type, row.message_id, row.source) == (kind, f"m-{kind}", "segment")
    assert json.loads(row.payload)["type"] == kind


@pytest.mark.parametrize(
    ("short", "kind"), [("t", "track"), ("i", "identify"), ("p", "page"), ("g", "group")]
)
def test_analytics_js_short_paths_and_the_write_key_in_a_text_plain_body(
    client: TestClient, write_key: str, short: str, kind: str
) -> None:
    body = json.dumps({**CALLS[kind], "messageId": "m1", "writeKey": write_key})
    response = client.post(f"/v1/{short}", content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    (row,) = spooled(client)
    assert row.type == kind
    assert write_key not in row.payload


def test_a_browser_preflight_is_allowed(client: TestClient) -> None:
    response = client.options(
        "/v1/batch", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 204
    assert "Authorization" in response.headers["access-control-allow-headers"]


@pytest.mark.parametrize("path", ["batch", "import", "b"])
def test_a_batch_lists_what_it_accepted(client: TestClient, post: Post, path: str) -> None:
    body = {
        "batch": [{"type": kind, **call, "messageId": f"m-{kind}"} for kind, call in CALLS.items()],
        "sentAt": "2026-03-01T09:30:00Z",
    }
    response = post(path, body)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "accepted": 6, "rejected": []}
    assert [r.type for r in spooled(client)] == list(CALLS)


def test_x_api_key_is_accepted_too(client: TestClient, write_key: str) -> None:
    response = client.post("/v1/track", json=CALLS["track"], headers={"X-API-Key": write_key})
    assert response.status_code == 200


def test_a_batch_with_one_bad_message_keeps_the_good_ones_and_reports_the_bad_one(
    client: TestClient, post: Post
) -> None:
    body = {
        "batch": [
            {"type": "track", "userId": "u1", "event": "A", "messageId": "m1"},
            {"type": "track", "event": "B", "messageId": "m2"},
            {"type": "page", "userId": "u1", "messageId": "m3"},
        ]
    }
    response = post("batch", body)
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "accepted": 2,
        "rejected": [{"index": 1, "field": "userId", "reason": "userId or anonymousId is required"}],
    }
    assert [r.message_id for r in spooled(client)] == ["m1", "m3"]


def test_a_batch_of_only_bad_messages_is_a_400_naming_each_index_and_field(
    client: TestClient, post: Post
) -> None:
    body = {"batch": [{"type": "track", "userId": "u1"}, {"type": "visit", "userId": "u1"}]}
    response = post("batch", body)
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "event_invalid",
            "message": "2 of 2 messages rejected: batch[0].event: track needs the event name as a non-empty "
            "string; batch[1].type: 'visit' is not one of track, identify, page, screen, alias, group",
        }
    }
    assert spooled(client) == []


@pytest.mark.parametrize(
    ("path", "body", "code", "message"),
    [
        ("track", {"event": "A"}, "event_invalid", "userId: userId or anonymousId is required"),
        (
            "identify",
            {"userId": "u", "traits": "x"},
            "event_invalid",
            "traits: must be an object, not a string",
        ),
        ("alias", {"userId": "u"}, "event_invalid", "previousId: alias needs previousId"),
        (
            "page",
            {"userId": "u", "timestamp": "later"},
            "event_invalid",
            "timestamp: 'later' is not an ISO 8601",
        ),
        ("batch", {"batch": "x"}, "event_invalid", "batch: must be an array of messages, not a string"),
    ],
)
def test_every_validation_error_is_a_400_in_the_one_error_shape(
    client: TestClient, post: Post, path: str, body: dict[str, Any], code: str, message: str
) -> None:
    response = post(path, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert message in response.json()["error"]["message"]
    assert spooled(client) == []


def test_a_body_that_is_not_json_is_a_400(client: TestClient, write_key: str) -> None:
    response = client.post("/v1/track", content=b"{oops", headers=basic(write_key))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "body_unreadable"


def test_a_single_call_over_32_kb_is_refused(client: TestClient, post: Post) -> None:
    response = post("track", {**CALLS["track"], "properties": {"blob": "x" * MAX_EVENT_BYTES}})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "event_too_large",
        "message": f"a single call may carry at most 32 KB; this one has {len(response.request.content)} bytes",
    }


def test_a_batch_over_500_kb_is_refused_whole(client: TestClient, post: Post) -> None:
    message = {**CALLS["track"], "type": "track", "properties": {"blob": "x" * 20_000}}
    body = {"batch": [{**message, "messageId": f"m{i}"} for i in range(MAX_BATCH_BYTES // 20_000 + 1)]}
    response = post("batch", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "batch_too_large"
    assert "a batch may carry at most 500 KB" in response.json()["error"]["message"]
    assert spooled(client) == []


def test_a_gzip_batch_is_read_and_its_unzipped_size_counts(client: TestClient, write_key: str) -> None:
    small = {"batch": [{"type": "track", **CALLS["track"], "messageId": "z1"}]}
    headers = {**basic(write_key), "Content-Encoding": "gzip", "Content-Type": "application/json"}
    response = client.post("/v1/batch", content=gzip.compress(json.dumps(small).encode()), headers=headers)
    assert response.status_code == 200, response.text
    bomb = {
        "batch": [{"type": "track", **CALLS["track"], "properties": {"pad": " " * (MAX_BATCH_BYTES + 1)}}]
    }
    response = client.post("/v1/batch", content=gzip.compress(json.dumps(bomb).encode()), headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "batch_too_large"
    assert [r.message_id for r in spooled(client)] == ["z1"]


def test_the_same_message_id_is_stored_once_across_requests(client: TestClient, post: Post) -> None:
    first = {**CALLS["track"], "messageId": "dup"}
    assert post("track", first).status_code == 200
    assert post("batch", {"batch": [{"type": "track", **first, "event": "Changed"}]}).status_code == 200
    (row,) = spooled(client)
    assert json.loads(row.payload)["event"] == "Order Completed"


def test_keys_of_different_sources_keep_their_own_message_ids(
    client: TestClient, issue_key: IssueKey, write_key: str
) -> None:
    app_key = issue_key(source="app", name="app")
    for key in (write_key, app_key):
        assert (
            client.post(
                "/v1/track", json={**CALLS["track"], "messageId": "same"}, headers=basic(key)
            ).status_code
            == 200
        )
    assert sorted(r.source for r in spooled(client)) == ["app", "segment"]


def test_the_corrected_time_is_stored_in_the_spool(client: TestClient, post: Post, now: datetime) -> None:
    post("track", {**CALLS["track"], "timestamp": "2026-03-01T08:25:00Z", "sentAt": "2026-03-01T08:30:00Z"})
    (row,) = spooled(client)
    assert (row.received_at, row.occurred_at) == (now, datetime(2026, 3, 1, 9, 25, tzinfo=now.tzinfo))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "gx_00000000_not-a-key"},
        {"Authorization": "Basic " + "Z3hfMDAwMDAwMDBfbm9wZTo="},
        {"Authorization": "Basic !!!"},
    ],
    ids=["none", "unknown-x-api-key", "unknown-basic", "not-base64"],
)
def test_without_a_known_write_key_it_is_a_401(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post("/v1/track", json=CALLS["track"], headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth_failed"
    assert "--scope ingest" in response.json()["error"]["message"]
    assert spooled(client) == []


def test_a_key_without_the_ingest_scope_is_a_403_and_an_ingest_key_cannot_read_the_api(
    client: TestClient, issue_key: IssueKey, write_key: str
) -> None:
    api_key = issue_key(scopes=("api",), name="erp")
    refused = client.post("/v1/track", json=CALLS["track"], headers=basic(api_key))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert "lacks the 'ingest' scope" in refused.json()["error"]["message"]
    assert client.get("/v1/overview", headers={"X-API-Key": write_key}).status_code == 403
    assert client.get("/v1/overview", headers={"X-API-Key": api_key}).status_code == 200


def test_when_the_spool_cannot_be_written_nothing_is_acknowledged(client: TestClient, post: Post) -> None:
    engine = client.app.state.guanxi.engine  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE event_spool")
    response = post("track", CALLS["track"])
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "spool_unavailable"
