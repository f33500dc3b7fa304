"""Every response carries the browser-hardening headers; health says only ok."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_pages_carry_csp_frame_and_sniffing_headers(client: TestClient) -> None:
    response = client.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp


def test_healthz_needs_no_sign_in_and_reveals_nothing_else(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_static_files_are_served_without_sign_in(client: TestClient) -> None:
    response = client.get("/static/guanxi.css")
    assert response.status_code == 200
    assert "--brand" in response.text


def test_no_page_loads_anything_from_another_host(client: TestClient) -> None:
    html = client.get("/login").text
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html
