"""Every route is behind the one auth mechanism, and roles are enforced on each."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from guanxi.appdb.roles import Permission, Role
from guanxi.web.auth import current_principal

from .conftest import csrf_of

SIGN_IN_AND_HEALTH = {("GET", "/login"), ("POST", "/login"), ("GET", "/healthz")}
CUSTOMER_ROUTES = {
    # The unsubscribe page behind the link in every marketing mail: the HMAC-signed token in the path is
    # the credential (a customer has no account); GET only shows the masked address.
    ("GET", "/u/{token}"),
    # Its button and RFC 8058 one-click: a mail client's cross-site POST without cookie or CSRF token by design.
    ("POST", "/u/{token}"),
    # The double opt-in link in the confirmation mail (signed, valid 7 days).
    ("GET", "/consent/confirm/{token}"),
    # A shop's sign-up form: only starts double opt-in (pending + one confirmation mail per address a day),
    # throttled per IP and address (tests/web/test_subscriptions.py).
    ("POST", "/v1/consent/subscribe"),
}
PUBLIC = SIGN_IN_AND_HEALTH | CUSTOMER_ROUTES
"""The only routes anyone may call: signing in, the health check, the customer links (and /static files)."""


def inbound_token_routes() -> set[tuple[str, str]]:
    """Provider callbacks: ``?token=GUANXI_INBOUND_TOKEN`` instead of a principal, checked by a dependency.

    404 while the setting is unset (as in these tests), 401 with a wrong token
    (tests/web/test_feedback_callbacks.py).
    """
    from guanxi.web.api.feedback import router  # noqa: PLC0415

    return {(method, "/v1" + route.path) for route in router.routes for method in route.methods}  # type: ignore[attr-defined]


def write_key_routes() -> set[tuple[str, str]]:
    """The event intake (Segment's protocol): a write key instead of a principal, checked in the handler.

    Its POST routes refuse callers without a key with 401 (tested below and in tests/events);
    its OPTIONS routes are CORS preflights that store nothing.
    """
    from guanxi.events.api import router  # noqa: PLC0415

    return {(method, "/v1" + route.path) for route in router.routes for method in route.methods}  # type: ignore[attr-defined]


def calls(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from calls(sub)


def permission_of(dependant: Dependant) -> Permission | None:
    found = [getattr(call, "permission", None) for call in calls(dependant)]
    return next((p for p in found if p is not None), None)


def all_routes(app: FastAPI) -> list[object]:
    """Every route of the app, included routers walked through (with their prefixes applied)."""
    return list(iter_route_contexts(app.routes))


def api_routes(app: FastAPI) -> list[tuple[str, str, Dependant]]:
    """``(method, path, dependant)`` for every FastAPI route of the app."""
    return [
        (method, route.path, route.dependant)
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute)
        for method in route.methods
    ]


def concrete(path: str) -> str:
    """The path with every parameter filled by a value that exists in no table."""
    return re.sub(r"\{[^}]+\}", "999", path)


def test_every_route_except_sign_in_health_and_static_requires_a_principal(app: FastAPI) -> None:
    from guanxi.web.api.feedback import check_inbound_token  # noqa: PLC0415

    unprotected = [
        f"{method} {path}"
        for method, path, dependant in api_routes(app)
        if (method, path) not in PUBLIC | write_key_routes()
        and current_principal not in set(calls(dependant))
        and check_inbound_token not in set(calls(dependant))
    ]
    assert inbound_token_routes() <= {(method, path) for method, path, _ in api_routes(app)}
    routes = all_routes(app)
    others = [r for r in routes if not isinstance(r.original_route, APIRoute | Mount)]  # type: ignore[attr-defined]
    mounts = [r.path for r in routes if isinstance(r.original_route, Mount)]  # type: ignore[attr-defined]
    assert len(api_routes(app)) > 20
    assert unprotected == []
    assert others == []
    assert mounts == ["/static"]


def test_the_public_routes_exist(app: FastAPI) -> None:
    present = {(method, path) for method, path, _ in api_routes(app)}
    assert present >= PUBLIC


def test_anonymous_callers_get_401_json_on_every_protected_route(client: TestClient, app: FastAPI) -> None:
    intake = write_key_routes()
    for method, path, _ in api_routes(app):
        if (method, path) in PUBLIC | inbound_token_routes() or (
            method == "OPTIONS" and (method, path) in intake
        ):
            continue
        body = (
            {"userId": "u1", "messageId": "m1", "event": "e", "batch": []}
            if (method, path) in intake
            else None
        )
        response = client.request(method, concrete(path), headers={"Accept": "application/json"}, json=body)
        assert response.status_code == 401, f"{method} {path}"
        assert response.json()["error"]["code"] == "auth_failed"


def test_anonymous_browsers_are_sent_to_sign_in_with_their_destination(client: TestClient) -> None:
    response = client.get("/imports?page=2", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fimports%3Fpage%3D2"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MARKETER, Role.SALES])
def test_roles_without_import_or_manage_users_are_refused_on_those_routes(
    as_role: Callable[[Role], TestClient], app: FastAPI, role: Role
) -> None:
    client = as_role(role)
    token = csrf_of(client.get("/").text)
    guarded = [
        (method, path)
        for method, path, dependant in api_routes(app)
        if permission_of(dependant) in {Permission.IMPORT, Permission.MANAGE_USERS}
    ]
    assert {"/users", "/imports", "/v1/users", "/audit"} <= {path for _, path in guarded}
    for method, path in guarded:
        response = client.request(
            method,
            concrete(path),
            headers={"Accept": "application/json", "X-CSRF-Token": token},
        )
        if path.startswith("/v1") and method != "GET":
            assert response.status_code == 401, f"{method} {path}: cookie sessions may not change /v1"
            continue
        assert response.status_code == 403, f"{method} {path}"
        assert response.json()["error"]["code"] == "permission_denied"


def test_viewer_does_not_see_the_upload_form_or_the_users_menu(as_role: Callable[[Role], TestClient]) -> None:
    page = as_role(Role.VIEWER).get("/imports").text
    assert 'action="/imports"' not in page
    assert 'href="/users"' not in page


def test_analyst_may_import_but_not_manage_users(as_role: Callable[[Role], TestClient]) -> None:
    client = as_role(Role.ANALYST)
    assert 'action="/imports"' in client.get("/imports").text
    assert client.get("/users", headers={"Accept": "application/json"}).status_code == 403
