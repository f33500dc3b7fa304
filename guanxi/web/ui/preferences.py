"""The signed-in user's own preferences: the interface language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from guanxi.appdb.users import get_user, set_locale
from guanxi.web.auth import CurrentUser
from guanxi.web.csrf import CsrfChecked
from guanxi.web.state import DbSession
from guanxi.web.ui.session import local_target

router = APIRouter()


@router.post("/preferences/locale")
def choose_language(
    request: Request,
    principal: CurrentUser,
    _csrf: CsrfChecked,
    session: DbSession,
    locale: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Save the language for this user (and this session) and go back to the page."""
    user = get_user(session, principal.id) if principal.kind == "user" else None
    if user is not None:
        set_locale(session, user, locale)
        session.commit()
    request.session.pop("lang", None)
    if user is None:
        request.session["lang"] = locale
    return RedirectResponse(local_target(next), status_code=303)
