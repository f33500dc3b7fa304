"""State-changing forms need the session's CSRF token."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from guanxi.appdb.roles import Role

from .conftest import csrf_of

FORMS = [
    ("/users", {"username": "new.one", "password": "pass-word-123", "role": "viewer"}),
    ("/users/api-keys", {"name": "ERP", "role": "viewer"}),
    ("/preferences/locale", {"locale": "en"}),
    ("/logout", {}),
]


@pytest.mark.parametrize(("path", "data"), FORMS)
@pytest.mark.parametrize("token", [None, "forged-token"])
def test_forms_without_the_right_token_are_refused(
    as_role: Callable[[Role], TestClient], path: str, data: dict[str, str], token: str | None
) -> None:
    client = as_role(Role.ADMIN)
    sent = {**data, **({"csrf_token": token} if token else {})}
    response = client.post(path, data=sent, headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_the_token_in_the_page_is_accepted(as_role: Callable[[Role], TestClient]) -> None:
    client = as_role(Role.ADMIN)
    token = csrf_of(client.get("/users").text)
    response = client.post("/users/api-keys", data={"name": "ERP", "role": "viewer", "csrf_token": token})
    assert response.status_code == 200
