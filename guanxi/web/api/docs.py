"""``/v1/openapi.json`` and ``/v1/docs``: the API's description, for signed-in users and API keys.

The reference page is rendered on the server from the OpenAPI document, so it
works without any script or network access.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from guanxi.web.auth import CanView
from guanxi.web.pages import render
from guanxi.web.state import State

router = APIRouter(include_in_schema=False)
METHODS = ("get", "post", "put", "patch", "delete")


def openapi_document(request: Request) -> dict[str, Any]:
    document: dict[str, Any] = request.app.openapi()
    return document


@router.get("/openapi.json")
def openapi(request: Request, principal: CanView) -> Response:
    return JSONResponse(openapi_document(request))


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Each operation of the document as a flat row: method, path, summary, parameters, tag."""
    rows = []
    for path, item in sorted(document.get("paths", {}).items()):
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            rows.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "tag": (operation.get("tags") or ["other"])[0],
                    "parameters": [
                        f"{p['name']} ({p.get('in')})" + ("" if not p.get("required") else " *")
                        for p in operation.get("parameters", [])
                    ],
                    "body": bool(operation.get("requestBody")),
                }
            )
    return rows


@router.get("/docs")
def reference(request: Request, principal: CanView, state: State) -> Response:
    document = openapi_document(request)
    return render(
        request,
        state,
        "api_docs.html",
        {"info": document.get("info", {}), "operations": operations(document)},
        section="api",
    )
