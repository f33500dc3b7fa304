"""Signing in and out: signed httponly cookie, fresh session, no open redirect, throttled guessing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi.testclient import TestClient

from guanxi.appdb import users
from guanxi.appdb.audit import recent
from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.roles import Role
from guanxi.config import Settings

from .conftest import PASSWORD, csrf_of, sign_in


def test_sign_in_sets_a_signed_httponly_samesite_cookie_and_goes_to_next(
    client: TestClient, add_user: Callable[..., None]
) -> None:
    add_user("li.na", Role.ANALYST)
    token = csrf_of(client.get("/login?next=/imports").text)
    response = client.post(
        "/login",
        data={"username": "li.na", "password": PASSWORD, "csrf_token": token, "next": "/imports"},
        follow_redirects=False,
    )
    assert (response.status_code, response.headers["location"]) == (303, "/imports")
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("guanxi_session=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "max-age=43200" in cookie
    assert PASSWORD not in response.headers["set-cookie"]
    assert client.get("/v1/me").json()["name"] == "li.na"


def test_sign_in_starts_a_new_session_with_a_new_csrf_token(
    client: TestClient, add_user: Callable[..., None]
) -> None:
    add_user("li.na", Role.ANALYST)
    before = csrf_of(client.get("/login").text)
    sign_in(client, "li.na")
    after = csrf_of(client.get("/").text)
    assert before != after


def test_wrong_password_shows_the_form_again_with_401_and_is_audited(
    client: TestClient, add_user: Callable[..., None], app_settings: Settings
) -> None:
    add_user("li.na", Role.ANALYST)
    response = sign_in(client, "li.na", "not-the-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert 'value="li.na"' in response.text
    engine = make_engine(app_settings)
    with session_factory(engine)() as session:
        assert recent(session, limit=1)[0].action == "user.sign_in_failed"
    engine.dispose()


def test_five_failures_lock_the_username_even_for_the_right_password(
    client: TestClient, add_user: Callable[..., None]
) -> None:
    add_user("li.na", Role.ANALYST)
    for _ in range(5):
        assert sign_in(client, "li.na", "guess-guess").status_code == 401
    locked = sign_in(client, "li.na")
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.text


def test_sign_in_without_the_csrf_token_is_refused(client: TestClient, add_user: Callable[..., None]) -> None:
    add_user("li.na", Role.ANALYST)
    client.get("/login")
    response = client.post("/login", data={"username": "li.na", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    assert "csrf_failed" in response.text


def test_next_pointing_off_site_goes_home_instead(client: TestClient, add_user: Callable[..., None]) -> None:
    add_user("li.na", Role.ANALYST)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        token = csrf_of(client.get("/login").text)
        response = client.post(
            "/login",
            data={"username": "li.na", "password": PASSWORD, "csrf_token": token, "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/"
        client.cookies.clear()


def test_sign_out_ends_the_session(as_role: Callable[[Role], TestClient]) -> None:
    client = as_role(Role.VIEWER)
    token = csrf_of(client.get("/").text)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert "您已退出登录" in client.get("/login").text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_deactivating_a_user_ends_their_open_session(
    as_role: Callable[[Role], TestClient], app_settings: Settings, now: datetime
) -> None:
    client = as_role(Role.ANALYST)
    assert client.get("/v1/me").status_code == 200
    engine = make_engine(app_settings)
    with session_factory(engine)() as session, session.begin():
        users.create_user(session, username="boss", password=PASSWORD, role=Role.ADMIN, actor="cli", now=now)
        users.deactivate(session, users.user_named(session, "analyst"), actor="cli", now=now)
    engine.dispose()
    response = client.get("/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "your session has ended; sign in again"


def test_a_tampered_cookie_is_not_a_session(as_role: Callable[[Role], TestClient]) -> None:
    client = as_role(Role.ADMIN)
    value = client.cookies["guanxi_session"]
    client.cookies.clear()
    client.cookies.set("guanxi_session", value[:-3] + ("abc" if not value.endswith("abc") else "xyz"))
    assert client.get("/v1/me").status_code == 401


def test_signed_in_user_visiting_login_sees_the_form(as_role: Callable[[Role], TestClient]) -> None:
    client = as_role(Role.VIEWER)
    assert client.get("/login").status_code == 200
