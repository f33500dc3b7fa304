"""The /v1 API with X-API-Key: roles, users administration, and the OpenAPI description."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from guanxi.appdb.roles import Role

from .conftest import csrf_of

SECRET = re.compile(r"(gx_[0-9a-f]{8}_[A-Za-z0-9_\-]{43})")


def issue_key(admin: TestClient, role: str, name: str = "ERP sync") -> str:
    """Issue a key through the users page signed in as ``admin`` and return the secret shown once."""
    token = csrf_of(admin.get("/users").text)
    page = admin.post("/users/api-keys", data={"name": name, "role": role, "csrf_token": token})
    assert page.headers["cache-control"] == "no-store"
    found = SECRET.search(page.text)
    assert found, "the new key is not on the page"
    return found.group(1)


def test_a_key_authenticates_with_its_role(as_role: Callable[[Role], TestClient], client: TestClient) -> None:
    key = issue_key(as_role(Role.ADMIN), "viewer")
    client.cookies.clear()
    me = client.get("/v1/me", headers={"X-API-Key": key}).json()
    assert me["kind"] == "api_key"
    assert me["role"] == "viewer"
    assert me["permissions"] == ["view"]
    assert client.get("/v1/users", headers={"X-API-Key": key}).status_code == 403


def test_the_key_is_shown_once_and_listed_by_prefix_only(
    as_role: Callable[[Role], TestClient],
) -> None:
    admin = as_role(Role.ADMIN)
    key = issue_key(admin, "viewer")
    later = admin.get("/users").text
    assert key not in later
    assert key[:11] + "…" in later
    listed = admin.get("/v1/api-keys").json()
    assert [k["prefix"] for k in listed] == [key[:11]]
    assert "key_hash" not in listed[0]


def test_a_revoked_key_stops_working(as_role: Callable[[Role], TestClient], client: TestClient) -> None:
    admin = as_role(Role.ADMIN)
    key = issue_key(admin, "analyst")
    key_id = admin.get(f"/v1/api-keys/{key[:11]}").json()["id"]
    token = csrf_of(admin.get("/users").text)
    admin.post(f"/users/api-keys/{key_id}/revoke", data={"csrf_token": token})
    client.cookies.clear()
    response = client.get("/v1/me", headers={"X-API-Key": key})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == f"API key {key[:11]} was revoked"


def test_a_made_up_key_is_refused(client: TestClient) -> None:
    response = client.get("/v1/me", headers={"X-API-Key": "gx_00000000_" + "a" * 43})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth_failed"


def test_an_admin_key_manages_users_and_every_change_is_audited(
    as_role: Callable[[Role], TestClient], client: TestClient
) -> None:
    key = issue_key(as_role(Role.ADMIN), "admin", name="provisioning")
    client.cookies.clear()
    headers = {"X-API-Key": key}
    created = client.post(
        "/v1/users",
        json={"username": "Wang.Wei", "password": "pass-word-123", "role": "sales", "display_name": "王伟"},
        headers=headers,
    )
    assert created.status_code == 201
    assert (created.json()["username"], created.json()["role"]) == ("wang.wei", "sales")
    changed = client.patch("/v1/users/wang.wei", json={"role": "marketer", "active": False}, headers=headers)
    assert (changed.json()["role"], changed.json()["active"]) == ("marketer", False)
    actions = [(e["actor"], e["action"]) for e in client.get("/v1/audit?limit=3", headers=headers).json()]
    prefix = key[:11]
    assert actions == [
        (f"api_key:{prefix}", "user.deactivate"),
        (f"api_key:{prefix}", "user.set_role"),
        (f"api_key:{prefix}", "user.create"),
    ]


def test_duplicate_user_through_the_api_is_an_error_in_the_one_shape(
    as_role: Callable[[Role], TestClient], client: TestClient
) -> None:
    key = issue_key(as_role(Role.ADMIN), "admin")
    client.cookies.clear()
    body = {"username": "admin", "password": "pass-word-123", "role": "viewer"}
    response = client.post("/v1/users", json=body, headers={"X-API-Key": key})
    assert response.status_code == 409
    assert response.json() == {
        "error": {"code": "already_exists", "message": "a user named 'admin' already exists"}
    }


def test_a_browser_session_may_read_v1_but_not_change_it(as_role: Callable[[Role], TestClient]) -> None:
    admin = as_role(Role.ADMIN)
    assert admin.get("/v1/users").status_code == 200
    response = admin.post("/v1/users", json={"username": "x1", "password": "pass-word-123", "role": "viewer"})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "changes through /v1 need an X-API-Key header"


def test_openapi_is_behind_auth_and_lists_the_api(
    client: TestClient, as_role: Callable[[Role], TestClient]
) -> None:
    assert client.get("/v1/openapi.json").status_code == 401
    viewer = as_role(Role.VIEWER)
    document = viewer.get("/v1/openapi.json").json()
    assert {"/v1/me", "/v1/overview", "/v1/imports", "/v1/users"} <= set(document["paths"])
    assert not any(path.startswith(("/users", "/login")) for path in document["paths"])
    reference = viewer.get("/v1/docs").text
    assert "/v1/imports/{batch_id}" in reference
    assert "Import a file" in reference
