"""One place that turns errors into responses.

JSON callers (``/v1``, ``/healthz``, or ``Accept: application/json``) always get

    {"error": {"code": "<code>", "message": "<what to do>"}}

with the HTTP status the error's class carries
(:attr:`guanxi.errors.GuanxiError.http_status`; a more specific ``code=`` keeps
its class's status). Browsers get the same code and message as an HTML page in
their language, or a redirect to the sign-in page when they are not signed in.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from guanxi.errors import GuanxiError
from guanxi.web.pages import render

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "auth_failed",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    422: "validation_failed",
}


def error_body(code: str, message: str) -> dict[str, Any]:
    """The one JSON error shape."""
    return {"error": {"code": code, "message": message}}


def status_for(err: GuanxiError) -> int:
    """HTTP status of an error: the one its class carries."""
    return err.http_status


def wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/v1") or path == "/healthz":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(request: Request, status: int, code: str, message: str) -> Response:
    """The error as JSON or as an HTML page, whichever the caller reads."""
    if wants_json(request):
        headers = {"WWW-Authenticate": 'APIKey header="X-API-Key"'} if status == 401 else None
        return JSONResponse(error_body(code, message), status_code=status, headers=headers)
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    state = getattr(request.app.state, "guanxi", None)
    if state is None:
        return JSONResponse(error_body(code, message), status_code=status)
    return render(
        request,
        state,
        "error.html",
        {"status": status, "code": code, "message": message},
        status_code=status,
    )


async def on_guanxi_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GuanxiError)
    return error_response(request, status_for(exc), exc.code, exc.message)


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for problem in exc.errors():
        where = ".".join(
            str(part) for part in problem.get("loc", ()) if part not in {"body", "query", "path"}
        )
        problems.append(f"{where}: {problem.get('msg', 'invalid')}" if where else str(problem.get("msg")))
    return error_response(request, 422, "validation_failed", "; ".join(problems) or "invalid request")


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404:
        message = f"nothing at {request.url.path}"
    return error_response(request, exc.status_code, code, message)


async def on_unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        error_body("internal_error", "something went wrong on the server; the error is in the server log"),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GuanxiError, on_guanxi_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected_error)
