"""The public pages behind the links in our messages: unsubscribe and double opt-in confirmation.

No sign-in and no menu: a customer opens them from a mail. The signed token in
the path (:mod:`guanxi.marketing.links`) is the only credential, so these routes
check no CSRF token and need no cookie:

* ``GET /u/{token}`` shows the masked address and a confirm button; it changes
  nothing (mail scanners open links).
* ``POST /u/{token}`` revokes consent — the button, and RFC 8058 one-click (a
  mail client's cross-site ``POST`` with body ``List-Unsubscribe=One-Click``,
  no cookie). Idempotent: a second POST answers the same page and adds nothing.
* ``GET /consent/confirm/{token}`` grants consent for the address of a double
  opt-in mail (idempotent too).

Each change records the request's IP and user agent as proof. A forged or
damaged token answers 400 with a "链接无效" page, an expired confirmation link
400 with "链接已过期"; nothing is changed then.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from itsdangerous import SignatureExpired

from guanxi.marketing import consent
from guanxi.marketing.links import UNSUBSCRIBE, LinkInvalidError, read_token
from guanxi.marketing.sms_rules import mask_phone
from guanxi.marketing.subscriptions import confirm_opt_in, unsubscribe
from guanxi.web.pages import render
from guanxi.web.state import DbSession, State

router = APIRouter()

ONE_CLICK = "One-Click"
"""The value of the ``List-Unsubscribe`` form field in an RFC 8058 one-click POST."""
USER_AGENT_MAX = 500


def request_proof(request: Request) -> dict[str, str | None]:
    """What a consent change records about the request: the client's IP and user agent (cut to 500 characters)."""
    agent = request.headers.get("user-agent", "")[:USER_AGENT_MAX]
    return {"ip": request.client.host if request.client else None, "user_agent": agent or None}


def mask_address(medium: str, address: str) -> str:
    """``address`` with most of it hidden, for a page anyone holding the link sees.

    ``chen.li@shop.cn`` → ``c***@shop.cn``; a phone keeps its first digits and last four.
    """
    if medium == "sms":
        return mask_phone(address)
    local, at, domain = address.partition("@")
    if at:
        return f"{local[:1]}***@{domain}"
    return f"{address[:2]}***"


def link_refused(request: Request, state: State, err: LinkInvalidError) -> Response:
    """The 400 page for a token that is forged, damaged or (a confirmation link) expired."""
    expired = isinstance(err.__cause__, SignatureExpired)
    return render(
        request,
        state,
        "link_invalid.html",
        {"expired": expired, "code": err.code},
        status_code=400,
    )


@router.get("/u/{token}")
def unsubscribe_page(request: Request, state: State, session: DbSession, token: str) -> Response:
    """The unsubscribe page of a link (public; the signed token is the credential); changes nothing."""
    try:
        target = read_token(state.settings, UNSUBSCRIBE, token)
    except LinkInvalidError as err:
        return link_refused(request, state, err)
    already = consent.state_of(session, target.medium, target.address) == consent.REVOKED
    return render(
        request,
        state,
        "unsubscribe.html",
        {
            "token": token,
            "medium": target.medium,
            "address": mask_address(target.medium, target.address),
            "already": already,
        },
    )


@router.post("/u/{token}")
def unsubscribe_now(
    request: Request,
    state: State,
    session: DbSession,
    token: str,
    list_unsubscribe: Annotated[str | None, Form(alias="List-Unsubscribe", max_length=32)] = None,
) -> Response:
    """Revoke consent for the link's address: the page's button or RFC 8058 one-click (public, no CSRF token:
    the signed token is the credential, and one-click is a cross-site POST by design). Idempotent."""
    one_click = list_unsubscribe == ONE_CLICK
    try:
        target = unsubscribe(
            session,
            state.settings,
            token,
            now=state.clock(),
            proof=request_proof(request),
            one_click=one_click,
        )
    except LinkInvalidError as err:
        return link_refused(request, state, err)
    session.commit()
    return render(
        request,
        state,
        "unsubscribed.html",
        {"one_click": one_click, "address": mask_address(target.medium, target.address)},
    )


@router.get("/consent/confirm/{token}")
def confirm_subscription(request: Request, state: State, session: DbSession, token: str) -> Response:
    """Grant consent for the address of a double opt-in link (public; valid 7 days). Idempotent."""
    try:
        target = confirm_opt_in(
            session, state.settings, token, now=state.clock(), proof=request_proof(request)
        )
    except LinkInvalidError as err:
        return link_refused(request, state, err)
    session.commit()
    return render(request, state, "confirm.html", {"address": mask_address(target.medium, target.address)})
