"""One JSON error shape for every error, with the status from guanxi.errors.HTTP_STATUS."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from guanxi.appdb.roles import Role
from guanxi.errors import HTTP_STATUS, GuanxiError, NotFoundError, PermissionDeniedError
from guanxi.web.errors import error_body, status_for


@pytest.fixture
def raising_client(app: FastAPI) -> TestClient:
    """The app plus one unauthenticated test route that raises the error named in the path."""

    @app.get("/v1/test-raise/{code}")
    def raise_code(code: str) -> None:
        raise GuanxiError(f"message for {code}", code=code)

    return TestClient(app)


def test_error_body_is_exactly_error_code_message() -> None:
    assert error_body("not_found", "no import batch 'x'") == {
        "error": {"code": "not_found", "message": "no import batch 'x'"}
    }


@pytest.mark.parametrize("code", sorted(HTTP_STATUS))
def test_every_known_code_gets_its_status_and_the_one_shape(raising_client: TestClient, code: str) -> None:
    with raising_client as client:
        response = client.get(f"/v1/test-raise/{code}")
    assert response.status_code == HTTP_STATUS[code]
    assert response.json() == {"error": {"code": code, "message": f"message for {code}"}}


def test_an_unlisted_code_is_a_400(raising_client: TestClient) -> None:
    with raising_client as client:
        response = client.get("/v1/test-raise/something_new")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "something_new"


def test_a_specific_code_on_a_known_class_falls_back_to_the_class_status() -> None:
    assert status_for(PermissionDeniedError("stale form", code="csrf_failed")) == HTTP_STATUS.get(
        "csrf_failed", 403
    )
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
