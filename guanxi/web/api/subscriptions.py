"""``POST /v1/consent/subscribe``: a shop's sign-up form starts e-mail double opt-in (public).

The body is JSON ``{"email": …}`` or a form with an ``email`` field. The route
records ``pending`` consent and queues the confirmation mail
(:func:`guanxi.marketing.subscriptions.request_opt_in`); consent is granted
only when the link in that mail is opened. It answers ``202`` with the same
body whatever the address's state (granted, pending, suppressed), so it tells
a caller nothing about who is subscribed.

It cannot be used to mail-bomb: an address gets at most one confirmation mail
a day (the outbox idempotency key), and each client IP may call it
:data:`PER_IP` times per :data:`WINDOW`, each address :data:`PER_ADDRESS` times
(then ``429 rate_limited``). The counts are kept in memory per app process.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from guanxi.errors import RateLimitedError, ValidationFailedError
from guanxi.marketing import consent
from guanxi.marketing.subscriptions import request_opt_in
from guanxi.web.state import DbSession, State
from guanxi.web.throttle import SignInThrottle
from guanxi.web.ui.subscriptions import request_proof

router = APIRouter(tags=["consent"])

PER_IP = 5
PER_ADDRESS = 3
WINDOW = timedelta(hours=1)
BODY_MAX = 4096
ACCEPTED = {"success": True, "message": "如果地址有效，我们已发送确认邮件，请在 7 天内打开其中的链接。"}

_create = threading.Lock()


@dataclass
class SubscribeThrottle:
    """Attempts per client IP and per address within :data:`WINDOW` (a sliding window, per process)."""

    by_ip: SignInThrottle = field(default_factory=lambda: SignInThrottle(limit=PER_IP, window=WINDOW))
    by_address: SignInThrottle = field(
        default_factory=lambda: SignInThrottle(limit=PER_ADDRESS, window=WINDOW)
    )

    def count(self, counter: SignInThrottle, key: str, now: datetime) -> None:
        """Count one attempt under ``key``; RateLimitedError when the limit was reached within the window."""
        try:
            counter.check(key, now)
        except RateLimitedError as err:
            raise RateLimitedError("too many subscription requests; try again in an hour") from err
        counter.failed(key, now)


def subscribe_throttle(request: Request) -> SubscribeThrottle:
    """The app's :class:`SubscribeThrottle`, made on first use."""
    state = request.app.state
    with _create:
        found: SubscribeThrottle | None = getattr(state, "guanxi_subscribe_throttle", None)
        if found is None:
            found = SubscribeThrottle()
            state.guanxi_subscribe_throttle = found
    return found


async def email_of(request: Request) -> str:
    """The ``email`` of a JSON or form body; ValidationFailedError when there is none."""
    body = await request.body()
    if len(body) > BODY_MAX:
        raise ValidationFailedError(f"the body may carry at most {BODY_MAX} bytes")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: Any
    if kind == "application/json":
        try:
            data = json.loads(body or b"null")
        except ValueError as err:
            raise ValidationFailedError(f"the body is not JSON: {err}") from None
    else:
        data = dict(await request.form())
    value = data.get("email") if isinstance(data, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailedError('email: missing (send {"email": "…"} as JSON or a form field)')
    return value


def counted_ip(request: Request, state: State) -> str:
    """The client's IP, after counting this attempt against it (before the body is even read)."""
    ip = request.client.host if request.client else "unknown"
    throttle = subscribe_throttle(request)
    throttle.count(throttle.by_ip, ip, state.clock())
    return ip


@router.post("/consent/subscribe", status_code=202)
def subscribe(
    request: Request,
    state: State,
    session: DbSession,
    _ip: Annotated[str, Depends(counted_ip)],
    email: Annotated[str, Depends(email_of)],
) -> Response:
    """Start double opt-in for an e-mail address (public): ``202`` once the confirmation mail is queued.

    Raises ValidationFailedError (422) for a missing or malformed address, RateLimitedError (429) past the limits.
    """
    now = state.clock()
    address = consent.normalize_address("email", email, region=state.settings.default_region)
    throttle = subscribe_throttle(request)
    throttle.count(throttle.by_address, address, now)
    request_opt_in(session, state.settings, email=address, now=now, proof=request_proof(request))
    session.commit()
    return JSONResponse(ACCEPTED, status_code=202)
