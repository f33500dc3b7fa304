"""One JSON error shape for every error, with the HTTP status the error's class carries."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import guanxi
from guanxi.appdb.roles import Role
from guanxi.errors import GuanxiError, NotFoundError, PermissionDeniedError
from guanxi.web.errors import error_body, status_for


def every_error_class() -> list[type[GuanxiError]]:
    """Every GuanxiError subclass the package defines (each module imported once)."""
    for module in pkgutil.walk_packages(guanxi.__path__, "guanxi."):
        if ".migrations." not in module.name:
            importlib.import_module(module.name)
    found: list[type[GuanxiError]] = []
    pending: list[type[GuanxiError]] = [GuanxiError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted({c for c in found if c.__module__.startswith("guanxi.")}, key=lambda c: c.__qualname__)


EXPECTED_STATUS = {
    "config_invalid": 500,
    "segment_invalid": 422,
    "segment_in_use": 409,
    "segment_archived": 409,
    "not_found": 404,
    "auth_failed": 401,
    "permission_denied": 403,
    "warehouse_error": 500,
    "backend_unsupported": 501,
    "import_failed": 422,
    "file_unreadable": 422,
    "mapping_invalid": 422,
    "preset_unknown": 404,
    "validation_failed": 422,
    "already_exists": 409,
    "last_admin": 409,
    "rate_limited": 429,
    "points_insufficient": 409,
    "model_fit_failed": 422,
    "identity_key_ambiguous": 409,
    "customer_retired": 410,
    "template_invalid": 422,
}
"""The statuses callers rely on, by code (written out by hand, not read from the classes)."""


@pytest.fixture
def raising_client(app: FastAPI) -> TestClient:
    """The app plus one unauthenticated test route that raises the error class named in the path."""
    classes = {cls.__qualname__: cls for cls in every_error_class()}

    @app.get("/v1/test-raise/{name}")
    def raise_class(name: str) -> None:
        cls = classes[name]
        error = cls.__new__(cls)
        GuanxiError.__init__(error, f"message for {name}")
        raise error

    return TestClient(app)


def test_error_body_is_exactly_error_code_message() -> None:
    assert error_body("not_found", "no import batch 'x'") == {
        "error": {"code": "not_found", "message": "no import batch 'x'"}
    }


def test_each_code_callers_rely_on_has_its_status() -> None:
    by_code = {cls.code: cls.http_status for cls in every_error_class()}
    assert {code: by_code.get(code) for code in EXPECTED_STATUS} == EXPECTED_STATUS


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda cls: cls.__qualname__)
def test_every_error_class_gets_its_status_and_the_one_shape(
    raising_client: TestClient, cls: type[GuanxiError]
) -> None:
    with raising_client as client:
        response = client.get(f"/v1/test-raise/{cls.__qualname__}")
    assert response.status_code == cls.http_status
    assert response.json() == {"error": {"code": cls.code, "message": f"message for {cls.__qualname__}"}}


def test_a_plain_error_with_a_new_code_is_a_400(app: FastAPI) -> None:
    @app.get("/v1/test-raise-new")
    def raise_new() -> None:
        raise GuanxiError("message", code="something_new")

    with TestClient(app) as client:
        response = client.get("/v1/test-raise-new")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "something_new"


def test_a_specific_code_on_a_known_class_keeps_the_class_status() -> None:
    assert status_for(PermissionDeniedError("stale form", code="csrf_failed")) == 403
    assert status_for(NotFoundError("gone")) == 404


def test_unknown_api_path_and_bad_query_use_the_same_shape(
    client: TestClient, as_role: Callable[[Role], TestClient]
) -> None:
    assert client.get("/v1/nothing-here").json() == {
        "error": {"code": "not_found", "message": "nothing at /v1/nothing-here"}
    }
    signed = as_role(Role.VIEWER)
    response = signed.get("/v1/imports?page=0")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_failed"
    assert "page" in response.json()["error"]["message"]


def test_missing_batch_is_a_404_in_json_and_a_page_in_the_browser(
    as_role: Callable[[Role], TestClient],
) -> None:
    client = as_role(Role.VIEWER)
    api = client.get("/v1/imports/no-such-batch")
    assert api.status_code == 404
    assert api.json() == {"error": {"code": "not_found", "message": "no import batch 'no-such-batch'"}}
    page = client.get("/imports/no-such-batch")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert "找不到该页面或记录" in page.text
    assert "no import batch" in page.text


def test_unauthenticated_api_call_says_how_to_authenticate(client: TestClient) -> None:
    response = client.get("/v1/overview")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'APIKey header="X-API-Key"'
    assert response.json() == {
        "error": {
            "code": "auth_failed",
            "message": "sign in first, or send an API key in the X-API-Key header",
        }
    }
