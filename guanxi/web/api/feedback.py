"""Provider callbacks: SMS delivery receipts and replies, mail bounces (``/v1/sms/…``, ``/v1/mail/bounces``).

Providers cannot send an API key, so each callback URL carries the shared
secret ``GUANXI_INBOUND_TOKEN`` as ``?token=…`` (compared in constant time,
never logged or echoed). While the setting is unset every callback answers 404,
as if it did not exist; a missing or wrong token answers 401 ``auth_failed``.

| route | body | answer |
|---|---|---|
| ``POST /v1/sms/aliyun/reports`` | Aliyun ``SmsReport`` push (JSON array) | Aliyun's ``{"code": 0, "msg": "接收成功"}`` |
| ``POST /v1/sms/aliyun/replies`` | Aliyun ``SmsUp`` push (JSON array) | the same |
| ``POST /v1/sms/replies`` | one reply (form or JSON object), or a JSON array of them | ``{"success": true, …counts}`` |
| ``POST /v1/mail/bounces`` | one raw RFC 822 message (a DSN, from an MTA pipe) | ``{"success": true, …counts}`` |

Guarantees: each request is applied in one transaction (one commit) through
:mod:`guanxi.marketing.feedback`, so a push delivered twice changes nothing
more. A malformed body answers 400 ``callback_malformed`` with the parser's
message and changes nothing; a body over :data:`BODY_MAX` bytes answers 400
``callback_too_large``. A mail that is no DSN (an auto-reply to the return
path) is accepted and ignored, so the MTA does not bounce it again.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from guanxi.errors import AuthError, GuanxiError, NotFoundError, ValidationFailedError
from guanxi.marketing.bounces import parse_dsn
from guanxi.marketing.channels.aliyun_sms import PUSH_ANSWER, parse_sms_report, parse_sms_up
from guanxi.marketing.feedback import FeedbackReport, apply_bounces, apply_sms_receipts, apply_sms_replies
from guanxi.marketing.sms_rules import parse_generic_inbound
from guanxi.web.state import DbSession, State

BODY_MAX = 2 * 1024 * 1024
"""Largest callback body accepted (a DSN may quote the whole returned message)."""
GENERIC_SOURCE = "sms_provider"
ALIYUN_SOURCE = "aliyun_sms"


class CallbackRejectedError(GuanxiError):
    """A provider's callback body that cannot be read (``callback_malformed``, ``callback_too_large``)."""

    code = "callback_malformed"
    http_status = 400


def check_inbound_token(request: Request, state: State) -> None:
    """Let a callback through only with ``?token=`` equal to ``GUANXI_INBOUND_TOKEN`` (constant time).

    Raises NotFoundError while the setting is unset, AuthError for a missing or wrong token.
    """
    secret = state.settings.inbound_token
    expected = secret.get_secret_value() if secret is not None else ""
    if not expected:
        raise NotFoundError(f"nothing at {request.url.path}")
    sent = request.query_params.get("token", "")
    if not hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8")):
        raise AuthError("the callback token is missing or wrong; use the URL with ?token= from the settings")


router = APIRouter(tags=["callbacks"], dependencies=[Depends(check_inbound_token)])


async def raw_body(request: Request) -> bytes:
    """The request body, refused past :data:`BODY_MAX` bytes as soon as it is exceeded."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > BODY_MAX:
        raise CallbackRejectedError(
            f"a callback may carry at most {BODY_MAX} bytes", code="callback_too_large"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > BODY_MAX:
            raise CallbackRejectedError(
                f"a callback may carry at most {BODY_MAX} bytes", code="callback_too_large"
            )
        chunks.append(chunk)
    return b"".join(chunks)


RawBody = Annotated[bytes, Depends(raw_body)]


async def generic_items(request: Request) -> list[Mapping[str, Any]]:
    """The replies of a generic provider's push: a form, a JSON object, or a JSON array of objects."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        return [dict(await request.form(max_files=0))]
    body = await raw_body(request)
    try:
        data: Any = json.loads(body)
    except ValueError as err:
        raise CallbackRejectedError(f"inbound SMS: the body is neither a form nor JSON ({err})") from None
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(item, dict) for item in items):
        raise CallbackRejectedError("inbound SMS: expected a JSON object or an array of objects")
    return items


def malformed(err: ValidationFailedError) -> CallbackRejectedError:
    return CallbackRejectedError(err.message)


def counts(report: FeedbackReport) -> dict[str, Any]:
    return {"success": True, **vars(report)}


@router.post("/sms/aliyun/reports")
def aliyun_reports(state: State, session: DbSession, body: RawBody) -> Response:
    """Aliyun ``SmsReport`` push: mark each message delivered or undelivered by its BizId (idempotent)."""
    try:
        receipts = parse_sms_report(body)  # Aliyun writes Beijing time
    except ValidationFailedError as err:
        raise malformed(err) from err
    apply_sms_receipts(session, receipts)
    session.commit()
    return JSONResponse(PUSH_ANSWER)


@router.post("/sms/aliyun/replies")
def aliyun_replies(state: State, session: DbSession, body: RawBody) -> Response:
    """Aliyun ``SmsUp`` push: an opt-out reply (``TD``, ``退订`` …) revokes the number's SMS consent (idempotent)."""
    try:
        replies = parse_sms_up(body)
    except ValidationFailedError as err:
        raise malformed(err) from err
    apply_sms_replies(session, replies, now=state.clock(), source=ALIYUN_SOURCE)
    session.commit()
    return JSONResponse(PUSH_ANSWER)


@router.post("/sms/replies")
def generic_replies(
    state: State, session: DbSession, items: Annotated[list[Mapping[str, Any]], Depends(generic_items)]
) -> Response:
    """Any provider's inbound SMS (``phone``/``mobile``/``from``, ``text``/``content``/``message``): opt-outs revoke."""
    now = state.clock()
    try:
        replies = [
            parse_generic_inbound(item, now=now, region=state.settings.default_region) for item in items
        ]
    except ValidationFailedError as err:
        raise malformed(err) from err
    report = apply_sms_replies(session, replies, now=now, source=GENERIC_SOURCE)
    session.commit()
    return JSONResponse(counts(report))


@router.post("/mail/bounces")
def mail_bounces(state: State, session: DbSession, body: RawBody) -> Response:
    """One raw mail to the return path (an MTA pipe): hard bounces suppress the address (idempotent)."""
    if not body.strip():
        raise CallbackRejectedError("the body is empty; post the raw message (RFC 822) the MTA received")
    bounces = [bounce for bounce in parse_dsn(body) if bounce.recipient]
    report = apply_bounces(session, bounces, now=state.clock())
    session.commit()
    return JSONResponse(counts(report))
