"""CSRF protection for the HTML forms.

Each session holds one random token; every form carries it in a hidden
``csrf_token`` field and every state-changing UI route checks it through
:data:`CsrfChecked` (a constant-time comparison). Together with the
``SameSite=Lax`` session cookie this stops cross-site form posts.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request

from guanxi.errors import PermissionDeniedError

FIELD = "csrf_token"
HEADER = "x-csrf-token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    """This session's token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = new_token()
        request.session["csrf"] = token
    return token


async def verify_csrf(request: Request) -> None:
    """Raise :class:`PermissionDeniedError` (``csrf_failed``) unless the form or header carries the session's token."""
    expected = request.session.get("csrf")
    sent = request.headers.get(HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected, sent):
        raise PermissionDeniedError(
            "the form has expired or did not come from this site; reload the page and try again",
            code="csrf_failed",
        )


CsrfChecked = Annotated[None, Depends(verify_csrf)]
