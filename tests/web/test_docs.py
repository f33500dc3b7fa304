"""Every page and API route a person can open is described in docs/web.md."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

DOC = Path(__file__).parents[2] / "docs" / "web.md"


def test_every_get_route_is_documented(app: FastAPI) -> None:
    text = DOC.read_text(encoding="utf-8")
    paths = {
        route.path
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and "GET" in (route.methods or set())
    }
    assert len(paths) > 15
    undocumented = sorted(
        p for p in paths if f"`{p}`" not in text and f"`{p} " not in text and f" {p}`" not in text
    )
    assert undocumented == []
