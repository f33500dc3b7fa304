"""用户: an admin creates users, changes roles, deactivates — and every change is in the audit log."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from guanxi.appdb.roles import Role

from .conftest import csrf_of, sign_in


def post(client: TestClient, path: str, **data: str) -> object:
    token = csrf_of(client.get("/users").text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def user_id(client: TestClient, username: str) -> int:
    found = [u["id"] for u in client.get("/v1/users").json() if u["username"] == username]
    assert found, username
    return int(found[0])


def test_admin_creates_a_user_who_can_then_sign_in(
    as_role: Callable[[Role], TestClient], client: TestClient
) -> None:
    admin = as_role(Role.ADMIN)
    response = post(
        admin, "/users", username="wang.wei", display_name="王伟", password="wang-wei-pass", role="sales"
    )
    assert response.headers["location"] == "/users"  # type: ignore[attr-defined]
    page = admin.get("/users").text
    assert "已创建用户 wang.wei。" in page
    assert "王伟" in page
    client.cookies.clear()
    assert sign_in(client, "wang.wei", "wang-wei-pass").status_code == 303
    assert client.get("/v1/me").json()["role"] == "sales"


def test_invalid_new_user_keeps_the_form_and_explains(as_role: Callable[[Role], TestClient]) -> None:
    admin = as_role(Role.ADMIN)
    token = csrf_of(admin.get("/users").text)
    page = admin.post(
        "/users",
        data={
            "username": "wang.wei",
            "display_name": "王伟",
            "password": "short",
            "role": "sales",
            "csrf_token": token,
        },
    )
    assert page.status_code == 422
    assert "操作未完成（validation_failed）" in page.text
    assert 'value="王伟"' in page.text


def test_role_change_and_deactivation_are_audited_with_the_admin_as_actor(
    as_role: Callable[[Role], TestClient],
) -> None:
    admin = as_role(Role.ADMIN)
    post(admin, "/users", username="li.na", password="li-na-pass-1", role="viewer")
    target = user_id(admin, "li.na")
    post(admin, f"/users/{target}/role", role="analyst")
    post(admin, f"/users/{target}/deactivate")
    entries = admin.get("/v1/audit?limit=3").json()
    assert [(e["actor"], e["action"], e["target"]) for e in entries] == [
        ("user:admin", "user.deactivate", "user:li.na"),
        ("user:admin", "user.set_role", "user:li.na"),
        ("user:admin", "user.create", "user:li.na"),
    ]
    assert entries[1]["detail"] == {"from": "viewer", "to": "analyst"}
    audit_page = admin.get("/audit").text
    assert "修改角色" in audit_page
    assert "from=viewer, to=analyst" in audit_page
    post(admin, f"/users/{target}/reactivate")
    assert admin.get("/v1/audit?limit=1").json()[0]["action"] == "user.reactivate"


def test_the_last_admin_cannot_demote_themselves(as_role: Callable[[Role], TestClient]) -> None:
    admin = as_role(Role.ADMIN)
    post(admin, f"/users/{user_id(admin, 'admin')}/role", role="viewer")
    page = admin.get("/users").text
    assert "操作未完成（last_admin）" in page
    assert admin.get("/v1/me").json()["role"] == "admin"


def test_unknown_user_id_is_a_404(as_role: Callable[[Role], TestClient]) -> None:
    admin = as_role(Role.ADMIN)
    token = csrf_of(admin.get("/users").text)
    response = admin.post(
        "/users/404/deactivate", data={"csrf_token": token}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 404


def test_the_permission_matrix_is_shown(as_role: Callable[[Role], TestClient]) -> None:
    page = as_role(Role.ADMIN).get("/users").text
    assert "角色权限" in page
    assert page.count('class="yes"') == 4 + 3 + 2 + 2 + 1


def test_names_are_escaped_in_pages(as_role: Callable[[Role], TestClient]) -> None:
    admin = as_role(Role.ADMIN)
    post(
        admin,
        "/users",
        username="mallory",
        display_name="<script>alert(1)</script>",
        password="pass-word-123",
        role="viewer",
    )
    page = admin.get("/users").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
