"""Signing in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from guanxi.appdb.users import authenticate
from guanxi.errors import AuthError, GuanxiError
from guanxi.web.auth import CurrentUser, sign_in, sign_out
from guanxi.web.csrf import CsrfChecked, new_token
from guanxi.web.errors import status_for
from guanxi.web.pages import flash, locale_of, render
from guanxi.web.state import DbSession, State

router = APIRouter()


def local_target(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, state: State, next: str | None = None) -> Response:
    """The sign-in form (public)."""
    return render(request, state, "login.html", {"next": local_target(next), "username": ""})


@router.post("/login")
def login(
    request: Request,
    state: State,
    session: DbSession,
    _csrf: CsrfChecked,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the credentials, start a fresh session, go where the user was headed (public)."""
    now = state.clock()
    try:
        state.throttle.check(username, now)
        user = authenticate(session, username, password, now=now)
    except GuanxiError as err:
        if isinstance(err, AuthError):
            state.throttle.failed(username, now)
        session.commit()
        key = "login.failed" if isinstance(err, AuthError) else "login.locked"
        return render(
            request,
            state,
            "login.html",
            {"next": local_target(next), "username": username, "error": key},
            status_code=status_for(err),
        )
    session.commit()
    state.throttle.succeeded(username)
    sign_in(request, user, new_token())
    return RedirectResponse(local_target(next), status_code=303)


@router.post("/logout")
def logout(request: Request, principal: CurrentUser, _csrf: CsrfChecked, state: State) -> Response:
    """End the session; the sign-in page that follows keeps the user's language."""
    language = locale_of(request, state)
    sign_out(request)
    request.session["lang"] = language
    flash(request, "info", "login.signed_out")
    return RedirectResponse("/login", status_code=303)
